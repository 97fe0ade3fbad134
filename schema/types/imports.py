"""ImportReport: what a spreadsheet import did (or, in a dry run, would do), row by row."""

from __future__ import annotations

import json
from datetime import datetime
from functools import cached_property
from typing import Any

import strawberry
from strawberry.types import Info

from models import enums
from schema.enums import ImportAction
from schema.types.change_request import FieldChangeType
from schema.types.common import local_time


@strawberry.type(name="RowError")
class RowErrorType:
    column: str | None = strawberry.field(description="The header label as written in the file; null: the row.")
    value: str | None
    message: str = strawberry.field(description="Chinese first, then English.")
    code: str = strawberry.field(description="NOT_FOUND, CONFLICT, FORBIDDEN or BAD_USER_INPUT.")


@strawberry.type(name="ImportRow")
class ImportRowType:
    row_number: int = strawberry.field(description="The spreadsheet's own row number (title rows counted).")
    code: str | None = strawberry.field(description="The mine's code; for a created mine, the code it was given.")
    action: ImportAction
    changes: list[FieldChangeType]
    errors: list[RowErrorType]
    warnings: list[str]
    initial_password: str | None = strawberry.field(
        default=None, description="A created mine's enterprise account (username = its code): its one-time "
                                  "password, in the answer of the import that applied it only (never stored).")

    @classmethod
    def of(cls, row: dict[str, Any], password: str | None = None) -> ImportRowType:
        return cls(
            row_number=row["rowNumber"], code=row["code"], action=enums.ImportAction(row["action"]),
            changes=[FieldChangeType(field=c["field"], old=c["old"], new=c["new"]) for c in row["changes"]],
            errors=[RowErrorType(**e) for e in row["errors"]], warnings=row["warnings"],
            initial_password=password,
        )


@strawberry.type(name="ImportReport")
class ImportReportType:
    id: strawberry.ID
    applied: bool = strawberry.field(description="false: a dry run, or a file with rejected rows (nothing applied).")
    created: int
    changed: int
    unchanged: int
    rejected: int
    file_name: str | None
    username: str = strawberry.field(description="Who imported.")
    at: datetime
    report: strawberry.Private[str | list]
    passwords: strawberry.Private[dict]

    @classmethod
    def of(cls, info: Info, record, rows: list | None = None, passwords: dict | None = None) -> ImportReportType:
        return cls(
            id=strawberry.ID(str(record.id)), applied=record.applied, created=record.created,
            changed=record.changed, unchanged=record.unchanged, rejected=record.rejected,
            file_name=record.file_name, username=record.username, at=local_time(info.context, record.at),
            report=rows if rows is not None else record.report, passwords=passwords or {},
        )

    @cached_property
    def _rows(self) -> list[dict[str, Any]]:
        return self.report if isinstance(self.report, list) else json.loads(self.report or "[]")

    @strawberry.field(description="The rows, in file order; `actions` keeps only rows with those actions.")
    def rows(self, actions: list[ImportAction] | None = None) -> list[ImportRowType]:
        wanted = None if actions is None else {enums.ImportAction(a).value for a in actions}
        return [ImportRowType.of(row, self.passwords.get(row["rowNumber"])) for row in self._rows
                if wanted is None or row["action"] in wanted]
