"""The `minegraph` command: seed the database, serve, export the schema."""

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


@cli.command("export-schema")
def export_schema(path: Path = typer.Argument(Path("schema.graphql"))) -> None:
    """Write the GraphQL schema (SDL) that clients rely on."""
    from schema import schema

    path.write_text(schema.as_str() + "\n", encoding="utf-8")
    typer.echo(f"wrote {path}")


if __name__ == "__main__":
    cli()
