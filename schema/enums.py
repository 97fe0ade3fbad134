"""GraphQL enums, exposed from the domain enums (values are the contract's names)."""

from __future__ import annotations

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
ImportAction = strawberry.enum(enums.ImportAction, name="ImportAction")
