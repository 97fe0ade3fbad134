"""The authenticated caller, as the rest of the service sees it."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from models.enums import GuarantorLevel, UserTier
from auth.scope import Scope


@dataclass(frozen=True)
class CurrentUser:
    account_id: int
    username: str
    tier: UserTier
    region_code: str | None
    mine_id: int | None
    guarantor_level: GuarantorLevel | None
    name: str | None
    phone: str | None
    email: str | None
    session: str | None = None  # digest of the bearer token this request came with

    @cached_property  # asked for by every field of a request
    def scope(self) -> Scope:
        return Scope(self.tier, self.region_code or "000000", self.mine_id)

    @classmethod
    def from_row(cls, row, session: str | None = None) -> CurrentUser:
        return cls(
            account_id=row.id,
            username=row.username,
            tier=UserTier(row.tier),
            region_code=row.region_code,
            mine_id=row.mine_id,
            guarantor_level=GuarantorLevel(row.guarantor_level) if row.guarantor_level else None,
            name=row.name,
            phone=row.phone,
            email=row.email,
            session=session,
        )
