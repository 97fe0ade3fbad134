"""The caller (User), the login payload and the home dashboard."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.types import Info

from auth.sessions import CurrentUser
from execution.field_functions import resolve
from resolvers import statistics
from resolvers.change_requests import pending_count
from resolvers.regions import latest_update, root_region
from schema.enums import GuarantorLevel, UserTier
from schema.types.campaign import CompletenessType
from schema.types.common import local_time
from schema.types.mine import MineType
from schema.types.region import RegionType
from schema.types.stats import MineStatsType
from schema.types.verification import VerificationStatsType


@strawberry.type(name="User")
class UserType:
    username: str
    tier: UserTier
    name: str | None
    phone: str | None
    email: str | None
    guarantor_level: GuarantorLevel | None = strawberry.field(
        description="The guarantor level this account may fill in, if any."
    )
    user: strawberry.Private[CurrentUser]

    @classmethod
    def of(cls, user: CurrentUser) -> UserType:
        return cls(
            username=user.username, tier=user.tier, name=user.name, phone=user.phone,
            email=user.email, guarantor_level=user.guarantor_level, user=user,
        )

    @strawberry.field(description="The account's root region (an enterprise: its mine's county).")
    def region(self, info: Info) -> RegionType | None:
        return statistics.ScopedNode(root_region(info.context))

    @strawberry.field(description="An enterprise account's own mine.")
    async def mine(self, info: Info) -> MineType | None:
        if self.user.mine_id is None:
            return None
        row = await info.context.loaders.mine.load(self.user.mine_id)
        return None if row is None else MineType.of(info, row)


@strawberry.type(name="AuthPayload")
class AuthPayloadType:
    token: str = strawberry.field(description="Send as `Authorization: Bearer <token>`.")
    user: UserType


@strawberry.type(name="Dashboard")
class DashboardType:
    @strawberry.field(description="Latest change to any mine in the caller's jurisdiction.")
    async def updated_at(self, info: Info) -> datetime:
        return local_time(info.context, await latest_update(info.context))

    @strawberry.field
    def region(self, info: Info) -> RegionType:
        return statistics.ScopedNode(root_region(info.context))

    # The region's own statistics' functions, on the caller's root region.
    @strawberry.field
    def stats(self, info: Info) -> MineStatsType:
        return resolve(statistics.node_stats, statistics.ScopedNode(root_region(info.context)), info)

    @strawberry.field(description="Campaign progress (locations, guarantors) in the caller's jurisdiction.")
    def completeness(self, info: Info) -> CompletenessType:
        return resolve(statistics.node_completeness, statistics.ScopedNode(root_region(info.context)), info)

    @strawberry.field(description="核实 counts in the caller's jurisdiction.")
    def verification(self, info: Info) -> VerificationStatsType:
        return resolve(statistics.node_verification, statistics.ScopedNode(root_region(info.context)), info)

    @strawberry.field(description="Change requests awaiting review, of the mines in the caller's jurisdiction.")
    async def pending_change_requests(self, info: Info) -> int:
        return await pending_count(info.context)
