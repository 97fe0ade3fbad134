"""More of the independent reference, for the property tests (tests/test_property_*.py).

Like tests/support/reference.py (whose semantics this module reuses and never changes), it is
written from the API contract and docs/decisions.md in plain Python over rows read with
the test's own connection (`db.execute(sql, params)`, portable SQL, `row["col"]`), and
shares no code with the service:

- `World`: every mine, region, mineral type, guarantor level and account, read once;
- `Who`: a caller as the reference sees it (tier, root region, own mine);
- `region_visible`: the jurisdiction rule on the region table;
- `filter_problems`: the error codes a MineFilter must be refused with (empty: valid);
- `matches_all`: `reference.matches` plus the filter fields it does not know
  (trimmed `nameContains`, `missingLocation`, `missingGuarantorLevel`);
- `Tally`: MineStats and Completeness of any region or mineral node, recounted.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime

from support.reference import (  # GUARANTOR_LEVELS is re-exported for the property tests
    GUARANTOR_LEVELS, RANGE_FIELDS, expected_completeness, expected_stats, in_region, matches, visible,
)

# The error codes of the API contract ("Errors"), nothing else may appear.
CONTRACT_CODES = frozenset({
    "UNAUTHENTICATED", "FORBIDDEN", "NOT_FOUND", "BAD_USER_INPUT", "CONFLICT", "RATE_LIMITED",
    "INTERNAL", "GRAPHQL_PARSE_FAILED", "GRAPHQL_VALIDATION_FAILED",
})
TIER_COLUMN = {"PROVINCE": "province_code", "CITY": "city_code", "COUNTY": "county_code"}
LEVEL_COLUMN = {"NATION": None, "PROVINCE": "province_code", "CITY": "city_code", "COUNTY": "county_code"}
MINERAL_COLUMN = {1: "category_code", 2: "group_code", 3: "mineral_code"}
NATION = "000000"
NAME_LIMIT = 100  # docs/decisions.md, "Filters": nameContains is trimmed and limited to 100 characters
PAGE_LIMIT = 100  # contract, "Paging": first from 0 to 100
NEAR_RADIUS_KM = 300.0  # docs/decisions.md, "Writes": minesNear radii up to 300 km ...
NEAR_RESULTS = 100  # ... and at most 100 results
EARTH_RADIUS_KM = 6371.0088


@dataclass(frozen=True)
class Who:
    """A caller: `region_code` is its root region (an enterprise: its mine's county)."""

    tier: str
    username: str
    region_code: str
    mine_id: int | None = None
    guarantor_level: str | None = None


@dataclass
class World:
    mines: list[dict]
    mine_by_id: dict[int, dict]
    regions: dict[str, dict]
    region_children: dict[str, list[str]]
    minerals: dict[str, dict]
    mineral_children: dict[str, list[str]]
    categories: list[str]  # top-level mineral codes, in their fixed order
    guarantors: dict[int, set[str]]  # mine id -> filled levels
    accounts: dict[str, dict]
    _visible: dict[str, list[dict]] = field(default_factory=dict)

    def visible_mines(self, who: Who) -> list[dict]:
        key = f"{who.tier}:{who.region_code}:{who.mine_id}"
        if key not in self._visible:
            self._visible[key] = [m for m in self.mines if visible(m, who)]
        return self._visible[key]

    def who(self, username: str) -> Who:
        account = self.accounts[username]
        region = account["region_code"]
        if account["tier"] == "ENTERPRISE":
            region = self.mine_by_id[account["mine_id"]]["county_code"]
        elif account["tier"] == "NATIONAL":
            region = region or NATION
        return Who(account["tier"], username, region, account["mine_id"], account["guarantor_level"])


def load_world(db) -> World:
    mines = [dict(r) for r in db.execute("SELECT * FROM mine ORDER BY id").fetchall()]
    regions = {r["code"]: dict(r) for r in db.execute(
        "SELECT code, name, level, parent_code, province_code, city_code, county_code FROM region").fetchall()}
    region_children: dict[str, list[str]] = defaultdict(list)
    for code in sorted(regions):
        parent = regions[code]["parent_code"]
        if parent is not None:
            region_children[parent].append(code)
    minerals = {r["code"]: dict(r) for r in db.execute(
        "SELECT code, name, level, parent_code, sort_order FROM mineral_type").fetchall()}
    mineral_children: dict[str, list[str]] = defaultdict(list)
    for code in sorted(minerals, key=lambda c: (minerals[c]["sort_order"], c)):
        parent = minerals[code]["parent_code"]
        if parent is not None:
            mineral_children[parent].append(code)
    categories = sorted((c for c, m in minerals.items() if m["level"] == 1),
                        key=lambda c: (minerals[c]["sort_order"], c))
    guarantors: dict[int, set[str]] = defaultdict(set)
    for row in db.execute("SELECT mine_id, level FROM guarantor").fetchall():
        guarantors[row["mine_id"]].add(row["level"])
    accounts = {r["username"]: dict(r) for r in db.execute(
        "SELECT username, tier, region_code, mine_id, guarantor_level FROM account").fetchall()}
    return World(mines, {m["id"]: m for m in mines}, regions, dict(region_children), minerals,
                 dict(mineral_children), categories, dict(guarantors), accounts)


# --------------------------------------------------------------------------- visibility


def region_visible(region: dict, who: Who) -> bool:
    """A region row is inside the caller's jurisdiction (contract: "Jurisdiction", "Enterprise callers")."""
    if who.tier == "NATIONAL":
        return True
    if who.tier == "ENTERPRISE":
        return region["code"] == who.region_code
    return region[TIER_COLUMN[who.tier]] == who.region_code


def region_code_visible(world: World, code: object, who: Who) -> bool:
    return isinstance(code, str) and code in world.regions and region_visible(world.regions[code], who)


def visible_children(world: World, code: str, who: Who) -> list[str]:
    if who.tier == "ENTERPRISE":
        return []  # an enterprise sees its county, never the counties around it
    return [c for c in world.region_children.get(code, []) if region_visible(world.regions[c], who)]


def expected_parent(world: World, code: str, who: Who) -> str | None:
    """Region.parent: null at the caller's root (and above it)."""
    if code == who.region_code:
        return None
    return world.regions[code]["parent_code"]


# --------------------------------------------------------------------------- filters


def filter_problems(spec: dict | None, world: World, who: Who) -> set[str]:
    """The codes a MineFilter is refused with; empty when it is valid (contract, "Filters")."""
    if spec is None:
        return set()
    problems = set()
    if spec.get("regionCode") is not None and not region_code_visible(world, spec["regionCode"], who):
        problems.add("NOT_FOUND")
    name = spec.get("nameContains")
    if name is not None and len(name.strip()) > NAME_LIMIT:
        problems.add("BAD_USER_INPUT")
    codes = spec.get("mineralCodes")
    if codes is not None and any(c not in world.minerals for c in codes):
        problems.add("BAD_USER_INPUT")
    for key in RANGE_FIELDS:
        low, high = spec.get(f"{key}Min"), spec.get(f"{key}Max")
        for value in (low, high):
            if isinstance(value, float) and not math.isfinite(value):
                problems.add("BAD_USER_INPUT")
        if low is not None and high is not None and low > high:
            problems.add("BAD_USER_INPUT")
    return problems


def matches_all(mine: dict, spec: dict | None, world: World) -> bool:
    """Whether a mine matches a valid filter: every field of MineFilter."""
    if not spec:
        return True
    core = {k: v for k, v in spec.items() if k not in ("nameContains", "missingLocation", "missingGuarantorLevel")}
    name = (spec.get("nameContains") or "").strip()
    if name:
        core["nameContains"] = name
    levels = {code: world.regions[code]["level"]} if (code := spec.get("regionCode")) else {}
    if not matches(mine, core, levels):
        return False
    if spec.get("missingLocation") is not None and (mine["lat"] is None) != spec["missingLocation"]:
        return False
    level = spec.get("missingGuarantorLevel")
    if level is not None:
        if level == "CITY" and mine["city_code"] is None:
            return False  # no CITY level to miss
        if level in world.guarantors.get(mine["id"], set()):
            return False
    return True


# --------------------------------------------------------------------------- counts


def completeness_of(mines: list[dict], world: World) -> dict:
    return expected_completeness(mines, world.guarantors)


class Tally:
    """The mines one caller may see that match one (valid) filter, grouped for recounts."""

    def __init__(self, world: World, who: Who, spec: dict | None) -> None:
        self.world = world
        self.selected = [m for m in world.visible_mines(who) if matches_all(m, spec, world)]
        self._by_region: dict[str, list[dict]] | None = None
        self._by_mineral: dict[str, list[dict]] | None = None

    def in_region(self, code: str | None) -> list[dict]:
        if code is None:
            return self.selected
        if self._by_region is None:
            grouped: dict[str, list[dict]] = defaultdict(list)
            for m in self.selected:
                grouped[NATION].append(m)
                for column in ("province_code", "city_code", "county_code"):
                    if m[column] is not None:
                        grouped[m[column]].append(m)
            self._by_region = grouped
        return self._by_region.get(code, [])

    def in_mineral(self, code: str, region_code: str | None = None) -> list[dict]:
        column = MINERAL_COLUMN[self.world.minerals[code]["level"]]
        if region_code is None:
            if self._by_mineral is None:
                grouped: dict[str, list[dict]] = defaultdict(list)
                for m in self.selected:
                    for c in set(MINERAL_COLUMN.values()):
                        grouped[m[c]].append(m)
                self._by_mineral = grouped
            return [m for m in self._by_mineral.get(code, []) if m[column] == code]
        region = self.world.regions[region_code]
        return [m for m in self.in_region(region_code) if m[column] == code and in_region(m, region_code, region["level"])]

    def stats(self, mines: list[dict]) -> dict:
        return expected_stats(mines)

    def completeness(self, mines: list[dict]) -> dict:
        return completeness_of(mines, self.world)


def keyset(mines: list[dict]) -> list[dict]:
    """The contract's list order: region (county) code, then mine code."""
    return sorted(mines, key=lambda m: (m["county_code"], m["code"]))


# --------------------------------------------------------------------------- geometry and time


def haversine_km(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lng2 - lng1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


def as_utc(text: str) -> datetime:
    """An API DateTime (ISO-8601 with offset) as a naive UTC datetime, as the test connection reads them."""
    value = datetime.fromisoformat(text)
    assert value.tzinfo is not None, f"DateTime without offset: {text!r}"
    return value.astimezone(UTC).replace(tzinfo=None)


def to_milliseconds(stored: datetime) -> datetime:
    """A stored time as the API presents it: truncated to the millisecond (docs/decisions.md)."""
    return stored.replace(microsecond=stored.microsecond // 1000 * 1000)
