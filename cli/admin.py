"""The `minegraph accounts` and `minegraph audit` sub-commands, and running a command's job on
the configured database (exit code 3 when it is unavailable, 2 on a domain error).

cli/main.py registers the two sub-apps; this module never imports it, so imports keep pointing
one way (models ← auth ← resolvers ← schema ← app/cli).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import typer

from settings import get_settings


def on_database(job):
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
    """`on_database(job)`; domain errors end the command with exit code 2."""
    from models.errors import MinegraphError

    try:
        return on_database(job)
    except MinegraphError as error:
        typer.secho(error.message, fg="red", err=True)
        raise typer.Exit(2) from None


# --------------------------------------------------------------------------- accounts

accounts = typer.Typer(help="Regulator accounts: list, create a region's numbered accounts, reset a password.",
                       no_args_is_help=True)


@accounts.command("list")
def accounts_list(
    region: str = typer.Argument(..., help="6-digit region code, e.g. 530102."),
    with_mines: bool = typer.Option(False, "--with-mines", help="Also list the accounts of the mines in the region."),
) -> None:
    """List a region's numbered accounts (and, with --with-mines, its mines' accounts)."""
    from admin.accounts import list_accounts

    rows = _run_admin(lambda engine: list_accounts(engine, region, with_mines=with_mines))

    def line(username: str, tier: str, role: str, wechat: str, name: str, mine: str) -> str:
        return f"{username:<14} {tier:<10} {role:<10} {wechat:<6} {name}  {mine}".rstrip()

    # A header, so whoever reads the table knows the third column is the guarantor role, etc.
    typer.echo(line("USERNAME", "TIER", "GUARANTOR", "WECHAT", "NAME", "MINE"))
    for r in rows:
        mine = f"{r.mine_code} {r.mine_name}" if r.mine_code else ""
        typer.echo(line(r.username, r.tier, r.guarantor_level or "-", "wechat" if r.wechat_bound else "-",
                        r.name or "-", mine))
    typer.echo(f"{len(rows)} accounts", err=True)


@accounts.command("create")
def accounts_create(
    region: str = typer.Argument(..., help="6-digit region code, e.g. 530102."),
    csv: Path = typer.Option(..., "--csv", help="New file for the initial passwords (never overwritten; mode 0600)."),
) -> None:
    """Create the region's missing numbered accounts, each with a random initial password."""
    from admin.accounts import create_region_accounts

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
    from admin.accounts import reset_password

    new_password = _run_admin(lambda engine: reset_password(engine, username, password))
    typer.echo(f"new password for {username}: {new_password}")
    typer.echo("every session of the account has ended and its WeChat is unbound", err=True)


# --------------------------------------------------------------------------- audit

audit = typer.Typer(help="The audit trail: query it, purge what is past retention, see and lift login lockouts.",
                    no_args_is_help=True)


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

    from admin.audit_query import HEADER, AuditFilter, as_json_line, as_table_line, parse_moment, query
    from models.errors import MinegraphError

    zone, now = ZoneInfo(get_settings().timezone), datetime.now(UTC)
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

    from admin.retention import purge

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

    from auth.lockout import active_locks

    zone = ZoneInfo(get_settings().timezone)
    locks = _run_admin(lambda engine: active_locks(engine, datetime.now(UTC)))
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
