"""Records of keeping the registry current: spreadsheet imports and enterprises' change requests."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index
from sqlmodel import Field, SQLModel


class MineImport(SQLModel, table=True):
    """One import of a spreadsheet, dry run or applied, with its whole report."""

    __tablename__ = "mine_import"
    __table_args__ = (Index("ix_mine_import_account_at", "account_id", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    at: datetime
    account_id: int | None = Field(default=None, foreign_key="account.id")
    username: str = Field(max_length=32)
    # The importer's scope key (auth/scope.py), so that `imports` lists what its scope may see.
    scope_key: str = Field(max_length=40)
    file_name: str | None = None
    applied: bool = False
    created: int = 0
    changed: int = 0
    unchanged: int = 0
    rejected: int = 0
    report: str = ""  # JSON: the rows as ImportReport.rows serves them


class MineChangeRequest(SQLModel, table=True):
    """An enterprise's report of changed basic data, approved or rejected by a regulator's -001."""

    __tablename__ = "mine_change_request"
    __table_args__ = (Index("ix_mine_change_request_status_mine", "status", "mine_id"),)

    id: int | None = Field(default=None, primary_key=True)
    mine_id: int = Field(foreign_key="mine.id")
    # JSON: the proposed MineInput (GraphQL field names, enum names), applied as an update on approval.
    changes: str
    base_version: int  # the mine's version the proposal was made against
    status: str = Field(default="PENDING", max_length=12)  # ChangeRequestStatus
    note: str | None = None
    proposed_by: str = Field(max_length=32)
    proposed_at: datetime
    reviewed_by: str | None = Field(default=None, max_length=32)
    reviewed_at: datetime | None = None
    review_note: str | None = None
