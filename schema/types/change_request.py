"""MineChangeRequest: an enterprise's reported change of basic data, and the page of them."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from models import enums
from models.errors import NotFound
from resolvers.change_requests import RequestPage, field_changes
from schema.enums import ChangeRequestStatus
from schema.types.common import local_time
from schema.types.mine import MineType


@strawberry.type(name="FieldChange", description="One MineInput field: its value before and after (as Mine shows it).")
class FieldChangeType:
    field: str
    old: JSON | None
    new: JSON | None


@strawberry.type(name="MineChangeRequest", description="变更申请: basic data reported by the mine's own account.")
class MineChangeRequestType:
    id: strawberry.ID
    status: ChangeRequestStatus
    note: str | None
    proposed_by: str
    proposed_at: datetime
    reviewed_by: str | None
    reviewed_at: datetime | None
    review_note: str | None
    row: strawberry.Private[object]

    @classmethod
    def of(cls, info: Info, row) -> MineChangeRequestType:
        ctx = info.context
        return cls(
            id=strawberry.ID(str(row.id)), status=enums.ChangeRequestStatus(row.status), note=row.note,
            proposed_by=row.proposed_by, proposed_at=local_time(ctx, row.proposed_at),
            reviewed_by=row.reviewed_by,
            reviewed_at=None if row.reviewed_at is None else local_time(ctx, row.reviewed_at),
            review_note=row.review_note, row=row,
        )

    async def _mine(self, info: Info):
        mine = await info.context.loaders.mine.load(self.row.mine_id)
        if mine is None:  # revoked since: outside every jurisdiction
            raise NotFound(f"未找到矿山 {self.row.mine_id} / mine {self.row.mine_id} not found")
        return mine

    @strawberry.field
    async def mine(self, info: Info) -> MineType:
        return MineType.of(info, await self._mine(info))

    @strawberry.field(description="Pending or rejected: the proposal against the mine's current values (a field "
                                  "already equal is not listed). Approved: what the approval changed.")
    async def changes(self, info: Info) -> list[FieldChangeType]:
        mine = await self._mine(info)
        return [FieldChangeType(field=c["field"], old=c["old"], new=c["new"])
                for c in field_changes(self.row, mine, info.context.trees)]


@strawberry.type(name="MineChangeRequestEdge")
class MineChangeRequestEdgeType:
    cursor: str
    node: MineChangeRequestType


@strawberry.type(name="MineChangeRequestPageInfo", description="Forward pagination (first/after).")
class MineChangeRequestPageInfoType:
    has_next_page: bool
    end_cursor: str | None


@strawberry.type(name="MineChangeRequestConnection")
class MineChangeRequestConnectionType:
    page: strawberry.Private[RequestPage]

    @strawberry.field(description="Every match, regardless of first/after.")
    def total_count(self) -> int:
        return self.page.total_count

    @strawberry.field
    def edges(self, info: Info) -> list[MineChangeRequestEdgeType]:
        return [MineChangeRequestEdgeType(cursor=cursor, node=MineChangeRequestType.of(info, row))
                for cursor, row in zip(self.page.cursors, self.page.rows, strict=True)]

    @strawberry.field
    def page_info(self) -> MineChangeRequestPageInfoType:
        cursors = self.page.cursors
        return MineChangeRequestPageInfoType(has_next_page=self.page.has_next_page,
                                             end_cursor=cursors[-1] if cursors else None)
