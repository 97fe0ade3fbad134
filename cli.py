"""The `minegraph` command: seed the database, serve, export the schema, administer accounts."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import typer

from settings import get_settings

cli = typer.Typer(help="minegraph: the non-coal underground mine registry service.", no_args_is_help=True)


@cli.command()
def seed(
    demo: bool = typer.Option(False, "--demo", help="Load the deterministic synthetic national dataset."),
    mines: int = typer.Option(6000, "--mines", min=1, max=1_000_000, help="Number of demo mines."),
    seed: int = typer.Option(2022, "--seed", help="Random seed of the demo dataset."),
) -> None:
    """Create the tables and load the demo dataset (idempotent)."""
    from models.db import make_engine
    from seed.demo import DatasetMismatch, seed_demo

    if not demo:
        raise typer.BadParameter("only --demo datasets can be seeded so far", param_hint="--demo")
    settings = get_settings()

    async def run():
        engine = make_engine(settings.database_url)
        try:
            return await seed_demo(engine, mines=mines, seed=seed, password=settings.demo_password)
        finally:
            await engine.dispose()

    try:
        report = asyncio.run(run())
    except DatasetMismatch as error:
        typer.secho(str(error), fg="red", err=True)
        raise typer.Exit(2) from None
    typer.echo(report.summary() if hasattr(report, "summary") else str(report))


@cli.command()
def serve(
    host: str = typer.Option(None, help="Bind address (default HOST or 127.0.0.1)."),
    port: int = typer.Option(None, help="Port (default PORT or 8000)."),
    workers: int = typer.Option(1, help="Worker processes."),
) -> None:
    """Serve GraphQL at /graphql (GraphiQL there too, outside production)."""
    import uvicorn

    settings = get_settings()
    logging.basicConfig(level=settings.log_level)
    uvicorn.run(
        "app:create_app", factory=True, host=host or settings.host, port=port or settings.port,
        workers=workers, log_level=settings.log_level.lower(),
    )


@cli.command()
def operations(as_json: bool = typer.Option(False, "--json", help="A manifest {name: sha256} for clients.")) -> None:
    """The persisted operations (schema/operations/) and the sha256 clients send for each."""
    import json

    from schema.persisted import registry

    found = sorted(registry().values(), key=lambda op: op.name)
    if as_json:
        typer.echo(json.dumps({op.name: op.sha256 for op in found}, indent=2))
    else:
        for op in found:
            typer.echo(f"{op.sha256}  {op.name}")


@cli.command("export-schema")
def export_schema(path: Path = typer.Argument(Path("schema.graphql"))) -> None:
    """Write the GraphQL schema (SDL) that clients rely on."""
    from schema import schema

    path.write_text(schema.as_str() + "\n", encoding="utf-8")
    typer.echo(f"wrote {path}")


# --------------------------------------------------------------------------- accounts

accounts = typer.Typer(help="Regulator accounts: list, create a region's numbered accounts, reset a password.",
                       no_args_is_help=True)
cli.add_typer(accounts, name="accounts")


def _run_admin(job):
    """Run `job(engine)` on the configured database; domain errors end the command with exit code 2."""
    from models.db import make_engine
    from models.errors import MinegraphError

    async def run():
        engine = make_engine(get_settings().database_url)
        try:
            return await job(engine)
        finally:
            await engine.dispose()

    try:
        return asyncio.run(run())
    except MinegraphError as error:
        typer.secho(error.message, fg="red", err=True)
        raise typer.Exit(2) from None


@accounts.command("list")
def accounts_list(
    region: str = typer.Argument(..., help="6-digit region code, e.g. 530102."),
    with_mines: bool = typer.Option(False, "--with-mines", help="Also list the accounts of the mines in the region."),
) -> None:
    """List a region's numbered accounts (and, with --with-mines, its mines' accounts)."""
    from auth.accounts import list_accounts

    rows = _run_admin(lambda engine: list_accounts(engine, region, with_mines=with_mines))
    for r in rows:
        role = r.guarantor_level or "-"
        mine = f"{r.mine_code} {r.mine_name}" if r.mine_code else ""
        typer.echo(f"{r.username:<14} {r.tier:<10} {role:<10} {'wechat' if r.wechat_bound else '-':<6} "
                   f"{r.name or '-'}  {mine}".rstrip())
    typer.echo(f"{len(rows)} accounts", err=True)


@accounts.command("create")
def accounts_create(
    region: str = typer.Argument(..., help="6-digit region code, e.g. 530102."),
    csv: Path = typer.Option(..., "--csv", help="New file for the initial passwords (never overwritten; mode 0600)."),
) -> None:
    """Create the region's missing numbered accounts, each with a random initial password."""
    from auth.accounts import create_region_accounts

    created = _run_admin(lambda engine: create_region_accounts(engine, region, csv))
    if created:
        typer.echo(f"created {created} accounts; their initial passwords are in {csv} (readable by you only): "
                   "hand them over, then destroy the file")
    else:
        typer.echo(f"{region} already has all its numbered accounts; nothing created, no file written")


@accounts.command("reset-password")
def accounts_reset_password(
    username: str = typer.Argument(...),
    password: str = typer.Option(None, "--password",
                                 help="The new password (default: a random one). It lands in your shell history."),
) -> None:
    """Set a new password, end all the account's sessions and unbind its WeChat; prints the password once."""
    from auth.accounts import reset_password

    new_password = _run_admin(lambda engine: reset_password(engine, username, password))
    typer.echo(f"new password for {username}: {new_password}")
    typer.echo("every session of the account has ended and its WeChat is unbound", err=True)


if __name__ == "__main__":
    cli()
