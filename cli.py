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
        report = _on_database(job)
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

    Start it as `minegraph serve`, `python cli.py serve` or `python -m cli serve`: all measure
    the same since app.py settles the garbage collector at start-up. Before that, the start
    mode alone made a national drill-down take 2x as long in one mode or the other (with
    CPython's default thresholds, the collector's work per request depended on the heap).
    """
    import serving

    settings = get_settings()
    logging.basicConfig(level=settings.log_level)
    serving.run(
        "app:create_app", factory=True, host=host or settings.host, port=port or settings.port,
        workers=workers, log_level=settings.log_level.lower(),
        timeout_keep_alive=settings.keep_alive_s,
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
    from models.backup import BackupError
    from models.backup import backup as take_backup

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
    from models.backup import BackupError
    from models.backup import restore as restore_backup

    try:
        summary = restore_backup(get_settings().database_url, path, force=force)
    except BackupError as error:
        typer.secho(str(error), fg="red", err=True)
        raise typer.Exit(2) from None
    typer.echo(summary.line())


# --------------------------------------------------------------------------- accounts

accounts = typer.Typer(help="Regulator accounts: list, create a region's numbered accounts, reset a password.",
                       no_args_is_help=True)
cli.add_typer(accounts, name="accounts")


def _on_database(job):
    """Run `job(engine)` on the configured database, with the service's durability and busy
    timeout; a database that is down or locked past that timeout ends the command with exit
    code 3 and the reason (a retry may succeed), not a traceback."""
    from models.db import UNAVAILABLE_MESSAGE, database_unavailable, make_engine_for

    async def run():
        engine = make_engine_for(get_settings())
        try:
            return await job(engine)
        finally:
            await engine.dispose()

    try:
        return asyncio.run(run())
    except Exception as error:
        if not database_unavailable(error):
            raise
        typer.secho(f"{UNAVAILABLE_MESSAGE} ({getattr(error, 'orig', None) or error})", fg="red", err=True)
        raise typer.Exit(3) from None


def _run_admin(job):
    """`_on_database(job)`; domain errors end the command with exit code 2."""
    from models.errors import MinegraphError

    try:
        return _on_database(job)
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


# --------------------------------------------------------------------------- audit

audit = typer.Typer(help="The audit trail: query it, purge what is past retention, see and lift login lockouts.",
                    no_args_is_help=True)
cli.add_typer(audit, name="audit")


@audit.command("list")
def audit_list(
    username: list[str] = typer.Option(None, "--username", "-u", help="Only these usernames (repeatable)."),
    action: list[str] = typer.Option(None, "--action", "-a",
                                     help="Only these actions (repeatable); a trailing * matches a prefix, "
                                          "e.g. 'account.*'."),
    mine: str = typer.Option(None, "--mine", help="Only records of this mine (its id or its code)."),
    client: str = typer.Option(None, "--client", help="Only records from this client address."),
    since: str = typer.Option(None, "--since", help="From this time on: 2026-05-01, 2026-05-01T08:30 (TIMEZONE "
                                                   "unless an offset is given), or 7d / 12h / 30m ago."),
    until: str = typer.Option(None, "--until", help="Before this time (a date alone: up to the end of that day)."),
    limit: int = typer.Option(100, "--limit", "-n", help="At most this many records (newest first)."),
    oldest_first: bool = typer.Option(False, "--oldest-first", help="Oldest first (still the newest --limit)."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object per line instead of a table."),
    show_phones: bool = typer.Option(False, "--show-phones", help="Show phone numbers in full (masked by default)."),
) -> None:
    """Query audit records: logins, failures, lockouts, refusals, password and mine changes."""
    from zoneinfo import ZoneInfo

    from auth.audit import utcnow
    from auth.audit_query import HEADER, AuditFilter, as_json_line, as_table_line, parse_moment, query
    from models.errors import MinegraphError

    zone, now = ZoneInfo(get_settings().timezone), utcnow()
    try:
        where = AuditFilter(
            usernames=username or None, actions=action or None, mine=mine, client=client, limit=limit,
            since=parse_moment(since, zone, end=False, now=now) if since else None,
            until=parse_moment(until, zone, end=True, now=now) if until else None,
        )
    except MinegraphError as error:
        typer.secho(error.message, fg="red", err=True)
        raise typer.Exit(2) from None
    entries = _run_admin(lambda engine: query(engine, where))
    if oldest_first:
        entries.reverse()
    if as_json:
        for entry in entries:
            typer.echo(as_json_line(entry, zone, show_phones=show_phones))
    else:
        typer.echo(HEADER)
        for entry in entries:
            typer.echo(as_table_line(entry, zone, show_phones=show_phones))
    more = " (the newest; raise --limit for more)" if len(entries) == limit else ""
    typer.echo(f"{len(entries)} records{more}", err=True)


@audit.command("purge")
def audit_purge(
    dry_run: bool = typer.Option(False, "--dry-run", help="Only count what would be deleted."),
) -> None:
    """Delete audit records older than AUDIT_RETENTION_DAYS (365 by default, at least 180)."""
    import getpass

    from auth.retention import purge

    settings = get_settings()
    report = _run_admin(lambda engine: purge(engine, settings, dry_run=dry_run, operator=f"cli:{getpass.getuser()}"))
    before = report.cutoff.isoformat(timespec="seconds")
    if report.dry_run:
        typer.echo(f"{report.audit_rows} audit records are older than {before} "
                   f"({settings.audit_retention_days} days); nothing deleted (--dry-run)")
    else:
        typer.echo(f"deleted {report.audit_rows} audit records older than {before} "
                   f"({settings.audit_retention_days} days) and {report.counters} stale login counters")


@audit.command("lockouts")
def audit_lockouts() -> None:
    """Login lockouts in force now: username, address (* = every address), until when."""
    from zoneinfo import ZoneInfo

    from auth.audit import utcnow
    from auth.lockout import active_locks

    zone = ZoneInfo(get_settings().timezone)
    locks = _run_admin(lambda engine: active_locks(engine, utcnow()))
    for lock in locks:
        until = lock.locked_until.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S")
        typer.echo(f"{lock.username:<14} {lock.client:<24} until {until}  (lock #{lock.lockouts} in a row)")
    typer.echo(f"{len(locks)} lockouts in force", err=True)


@audit.command("unlock")
def audit_unlock(username: str = typer.Argument(..., help="The username as typed at login.")) -> None:
    """Lift the username's login lockouts and reset its failure counters (audited)."""
    import getpass

    from auth.lockout import unlock

    reset = _run_admin(lambda engine: unlock(engine, username, operator=f"cli:{getpass.getuser()}"))
    typer.echo(f"{username}: {reset} failure counters reset; no lockout holds any more")


if __name__ == "__main__":
    cli(prog_name="minegraph")
