"""`minegraph import`: a spreadsheet into the registry, as one of its -001 accounts.

The same code path as GraphQL `importMines` and `POST /import` (resolvers/imports.py). Exit codes:
0 every row accepted (and applied with --apply), 1 rows rejected (nothing applied), 2 the file or
the account refused, 3 the database unavailable.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import typer

from cli.admin import _run_admin
from settings import get_settings


@dataclass
class OperatorContext:
    """What an import needs of a request, for a command-line run as `user`."""

    engine: Any
    trees: Any
    settings: Any
    user: Any
    request_id: str = field(default_factory=lambda: "cli-import")

    @property
    def scope(self):
        return self.user.scope


def import_file(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="XLSX or CSV (UTF-8 or GBK) in the template."),
    username: str = typer.Option(..., "--as", help="The -001 account the import acts as, e.g. 530102-001."),
    apply: bool = typer.Option(False, "--apply", help="Write the changes (all or nothing); default: a dry run."),
    passwords: Path = typer.Option(None, "--passwords", help="New file for the initial passwords of created mines' "
                                                               "accounts (mode 0600); required with --apply."),
) -> None:
    """Import mines from a spreadsheet: prints the report; a dry run unless --apply."""
    from admin.password_sheet import PasswordSheet
    from models.errors import BadUserInput

    sheet = None
    if apply:
        if passwords is None:
            raise typer.BadParameter("--apply needs --passwords FILE for new mines' accounts", param_hint="--passwords")
        sheet = PasswordSheet(passwords)
        try:
            sheet.check_free()
        except BadUserInput as error:
            typer.secho(error.message, fg="red", err=True)
            raise typer.Exit(2) from None
    outcome = _run_admin(lambda engine: _run(engine, file, username, apply, sheet))
    if sheet is not None:
        if outcome.passwords:
            sheet.publish()
        else:
            sheet.discard()
    for row in outcome.rows:
        typer.echo(json.dumps(row, ensure_ascii=False))
    typer.echo(f"{'applied' if outcome.applied else 'dry run'}: created {outcome.created}, changed {outcome.changed}, "
               f"unchanged {outcome.unchanged}, rejected {outcome.rejected} (import {outcome.id})", err=True)
    if outcome.passwords and sheet is not None:
        typer.echo(f"initial passwords of the new accounts are in {passwords}: hand them over, then destroy the file",
                   err=True)
    if outcome.rejected:
        raise typer.Exit(1)


async def _run(engine, file: Path, username: str, apply: bool, sheet):
    from sqlalchemy import select

    from auth.sessions import CurrentUser
    from models.account import Account
    from models.errors import NotFound
    from models.trees import load_trees
    from resolvers.imports import run_import

    async with engine.connect() as conn:
        row = (await conn.execute(select(Account).where(Account.username == username))).first()
    if row is None:
        raise NotFound(f"没有账号 {username} / no account {username}")
    ctx = OperatorContext(engine, await load_trees(engine), get_settings(), CurrentUser.from_row(row))
    keep = None if sheet is None else sheet.write_pending
    try:
        return await run_import(ctx, file.read_bytes(), file.name, apply, keep_passwords=keep)
    except BaseException:
        if sheet is not None:
            sheet.discard()
        raise
