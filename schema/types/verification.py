"""核实 (verification) of a mine's basic data, its counts, and the scale override.

VerificationStats' source is the node's resolvers/stats.Counts (each count an attribute of its name)."""

from __future__ import annotations

from datetime import datetime

import strawberry

from schema.enums import MineScale


@strawberry.type(name="Verification", description="核实: whether the mine's basic data was verified as it is now.")
class VerificationType:
    verified_at: datetime | None = strawberry.field(description="The last verification; null: never verified.")
    verified_by: str | None = strawberry.field(description="The username of the account that verified it.")
    note: str | None
    current: bool = strawberry.field(description="True while no basic field has changed since the verification "
                                                 "(state VERIFIED); false when STALE or UNVERIFIED.")


@strawberry.type(name="VerificationStats", description="核实 counts: verified, changed since (stale), never verified.")
class VerificationStatsType:
    total: int
    verified: int
    stale: int
    unverified: int


@strawberry.type(name="ScaleOverride", description="A scale stated by a source instead of the one the scale table derives.")
class ScaleOverrideType:
    scale: MineScale
    note: str | None
