"""GraphQL enums, exposed from the domain enums (values are the contract's names)."""

from __future__ import annotations

from enum import Enum

import strawberry

from models import enums

UserTier = strawberry.enum(enums.UserTier, name="UserTier")
RegionLevel = strawberry.enum(enums.RegionLevel, name="RegionLevel")
MineScale = strawberry.enum(enums.MineScale, name="MineScale")
GuarantorLevel = strawberry.enum(enums.GuarantorLevel, name="GuarantorLevel")
Datum = strawberry.enum(enums.Datum, name="Datum")
ProductionStatus = strawberry.enum(enums.ProductionStatus, name="ProductionStatus")
DevelopmentMethod = strawberry.enum(enums.DevelopmentMethod, name="DevelopmentMethod")
SupervisoryBody = strawberry.enum(enums.SupervisoryBody, name="SupervisoryBody")


@strawberry.enum(name="ExportKind", description="What exportLink downloads.")
class ExportKind(Enum):
    MINES_XLSX = "MINES_XLSX"
    MINES_CSV = "MINES_CSV"
    STATS_XLSX = "STATS_XLSX"
    STATS_CSV = "STATS_CSV"
    TEMPLATE = "TEMPLATE"
VerificationState = strawberry.enum(enums.VerificationState, name="VerificationState")
ChangeRequestStatus = strawberry.enum(enums.ChangeRequestStatus, name="ChangeRequestStatus")
ImportAction = strawberry.enum(enums.ImportAction, name="ImportAction")
