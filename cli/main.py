"""The `minegraph` command: seed the database, serve, export the schema, back up and restore.

The `accounts` and `audit` sub-commands live in cli/admin.py, `import` in cli/imports.py; all are registered here.
"""

from __future__ import annotations

import logging
from pathlib import Path

import typer

from auth import log_redaction
from cli.admin import accounts, audit, on_database
from cli.imports import import_file
from settings import get_settings

cli = typer.Typer(help="minegraph: the non-coal underground mine registry service.", no_args_is_help=True)


@cli.command()
def seed(
    demo: bool = typer.Option(False, "--demo", help="Load the deterministic synthetic national dataset."),
    mines: int = typer.Option(6000, "--mines", min=1, max=1_000_000, help="Number of demo mines."),
    seed: int = typer.Option(2022, "--seed", help="Random seed of the demo dataset."),
    if_empty: bool = typer.Option(False, "--if-empty", help="Seed only a database without mines or accounts; "
                                                            "otherwise say what it holds and leave it alone."),
) -> None:
    """Create the tables and load the demo dataset (idempotent)."""
    from seed.demo import DatasetMismatch, held, seed_demo

    if not demo:
        raise typer.BadParameter("only --demo datasets can be seeded so far", param_hint="--demo")
    password = get_settings().demo_password

    async def job(engine):
        if if_empty:  # `make run`: serve whatever dataset is there, whichever --mines seeded it
            n_mines, n_accounts = await held(engine)
            if n_mines or n_accounts:
                return f"the database already holds {n_mines} mines and {n_accounts} accounts: not seeded (--if-empty)"
        return await seed_demo(engine, mines=mines, seed=seed, password=password)

    try:
        report = on_database(job)
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
    """Serve GraphQL at /graphql (GraphiQL there too, outside production).

    Start it as `minegraph serve` or `python -m cli serve` (once also as a script): all measure
    the same since web/app.py settles the garbage collector at start-up. Before that, the start
    mode alone made a national drill-down take 2x as long in one mode or the other (with
    CPython's default thresholds, the collector's work per request depended on the heap).
    """
    from web import serving

    settings = get_settings()
    logging.basicConfig(level=settings.log_level)
    serving.run(
        "web.app:create_app", factory=True, host=host or settings.host, port=port or settings.port,
        workers=workers, log_level=settings.log_level.lower(),
        timeout_keep_alive=settings.keep_alive_s,
    )


@cli.command()
def operations(as_json: bool = typer.Option(False, "--json", help="A manifest {name: sha256} for clients.")) -> None:
    """The persisted operations (schema/operations/) and the sha256 clients send for each."""
    import json

    from execution.documents import registry

    found = sorted(registry().values(), key=lambda op: op.name)
    if as_json:
        typer.echo(json.dumps({op.name: op.sha256 for op in found}, indent=2))
    else:
        for op in found:
            typer.echo(f"{op.sha256}  {op.name}")


@cli.command("export-schema")
def export_schema(path: Path = typer.Argument(Path("schema.graphql"))) -> None:
    """Write the GraphQL schema (SDL) that clients rely on."""
    from schema.build import build_schema
    from settings import Settings

    path.write_text(build_schema(Settings()).as_str() + "\n", encoding="utf-8")
    typer.echo(f"wrote {path}")


# --------------------------------------------------------------------------- backup and restore


BACKUP_HELP = (
    "Copy DATABASE_URL's database to PATH while the service keeps serving.\n\n"
    "The copy is one consistent snapshot (SQLite: the online backup API, then checked with integrity_check and "
    "foreign_key_check; PostgreSQL: pg_dump --format=custom, which needs the PostgreSQL client programs on the "
    "PATH). It is written to a temporary file and renamed into place once complete."
)
RESTORE_HELP = (
    "Replace DATABASE_URL's database with the backup at PATH. Stop the service first.\n\n"
    "SQLite: the backup is checked, copied to a temporary file beside the database and renamed into place; an "
    "existing database is replaced only with --force, and never while another process has it open. PostgreSQL: "
    "pg_restore into an empty database (create it first; --force drops and replaces the objects there), in one "
    "transaction. Sessions issued after the backup was taken are gone with the rest of the newer data."
)


@cli.command(help=BACKUP_HELP)
def backup(
    path: Path = typer.Argument(..., help="The backup file to write (SQLite: a database file; PostgreSQL: a "
                                          "pg_dump custom-format archive)."),
    force: bool = typer.Option(False, "--force", help="Overwrite PATH if it exists."),
) -> None:
    from admin.backup import BackupError
    from admin.backup import backup as take_backup

    try:
        summary = take_backup(get_settings().database_url, path, force=force)
    except BackupError as error:
        typer.secho(str(error), fg="red", err=True)
        raise typer.Exit(2) from None
    typer.echo(summary.line())


@cli.command(help=RESTORE_HELP)
def restore(
    path: Path = typer.Argument(..., help="A file written by `minegraph backup`."),
    force: bool = typer.Option(False, "--force", help="Replace the database that is there (SQLite: the file; "
                                                      "PostgreSQL: the database's objects)."),
) -> None:
    from admin.backup import BackupError
    from admin.backup import restore as restore_backup

    try:
        summary = restore_backup(get_settings().database_url, path, force=force)
    except BackupError as error:
        typer.secho(str(error), fg="red", err=True)
        raise typer.Exit(2) from None
    typer.echo(summary.line())


# Registered after the commands above, so `minegraph --help` lists them in the same order as before.
cli.command("import")(import_file)
cli.add_typer(accounts, name="accounts")
cli.add_typer(audit, name="audit")


def main() -> None:
    """The entry point: phones are masked in every log record a command writes, then it runs."""
    log_redaction.install()
    cli(prog_name="minegraph")


if __name__ == "__main__":
    main()
