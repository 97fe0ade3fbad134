"""An independent reference: which mines a caller may see and which match a filter.

Written from the API contract in plain Python over rows read with tests/support/sqldb.py,
sharing no code with the service, so that a service bug cannot hide in both.
"""

from __future__ import annotations

import math

WORKERS, DEPTH = 30, 800.0
RANGE_FIELDS = {
    "designCapacity": "design_capacity",
    "depth": "max_depth",
    "workersPerShift": "workers_per_shift",
}
LIST_FIELDS = {
    "scales": "scale",
    "productionStatuses": "production_status",
    "developmentMethods": "development_method",
    "supervisoryBodies": "supervisory_body",
}


def in_region(mine: dict, code: str, level: str) -> bool:
    column = {"NATION": None, "PROVINCE": "province_code", "CITY": "city_code", "COUNTY": "county_code"}[level]
    return column is None or mine[column] == code


def visible(mine: dict, caller) -> bool:
    if caller.tier == "NATIONAL":
        return True
    if caller.tier == "ENTERPRISE":
        return mine["id"] == caller.mine_id
    column = {"PROVINCE": "province_code", "CITY": "city_code", "COUNTY": "county_code"}[caller.tier]
    return mine[column] == caller.region_code


def matches(mine: dict, spec: dict | None, levels: dict[str, str]) -> bool:
    spec = spec or {}
    if spec.get("regionCode") and not in_region(mine, spec["regionCode"], levels[spec["regionCode"]]):
        return False
    if spec.get("nameContains") and spec["nameContains"] not in mine["name"]:
        return False
    if spec.get("mineralCodes") is not None:
        codes = set(spec["mineralCodes"])
        if not codes & {mine["mineral_code"], mine["group_code"], mine["category_code"]}:
            return False
    for key, column in LIST_FIELDS.items():
        if spec.get(key) is not None and mine[column] not in spec[key]:
            return False
    for key, column in RANGE_FIELDS.items():
        low, high = spec.get(f"{key}Min"), spec.get(f"{key}Max")
        if low is not None and mine[column] < low:
            return False
        if high is not None and mine[column] > high:
            return False
    if spec.get("over30Workers") is not None and (mine["workers_per_shift"] > WORKERS) != spec["over30Workers"]:
        return False
    if spec.get("over800mDepth") is not None and (mine["max_depth"] > DEPTH) != spec["over800mDepth"]:
        return False
    return True


def expected_stats(mines: list[dict]) -> dict:
    categories: dict[str, int] = {}
    for m in mines:
        categories[m["category_code"]] = categories.get(m["category_code"], 0) + 1
    return {
        "total": len(mines),
        "large": sum(m["scale"] == "LARGE" for m in mines),
        "medium": sum(m["scale"] == "MEDIUM" for m in mines),
        "small": sum(m["scale"] == "SMALL" for m in mines),
        "over30Workers": sum(m["workers_per_shift"] > WORKERS for m in mines),
        "over800mDepth": sum(m["max_depth"] > DEPTH and not math.isnan(m["max_depth"]) for m in mines),
        "byCategory": categories,
    }


def as_comparable(stats: dict) -> dict:
    """An API MineStats with byCategory turned into {code: count} (zeros dropped)."""
    out = {k: v for k, v in stats.items() if k != "byCategory"}
    out["byCategory"] = {c["mineral"]["code"]: c["count"] for c in stats["byCategory"] if c["count"]}
    return out


GUARANTOR_LEVELS = ("PROVINCE", "CITY", "COUNTY", "ENTERPRISE")


def guarantor_levels(db) -> dict[int, set[str]]:
    """The guarantor levels each mine has, by mine id, as `expected_completeness` takes them."""
    found: dict[int, set[str]] = {}
    for mine_id, level in db.execute("SELECT mine_id, level FROM guarantor"):
        found.setdefault(mine_id, set()).add(level)
    return found


def walk_tree(node):
    """An answer's tree node and every node below it (through `children`), depth first."""
    yield node
    for child in node.get("children") or []:
        yield from walk_tree(child)


def expected_completeness(mines: list[dict], levels_by_mine: dict[int, set[str]]) -> dict:
    """An API Completeness recounted: every level that applies (no CITY under a province directly)."""
    def has(m, level):
        return level in levels_by_mine.get(m["id"], set())

    def all_levels(m):
        return all(has(m, lv) for lv in GUARANTOR_LEVELS if not (lv == "CITY" and m["city_code"] is None))

    return {
        "total": len(mines),
        "withLocation": sum(m["lat"] is not None for m in mines),
        "cityLevelApplicable": sum(m["city_code"] is not None for m in mines),
        **{f"with{lv.title()}Guarantor": sum(has(m, lv) for m in mines) for lv in GUARANTOR_LEVELS},
        "withAllGuarantors": sum(all_levels(m) for m in mines),
        "complete": sum(all_levels(m) and m["lat"] is not None for m in mines),
    }
