"""One request's checks in the jurisdiction properties: every returned mine, region and count held
against the recount (tests/support/reference.py + tests/support/reference_props.py), and the request sent so that an
exception escaping the app fails the case with the request that raised it."""

from __future__ import annotations

import json
from collections import Counter

from support.jurisdiction_world import FAILURES, FIGURES, Setup
from support.reference import as_comparable, visible
from support.reference_props import (
    GUARANTOR_LEVELS, Tally, Who, as_utc, expected_parent, matches_all, region_visible, to_milliseconds,
)


class Case:
    """One request's checks: counters, and the problems found (leaks, miscounts, others)."""

    def __init__(self, s: Setup, who: Who, gql, token: str) -> None:
        self.s, self.world, self.who, self.gql, self.token = s, s.world, who, gql, token
        self.problems: list[tuple[str, str]] = []
        self._tallies: dict[str, Tally] = {}

    def tally(self, spec: dict | None) -> Tally:
        key = json.dumps(spec, sort_keys=True)
        if key not in self._tallies:
            self._tallies[key] = Tally(self.world, self.who, spec)
        return self._tallies[key]

    def fail(self, kind: str, message: str) -> None:
        self.problems.append((kind, message))

    def count(self, what: str, actual, expected) -> None:
        FIGURES["counts_checked"] += 1
        if actual != expected:
            self.fail("miscount", f"{what}: answered {actual!r}, recount {expected!r}")

    def same(self, what: str, actual, expected) -> None:
        FIGURES["values_checked"] += 1
        if actual != expected:
            self.fail("wrong", f"{what}: answered {actual!r}, expected {expected!r}")

    # ---- objects

    def region(self, value: dict, what: str) -> str | None:
        """A returned region object: inside the jurisdiction, or a leak."""
        FIGURES["regions_checked"] += 1
        code = value.get("code")
        if code not in self.world.regions:
            self.fail("wrong", f"{what}: unknown region {code!r}")
            return None
        if not region_visible(self.world.regions[code], self.who):
            self.fail("leak", f"{what}: region {code} is outside the jurisdiction of {self.who.username}")
        return code

    def mine(self, node: dict, what: str, spec: dict | None = None, detail: bool = False) -> dict | None:
        """A returned mine: visible to the caller (else a leak), matching the filter, fields as stored."""
        FIGURES["mines_checked"] += 1
        try:
            row = self.world.mine_by_id.get(int(node["id"]))
        except (TypeError, ValueError, KeyError):
            row = None
        if row is None:
            self.fail("wrong", f"{what}: a mine that does not exist: {node!r}")
            return None
        if not visible(row, self.who):
            self.fail("leak", f"{what}: mine {row['id']} ({row['code']}, county {row['county_code']}) is outside "
                              f"the jurisdiction of {self.who.username}")
        if spec is not None and not matches_all(row, spec, self.world):
            self.fail("wrong", f"{what}: mine {row['id']} does not match the filter {spec!r}")
        if "code" in node:
            self.same(f"{what}.code", node["code"], row["code"])
        if "name" in node:
            self.same(f"{what}.name", node["name"], row["name"])
        if "region" in node:
            self.same(f"{what}.region.code", node["region"]["code"], row["county_code"])
            self.region(node["region"], f"{what}.region")
            if "parent" in node["region"]:
                parent = node["region"]["parent"]
                self.same(f"{what}.region.parent", parent and parent["code"],
                          expected_parent(self.world, row["county_code"], self.who))
                if parent:
                    self.region(parent, f"{what}.region.parent")
        if "mineral" in node:
            self.same(f"{what}.mineral.code", node["mineral"]["code"], row["mineral_code"])
        if "version" in node:
            self.same(f"{what}.version", node["version"], row["version"])
        if detail:
            for key, column in (("scale", "scale"), ("designCapacity", "design_capacity"),
                                ("capacityUnit", "capacity_unit"), ("developmentMethod", "development_method"),
                                ("maxDepth", "max_depth"), ("workersPerShift", "workers_per_shift"),
                                ("productionStatus", "production_status"), ("supervisoryBody", "supervisory_body")):
                self.same(f"{what}.{key}", node[key], row[column])
            self.same(f"{what}.updatedAt", as_utc(node["updatedAt"]), to_milliseconds(row["updated_at"]))
            location = node["location"]
            self.same(f"{what}.location", location and (location["wgs84"]["lat"], location["wgs84"]["lng"]),
                      None if row["lat"] is None else (row["lat"], row["lng"]))
            levels = [g["level"] for g in node["guarantors"]]
            self.same(f"{what}.guarantors", levels,
                      [lv for lv in GUARANTOR_LEVELS if lv in self.world.guarantors.get(row["id"], set())])
        return row

    def stats(self, value: dict, mines: list[dict], what: str) -> None:
        expected = self.tally(None).stats(mines)
        actual = as_comparable(value)
        for key, number in expected.items():
            self.count(f"{what}.{key}", actual.get(key), number)
        self.same(f"{what}.byCategory order", [c["mineral"]["code"] for c in value["byCategory"]], self.world.categories)

    def completeness(self, value: dict, mines: list[dict], what: str) -> None:
        for key, number in self.tally(None).completeness(mines).items():
            self.count(f"{what}.{key}", value.get(key), number)

    def verification(self, value: dict, mines: list[dict], what: str) -> None:
        """VerificationStats: the mines in scope by 核实 state, recounted."""
        states = [m["verification_state"] for m in mines]
        expected = {"total": len(states), "verified": states.count("VERIFIED"), "stale": states.count("STALE"),
                    "unverified": states.count("UNVERIFIED")}
        for key, number in expected.items():
            self.count(f"{what}.{key}", value.get(key), number)

    def connection(self, value: dict, rows: list[dict], first: int, what: str, spec: dict | None,
                   detail: bool = False, total: int | None = None) -> None:
        """A MineConnection page: exactly `rows[:first]` (the matches after the cursor, in order), the
        true totalCount (every match, whatever first/after) and hasNextPage."""
        self.count(f"{what}.totalCount", value["totalCount"], len(rows) if total is None else total)
        edges = value["edges"]
        for i, edge in enumerate(edges):
            self.mine(edge["node"], f"{what}.edges[{i}]", spec, detail)
        self.count(f"{what}.edges", [int(e["node"]["id"]) for e in edges], [m["id"] for m in rows[:first]])
        self.count(f"{what}.hasNextPage", value["pageInfo"]["hasNextPage"], len(rows) > first)
        self.same(f"{what}.endCursor", value["pageInfo"]["endCursor"], edges[-1]["cursor"] if edges else None)


def error_codes(errors) -> list:
    return [(e.get("extensions") or {}).get("code") for e in errors or []]


async def send(gql, query: str, variables: dict | None, token: str, username: str):
    """One request; an exception escaping the app (a 500 from a real server) fails the case with the request."""
    try:
        return await gql(query, variables, token)
    except BaseException as error:  # CancelledError is a BaseException
        FIGURES["server exceptions"] += 1
        if len(FAILURES) < 20:
            FAILURES.append({"caller": username, "query": query, "variables": variables, "exception": repr(error)})
        raise AssertionError(f"the app raised {error!r} (a real server answers 500) for caller {username}:\n"
                             f"{query}\nvariables {json.dumps(variables, ensure_ascii=False)}") from error


def record_failure(case: Case, query: str, variables: dict, status: int, errors) -> None:
    kinds = Counter(kind for kind, _ in case.problems)
    FIGURES["leaks"] += kinds["leak"]
    FIGURES["miscounts"] += kinds["miscount"]
    FIGURES["wrong"] += kinds["wrong"]
    if len(FAILURES) < 20:
        FAILURES.append({"caller": case.who.username, "query": query, "variables": variables, "status": status,
                         "errors": errors, "problems": case.problems[:10]})

