"""Filter options: every enum value with the Chinese label users see."""

from __future__ import annotations

import strawberry

from models import enums


@strawberry.type(name="Option")
class OptionType:
    value: str
    label: str


def _options(enum) -> list[OptionType]:
    return [OptionType(value=member.value, label=member.label) for member in enum]


@strawberry.type(name="FilterOptions")
class FilterOptionsType:
    @strawberry.field
    def scales(self) -> list[OptionType]:
        return _options(enums.MineScale)

    @strawberry.field
    def production_statuses(self) -> list[OptionType]:
        return _options(enums.ProductionStatus)

    @strawberry.field
    def development_methods(self) -> list[OptionType]:
        return _options(enums.DevelopmentMethod)

    @strawberry.field
    def supervisory_bodies(self) -> list[OptionType]:
        return _options(enums.SupervisoryBody)

    @strawberry.field
    def guarantor_levels(self) -> list[OptionType]:
        return _options(enums.GuarantorLevel)

    @strawberry.field
    def user_tiers(self) -> list[OptionType]:
        return _options(enums.UserTier)
