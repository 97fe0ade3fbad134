"""The jurisdiction property's root fields that list mines: mines(filter, first, after) followed page
by page (and a cursor reused under another filter), mine(id), and minesNear (the base class and the
other root fields are in jurisdiction_roots.py)."""

from __future__ import annotations

import re
from dataclasses import dataclass

import prcoords

from support.jurisdiction_checks import Case, error_codes
from support.jurisdiction_documents import CONNECTION, MINE_BASIC, MINE_DETAIL
from support.jurisdiction_roots import Root
from support.jurisdiction_world import FIGURES
from models.errors import quoted
from support.reference import visible
from support.reference_props import NEAR_RADIUS_KM, NEAR_RESULTS, PAGE_LIMIT, filter_problems, haversine_km, keyset


MINES_PAGE = "query Page($f: MineFilter, $n: Int, $a: String) {{ mines(filter: $f, first: $n, after: $a) {{ {c} }} }}"


@dataclass
class Mines(Root):
    spec: dict | None
    first: int
    pages: int  # follow endCursor this many times more
    detail: bool
    reuse: tuple | None = None  # (edge index, another filter): that edge's cursor under the other filter

    def render(self, doc, alias):
        node = MINE_DETAIL if self.detail else MINE_BASIC
        return (f"{alias}: mines(filter: {doc.var('MineFilter', self.spec)}, first: {doc.var('Int', self.first)}) "
                f"{{ {CONNECTION.format(node=node)} }}")

    def problems(self, case):
        found = filter_problems(self.spec, case.world, case.who)
        if not 0 <= self.first <= PAGE_LIMIT:
            found.add("BAD_USER_INPUT")
        return found

    async def check(self, case, value, alias):
        ordered = keyset(case.tally(self.spec).selected)
        case.connection(value, ordered, self.first, f"{alias}[1]", self.spec, self.detail)
        node = MINE_DETAIL if self.detail else MINE_BASIC
        page, seen = value, self.first
        for number in range(2, self.pages + 2):
            if not page["pageInfo"]["hasNextPage"] or self.first == 0:
                break
            result = await case.gql(MINES_PAGE.format(c=CONNECTION.format(node=node)),
                                    {"f": self.spec, "n": self.first, "a": page["pageInfo"]["endCursor"]}, case.token)
            FIGURES["requests"] += 1
            if result.errors or result.status >= 500:
                case.fail("wrong", f"{alias} page {number}: {result.status} {result.errors}")
                return
            page = result.data["mines"]
            case.connection(page, ordered[seen:], self.first, f"{alias}[{number}]", self.spec, self.detail,
                            total=len(ordered))
            seen += self.first
        if self.reuse and value["edges"]:
            index, other = self.reuse
            edge = value["edges"][index % len(value["edges"])]
            row = case.world.mine_by_id[int(edge["node"]["id"])]
            position = (row["county_code"], row["code"])
            result = await case.gql(MINES_PAGE.format(c=CONNECTION.format(node=MINE_BASIC)),
                                    {"f": other, "n": 20, "a": edge["cursor"]}, case.token)
            FIGURES["requests"] += 1
            expected_codes = filter_problems(other, case.world, case.who)
            if expected_codes:
                case.same(f"{alias} reused cursor, refused filter", set(error_codes(result.errors)) <= expected_codes
                          and bool(result.errors), True)
                return
            if result.errors:
                case.fail("wrong", f"{alias} reused cursor under {other!r}: {result.errors}")
                return
            rest = [m for m in keyset(case.tally(other).selected) if (m["county_code"], m["code"]) > position]
            case.connection(result.data["mines"], rest, 20, f"{alias} reused cursor", other,
                            total=len(case.tally(other).selected))


@dataclass
class Mine(Root):
    id: object  # str or int, as sent
    detail: bool
    nullable = True

    def target(self, case: Case) -> dict | None:
        raw = self.id if isinstance(self.id, str) else str(self.id)
        if not re.fullmatch(r"[1-9][0-9]{0,17}", raw):
            return None
        return case.world.mine_by_id.get(int(raw))

    def render(self, doc, alias):
        return f"{alias}: mine(id: {doc.var('ID!', self.id)}) {{ {MINE_DETAIL if self.detail else MINE_BASIC} }}"

    def problems(self, case):
        row = self.target(case)
        return set() if row is not None and visible(row, case.who) else {"NOT_FOUND"}

    def check_refusal(self, case, errors, alias):
        FIGURES["not_found_checked"] += 1
        raw = self.id if isinstance(self.id, str) else str(self.id)
        for error in errors:
            case.same(f"{alias} NOT_FOUND message", error["message"],
                      f"未找到矿山 {quoted(raw)} / mine {quoted(raw)} not found")

    async def check(self, case, value, alias):
        row = case.mine(value, alias, None, self.detail)
        if row is not None:
            case.same(f"{alias}.id", row["id"], self.target(case)["id"])


@dataclass
class MinesNear(Root):
    lat: float
    lng: float
    datum: str
    radius: float
    first: int

    def render(self, doc, alias):
        return (f"{alias}: minesNear(lat: {doc.var('Float!', self.lat)}, lng: {doc.var('Float!', self.lng)}, "
                f"datum: {doc.var('Datum!', self.datum)}, radiusKm: {doc.var('Float!', self.radius)}, "
                f"first: {doc.var('Int!', self.first)}) {{ distanceKm mine {{ {MINE_BASIC} location {{ wgs84 {{ lat lng }} }} }} }}")

    def problems(self, case):
        if not (0 < self.radius <= NEAR_RADIUS_KM and 0 <= self.first <= NEAR_RESULTS):
            return {"BAD_USER_INPUT"}
        if not (18 <= self.lat <= 54 and 73 <= self.lng <= 135):
            return {"BAD_USER_INPUT"}  # far outside China (the generator only draws clear cases)
        return set()

    async def check(self, case, value, alias):
        lat, lng = self.lat, self.lng
        if self.datum == "GCJ02":
            wgs = prcoords.gcj_wgs_bored(prcoords.Coords(lat, lng))
            lat, lng = wgs.lat, wgs.lon
        tolerance = 0.02 if self.datum == "GCJ02" else 1e-6
        distances = {m["id"]: haversine_km(lat, lng, m["lat"], m["lng"])
                     for m in case.world.visible_mines(case.who) if m["lat"] is not None}
        surely = sorted((d, case.world.mine_by_id[i]["code"], i) for i, d in distances.items() if d < self.radius - tolerance)
        maybe = {i for i, d in distances.items() if d <= self.radius + tolerance}
        got = []
        for i, item in enumerate(value):
            row = case.mine(item["mine"], f"{alias}[{i}].mine")
            if row is None:
                continue
            got.append(row["id"])
            if row["id"] not in maybe:
                case.fail("wrong", f"{alias}[{i}]: mine {row['id']} lies beyond {self.radius} km")
            elif abs(item["distanceKm"] - distances[row["id"]]) > max(tolerance, 0.0011):
                case.fail("wrong", f"{alias}[{i}].distanceKm {item['distanceKm']} vs {distances[row['id']]:.4f}")
        FIGURES["counts_checked"] += 1
        if not (min(self.first, len(surely)) <= len(got) <= min(self.first, len(maybe))):
            case.fail("miscount", f"{alias}: {len(got)} mines, expected between {min(self.first, len(surely))} "
                                  f"and {min(self.first, len(maybe))}")
        keys = [item["distanceKm"] for item in value]
        case.same(f"{alias} nearest first", keys, sorted(keys))
        # Every mine surely inside and nearer than the farthest one answered must be there.
        if got:
            farthest = max(distances.get(i, 0) for i in got)
            nearer = {i for d, _c, i in surely if d < farthest - max(tolerance, 1e-6)}
            missing = nearer - set(got)
            if missing:
                case.fail("miscount", f"{alias}: nearer mines missing: {sorted(missing)[:5]}")
