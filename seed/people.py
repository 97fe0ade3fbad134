"""Sampling helpers and fictitious people, phones and official titles for the demo dataset.

Words come from seed/data/demo_names.json; every person and number drawn here is made up.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable
from datetime import UTC, datetime

from models.enums import RegionLevel
from seed.reference import load_json

Rand = Callable[[], float]  # a bound random.Random.random


def choice(r: Rand, seq: list):
    # random.choice costs three times this (rejection sampling); its bias is irrelevant here.
    return seq[int(r() * len(seq))]


def epoch(day: str) -> int:
    """UTC epoch seconds of an ISO date or naive datetime taken as UTC."""
    return int(datetime.fromisoformat(day).replace(tzinfo=UTC).timestamp())


class Picker:
    """Weighted choice by bisecting cumulative weights (far cheaper than random.choices per draw)."""

    __slots__ = ("items", "cum", "total")

    def __init__(self, pairs: list[tuple[object, float]]) -> None:
        self.items = [item for item, _ in pairs]
        self.cum, total = [], 0.0
        for _, weight in pairs:
            total += weight
            self.cum.append(total)
        self.total = total
        if total <= 0:
            raise ValueError("weights must not all be zero")

    def __call__(self, u: float):
        return self.items[bisect.bisect_right(self.cum, u * self.total)]


class People:
    def __init__(self) -> None:
        self.w = load_json("demo_names.json")
        self.surnames, self.given = self.w["surnames"], self.w["given_chars"]
        self.prefixes = self.w["mobile_prefixes"]

    def person(self, r: Rand) -> str:
        given = choice(r, self.given) + (choice(r, self.given) if r() < 0.7 else "")
        return choice(r, self.surnames) + given

    def phone(self, r: Rand) -> str:
        return f"{choice(r, self.prefixes)}{int(r() * 100_000_000):08d}"

    def short_name(self, name: str) -> str:
        """A county's name without its suffix (会泽县 -> 会泽), as companies are named."""
        for suffix in self.w["county_suffixes"]:
            if name.endswith(suffix) and len(name) - len(suffix) >= 2 and "族" not in name:
                return name[: -len(suffix)]
        return name

    def official_title(self, region: dict, agency: bool) -> str:
        level, name = region["level"], region["name"]
        if agency:
            if level == RegionLevel.PROVINCE.value and name.endswith("市"):
                return name + self.w["municipality_agency_title"]  # 北京市应急管理局, not 厅
            return name + self.w["agency_titles"][level]
        leader = next((t for suffix, t in self.w["leader_titles"] if name.endswith(suffix)), "负责人")
        return name + leader

    def official_pools(self, regions: dict[str, dict], sizes: dict[str, int], r: Rand) -> dict:
        """(level, region code) -> a few (name, position, phone) officials of that region.

        The same leader guards many mines, as in the field (and as the "quick
        fill" suggestions expect), so guarantors are drawn from these pools.
        """
        pools = {}
        for code, region in regions.items():
            level = region["level"]
            if level in sizes:
                pools[(level, code)] = [
                    (self.person(r), self.official_title(region, r() < self.w["agency_share"]), self.phone(r))
                    for _ in range(sizes[level])
                ]
        return pools
