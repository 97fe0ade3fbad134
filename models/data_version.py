"""A single counter that every change to registry data raises.

Database triggers (see the migration that creates this table) raise it in the
same transaction as any insert, update or delete of mines, guarantors, regions
or mineral types, whoever writes: the service, the CLI or an operator's SQL.
Response caches compare it, so several instances never serve stale answers.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column
from sqlmodel import Field, SQLModel


class DataVersion(SQLModel, table=True):
    __tablename__ = "data_version"

    id: int = Field(default=1, primary_key=True)
    version: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
