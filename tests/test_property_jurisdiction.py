"""Jurisdiction, proven: property-based tests of every read path against an independent recount.

Hypothesis draws a caller (any tier; regions with mines and without; enterprise accounts) and a
document of one to three root fields over every path — dashboard, region(code) with
children/stats/completeness/mines at random depths, mines(filter, first, after) followed page by
page (and a cursor reused under another filter), mine(id), mineralTypes{stats(regionCode,
filter)}, minesNear, me, guarantorSuggestions — with random MineFilters (every field, codes inside
and outside the scope, unknown codes, min > max, over-long names), passed as variables or, in half
the documents, written into the document as literals (as GraphiQL users do). Every answer is
compared with tests/reference.py + tests/reference_props.py, computed from the database in plain
Python:

- every returned mine is visible to the caller and matches the filter; every returned region is
  inside the jurisdiction (a returned object outside it is a *leak*);
- every count (MineStats, Completeness, totalCount, page contents) equals the recount (a
  difference is a *miscount*);
- refused values get exactly the expected codes, and regions or mines outside the scope answer
  NOT_FOUND with the same message as ones that do not exist.

A second property sends arbitrary valid queries generated from schema.graphql by hypothesis-graphql
and checks what holds for any query: no mine or region outside the scope anywhere in the answer,
no count above the caller's total, every error coded, no INTERNAL, never a 5xx.

Settings (environment):
- PROPERTY_CASES: examples of the precise property (default 2000; `make soak` sets 20000);
- PROPERTY_GENERIC_CASES: examples of the hypothesis-graphql property (default PROPERTY_CASES / 4);
- PROPERTY_SEED: picks the pool of logged-in callers (default fixed; the pool grows with
  PROPERTY_CASES, one API login per account, cached);
- PROPERTY_REPORT: a JSON file to merge this module's figures into (cases, checks, leaks, miscounts);
- PROPERTY_SHRINK: 1 shrinks a failing example (the default, except under CI=true, where the first
  failing example is reported as found: shrinking can take Hypothesis five minutes).
The database is the shared `env` (conftest: 2,500 demo mines, seed 7); Hypothesis varies the rest,
and prints the caller, document and variables of any failure (with a reproduce blob). The pool's
accounts log in through the API once each, up front, each from an in-process client address of its
own (logins are throttled per address).
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import re
import time
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path

import httpx
import prcoords
import pytest
from graphql import (
    FieldNode, GraphQLObjectType, InlineFragmentNode, NameNode, SelectionSetNode, build_schema, parse, print_ast,
)
from graphql.type import get_named_type
from hypothesis import given, note, settings
from hypothesis import strategies as st

import sqldb
from property_settings import property_profile
from models.errors import quoted
from queries import LOGIN
from reference import as_comparable, visible
from reference_props import (
    CONTRACT_CODES, GUARANTOR_LEVELS, NATION, NEAR_RADIUS_KM, NEAR_RESULTS, PAGE_LIMIT, Tally, World, Who,
    as_utc, expected_parent, filter_problems, haversine_km, keyset, load_world, matches_all,
    region_code_visible, region_visible, visible_children,
)

pytestmark = pytest.mark.property

CASES = int(os.environ.get("PROPERTY_CASES") or 2000)
GENERIC_CASES = int(os.environ.get("PROPERTY_GENERIC_CASES") or max(50, CASES // 4))
POOL_SEED = int(os.environ.get("PROPERTY_SEED") or 20220430)
POOL_SCALE = max(1, CASES // 2000)
REPORT = os.environ.get("PROPERTY_REPORT")
SCHEMA_SDL = (Path(__file__).resolve().parent.parent / "schema.graphql").read_text(encoding="utf-8")

PROPERTY = property_profile("minegraph-property", CASES)
GENERIC = settings(PROPERTY, max_examples=GENERIC_CASES)

FIGURES: Counter = Counter()
FAILURES: list[dict] = []
TIERS = ("NATIONAL", "PROVINCE", "CITY", "COUNTY", "ENTERPRISE")
STATS = "total large medium small over30Workers over800mDepth byCategory { mineral { code } count }"
COMPLETENESS = ("total withLocation cityLevelApplicable withProvinceGuarantor withCityGuarantor "
                "withCountyGuarantor withEnterpriseGuarantor withAllGuarantors complete")
MINE_BASIC = "id code name region { code parent { code } } mineral { code } version"
MINE_DETAIL = (MINE_BASIC + " scale designCapacity capacityUnit developmentMethod maxDepth workersPerShift"
               " productionStatus supervisoryBody updatedAt location { wgs84 { lat lng } sourceDatum }"
               " guarantors { level }")
CONNECTION = "totalCount edges {{ cursor node {{ {node} }} }} pageInfo {{ hasNextPage endCursor }}"
BOGUS_REGIONS = ["999999", "", "abc", "11010", "1101011", "11010x", " 110101", "110101 ", "000000-001", "１１００００"]
BOGUS_MINERALS = ["99", "", "1001x", "10 ", "999999", "金"]
BOGUS_MINE_IDS = ["abc", "1.5", "-3", "", "1e3", " 12", "１２", "12 ", "0x10", "99999999999999999999999"]


# --------------------------------------------------------------------------- the world and its callers


@dataclass
class Setup:
    world: World
    pool: list[str]
    inside: dict[str, list[str]]  # username -> region codes inside its scope
    outside_near: dict[str, list[str]]  # username -> regions just outside (parent, siblings, nation)
    names: list[str]
    values: dict[str, list]  # column -> sorted distinct values (for range bounds)
    located: list[dict]
    tokens: dict[str, str] = field(default_factory=dict)
    env: object = None  # conftest's shared Env (kept out of the fixtures Hypothesis prints)

    def __repr__(self) -> str:  # Hypothesis prints the fixtures of a failing example
        return f"Setup(pool of {len(self.pool)} callers, seed {POOL_SEED}, {len(self.world.mines)} mines)"

    def _repr_pretty_(self, printer, cycle) -> None:  # Hypothesis's printer lists a dataclass's fields
        printer.text(repr(self))


def _pool(world: World) -> list[str]:
    """Callers of every tier: regions with mines and without, and enterprise accounts."""
    rng = random.Random(POOL_SEED)
    with_mines = {m[c] for m in world.mines for c in ("province_code", "city_code", "county_code")} | {NATION}
    by_tier: dict[str, tuple[list[str], list[str]]] = {t: ([], []) for t in TIERS}
    for username in sorted(world.accounts):
        account = world.accounts[username]
        region = account["region_code"] or NATION
        by_tier[account["tier"]][0 if account["tier"] == "ENTERPRISE" or region in with_mines else 1].append(username)
    plan = {"NATIONAL": (2, 0), "PROVINCE": (8, 0), "CITY": (10, 3), "COUNTY": (10, 4), "ENTERPRISE": (10, 0)}
    pool = []
    for tier, (n_with, n_without) in plan.items():
        with_, without = by_tier[tier]
        pool += rng.sample(with_, min(len(with_), n_with * POOL_SCALE))
        pool += rng.sample(without, min(len(without), n_without * POOL_SCALE))
    # The guarantor roles (-001 accounts) at every level, so that suggestions are answered too.
    for tier in ("PROVINCE", "CITY", "COUNTY"):
        pool.append(rng.choice([u for u in by_tier[tier][0] if u.endswith("-001")]))
    return sorted(set(pool))


def _setup(db) -> Setup:
    world = load_world(db)
    pool = _pool(world)
    inside, outside_near = {}, {}
    for username in pool:
        who = world.who(username)
        inside[username] = [c for c, r in sorted(world.regions.items()) if region_visible(r, who)]
        near = {NATION}
        root = world.regions[who.region_code]
        if root["parent_code"]:
            near.add(root["parent_code"])
            near.update(world.region_children.get(root["parent_code"], []))
        for child in world.region_children.get(who.region_code, [])[:3]:
            near.add(child)
        outside_near[username] = sorted(c for c in near if not region_visible(world.regions[c], who))
    values = {c: sorted({m[c] for m in world.mines}) for c in ("design_capacity", "max_depth", "workers_per_shift")}
    return Setup(world, pool, inside, outside_near, [m["name"] for m in world.mines], values, _centres(world))


def _centres(world: World) -> list[dict]:
    """Located mines to centre minesNear on. The demo seed stores some locations outside China,
    which minesNear rightly refuses, so the service's own China test picks the centres: it
    chooses inputs only, never an expected answer."""
    from models.errors import BadUserInput
    from models.geo import check_in_china

    centres = []
    for mine in world.mines:
        if mine["lat"] is None:
            continue
        try:
            check_in_china(mine["lat"], mine["lng"])
        except BadUserInput:
            FIGURES["seeded locations outside China"] += 1
            continue
        centres.append(mine)
    return centres


@pytest.fixture(scope="module")
async def setup(env):
    """The world read from the shared database, and every pool account logged in up front (so an
    example never depends on a login's outcome)."""
    started = time.monotonic()
    s = _setup(env.db)
    s.env = env
    for i in range(0, len(s.pool), 2):  # two at a time: argon2 is two cores' worth
        batch = s.pool[i:i + 2]
        tokens = await asyncio.gather(*(login(env, u, n) for n, u in enumerate(batch, start=i)))
        s.tokens.update(zip(batch, tokens))
    FIGURES["logins"] = len(s.tokens)
    FIGURES["login seconds"] = round(time.monotonic() - started, 1)
    yield s
    FIGURES["seconds"] += round(time.monotonic() - started, 1)


async def login(env, username: str, n: int) -> str:
    """A token for the account, by the API's login, sent from an address of its own.

    The shared `env` app throttles logins per client address (auth/throttle.py); logging a
    pool of accounts in from the suite's one address would spend the budget the other
    modules' logins need. The address is only the ASGI scope's `client` of an in-process
    request: nothing is sent anywhere."""
    if username in env.tokens:
        return env.tokens[username]
    address = (f"198.51.100.{n % 250 + 1}" if n < 250 else f"203.0.113.{n % 250 + 1}"), 40000 + n
    transport = httpx.ASGITransport(app=env.app, client=address)
    async with httpx.AsyncClient(transport=transport, base_url="http://minegraph.test") as client:
        for _attempt in range(10):
            response = await client.post("/graphql", json={"query": LOGIN, "variables": {
                "u": username, "p": env.settings.demo_password}})
            body = response.json()
            errors = body.get("errors") or []
            if errors and errors[0].get("extensions", {}).get("code") == "RATE_LIMITED":
                await asyncio.sleep(float(errors[0]["extensions"].get("retryAfterSeconds", 1)))
                continue
            assert not errors, f"login {username}: {errors}"
            env.tokens[username] = body["data"]["login"]["token"]
            return env.tokens[username]
    raise AssertionError(f"login {username}: still RATE_LIMITED after 10 tries")


@pytest.fixture(scope="module", autouse=True)
def report():
    yield
    if REPORT:
        _merge_report(REPORT, "jurisdiction", {
            "backend": sqldb.BACKEND, "cases_configured": CASES, "generic_cases_configured": GENERIC_CASES,
            "pool_seed": POOL_SEED, "leaks": 0, "miscounts": 0, "wrong": 0, "server exceptions": 0,
            **dict(sorted(FIGURES.items())), "failures": FAILURES[:20],
        })


def _merge_report(path: str, section: str, figures: dict) -> None:
    target = Path(path)
    current = json.loads(target.read_text()) if target.exists() and target.stat().st_size else {}
    current.setdefault(sqldb.BACKEND, {})[section] = figures
    target.write_text(json.dumps(current, indent=2, ensure_ascii=False, default=str) + "\n")


# --------------------------------------------------------------------------- value strategies

_STRATEGIES: dict = {}


def cached(function):
    """Build a strategy once per (function, arguments): sampled_from over thousands of codes is not free."""
    def wrapper(*args):
        key = (function.__name__, *(id(a) if isinstance(a, Setup) else a for a in args))
        if key not in _STRATEGIES:
            _STRATEGIES[key] = function(*args)
        return _STRATEGIES[key]
    return wrapper


@cached
def callers(s: Setup) -> st.SearchStrategy:
    """A tier first (each equally likely), then one of the pool's accounts of that tier."""
    by_tier = {t: [u for u in s.pool if s.world.accounts[u]["tier"] == t] for t in TIERS}
    return st.sampled_from(TIERS).flatmap(lambda tier: st.sampled_from(by_tier[tier]))



@cached
def region_code_values(s: Setup, username: str) -> st.SearchStrategy:
    options = [st.sampled_from(s.inside[username]), st.sampled_from(s.inside[username]),
               st.sampled_from(sorted(s.world.regions)), st.sampled_from(BOGUS_REGIONS)]
    if s.outside_near[username]:
        options.append(st.sampled_from(s.outside_near[username]))
    return st.one_of(options)


@cached
def name_values(s: Setup) -> st.SearchStrategy:
    @st.composite
    def substring(draw):
        name = draw(st.sampled_from(s.names))
        start = draw(st.integers(0, len(name) - 1))
        end = draw(st.integers(start + 1, min(len(name), start + 4)))
        pad = draw(st.sampled_from(["", " ", "  ", "\u3000"]))  # \u3000: the full-width space
        return pad + name[start:end] + draw(st.sampled_from(["", " ", pad]))

    return st.one_of(
        substring(), substring(),
        st.sampled_from(["", "   ", "%", "_", "金%", "%金", "矿_", "\\", "'", "金矿", "有限公司"]),
        st.text(alphabet=st.sampled_from("金铁铜矿山有限公司银铅锌 aZ%_"), max_size=6),
        st.integers(95, 106).map(lambda n: "矿" * n),  # the 100-character limit, after trimming
        st.integers(95, 106).map(lambda n: "  " + "a" * n + "  "),
    )


def float_bound(s: Setup, column: str, low: float, high: float) -> st.SearchStrategy:
    return st.one_of(st.sampled_from(s.values[column]), st.floats(low, high, allow_nan=False),
                     st.integers(int(low), int(high)))


def range_pair(s: Setup, column: str, low: float, high: float, integer: bool = False):
    bound = st.integers(int(low), int(high)) | st.sampled_from(s.values[column]) if integer else float_bound(s, column, low, high)

    @st.composite
    def pair(draw):
        kind = draw(st.sampled_from(["min", "max", "both", "both", "inverted"]))
        a = draw(bound)
        if kind == "min":
            return a, None
        if kind == "max":
            return None, a
        b = draw(bound)
        lo, hi = min(a, b), max(a, b)
        return (hi, lo) if kind == "inverted" else (lo, hi)

    return pair()


def enum_list(values) -> st.SearchStrategy:
    return st.lists(st.sampled_from(values), max_size=len(values), unique=True)


RANGES = {"designCapacity": ("design_capacity", -5, 320, False), "depth": ("max_depth", -10, 1600, False),
          "workersPerShift": ("workers_per_shift", -5, 420, True)}
ENUMS = {
    "scales": ["LARGE", "MEDIUM", "SMALL"],
    "productionStatuses": ["NORMAL", "TRIAL", "CONSTRUCTION", "RECTIFICATION", "SUSPENDED", "LONG_SUSPENDED", "CLOSED"],
    "developmentMethods": ["ADIT", "INCLINE", "SHAFT", "RAMP", "COMBINED"],
    "supervisoryBodies": ["PROVINCE", "CITY", "COUNTY", "XPCC"],
}
FILTER_KEYS = ["regionCode", "nameContains", "mineralCodes", *ENUMS, *RANGES, "over30Workers", "over800mDepth",
               "missingLocation", "missingGuarantorLevel"]


@cached
def mine_filters(s: Setup, username: str) -> st.SearchStrategy:
    mineral_codes = sorted(s.world.minerals)

    @st.composite
    def build(draw):
        if draw(st.integers(0, 7)) == 0:
            return None
        size = draw(st.sampled_from([0, 1, 1, 2, 2, 3, 4]))
        keys = draw(st.lists(st.sampled_from(FILTER_KEYS), min_size=size, max_size=size, unique=True))
        spec: dict = {}
        for key in keys:
            if key == "regionCode":
                spec[key] = draw(region_code_values(s, username))
            elif key == "nameContains":
                spec[key] = draw(name_values(s))
            elif key == "mineralCodes":
                spec[key] = draw(st.lists(st.sampled_from(mineral_codes) | st.sampled_from(BOGUS_MINERALS)
                                          if draw(st.integers(0, 5)) == 0 else st.sampled_from(mineral_codes),
                                          max_size=3))
            elif key in ENUMS:
                spec[key] = draw(enum_list(ENUMS[key]))
            elif key in RANGES:
                column, low, high, integer = RANGES[key]
                lo, hi = draw(range_pair(s, column, low, high, integer))
                if lo is not None:
                    spec[f"{key}Min"] = lo
                if hi is not None:
                    spec[f"{key}Max"] = hi
            elif key == "missingGuarantorLevel":
                spec[key] = draw(st.sampled_from(GUARANTOR_LEVELS) | st.none())
            else:
                spec[key] = draw(st.booleans() | st.none())
        return spec

    return build()


def page_sizes() -> st.SearchStrategy:
    return st.one_of(st.sampled_from([0, 1, 2, 5, 20, 100]), st.integers(0, PAGE_LIMIT),
                     st.sampled_from([-1, -100, 101, 150, 1000]))


# --------------------------------------------------------------------------- documents


FILTER_FIELD_TYPES = {
    "regionCode": "String", "nameContains": "String", "mineralCodes": "[String]",
    **{key: "[enum]" for key in ENUMS}, "missingGuarantorLevel": "enum",
    "designCapacityMin": "Float", "designCapacityMax": "Float", "depthMin": "Float", "depthMax": "Float",
    "workersPerShiftMin": "Int", "workersPerShiftMax": "Int",
    "over30Workers": "Boolean", "over800mDepth": "Boolean", "missingLocation": "Boolean",
}
ENUM_TYPES = {"Datum", "GuarantorLevel", "enum"}


def literal(graphql_type: str, value) -> str:
    """A value written into the document, as GraphiQL users and hand-written clients do."""
    if value is None:
        return "null"
    if graphql_type == "MineFilter":
        return "{" + ", ".join(f"{k}: {literal(FILTER_FIELD_TYPES[k], v)}" for k, v in value.items()) + "}"
    if graphql_type.startswith("["):
        return "[" + ", ".join(literal(graphql_type[1:-1], v) for v in value) + "]"
    if graphql_type in ENUM_TYPES:
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return json.dumps(value, ensure_ascii=False)  # JSON's string escapes are GraphQL's


class Doc:
    """A query document under construction: root fields with aliases, and their arguments as typed
    variables or, for a document drawn with `literals`, written into the document itself."""

    def __init__(self, literals: bool = False) -> None:
        self.literals = literals
        self.declared: list[str] = []
        self.variables: dict = {}

    def var(self, graphql_type: str, value) -> str:
        if self.literals:
            return literal(graphql_type.rstrip("!"), value)
        name = f"v{len(self.declared)}"
        self.declared.append(f"${name}: {graphql_type}")
        self.variables[name] = value
        return "$" + name

    def text(self, roots: list[str]) -> str:
        head = f"query Property({', '.join(self.declared)})" if self.declared else "query Property"
        return head + " {\n  " + "\n  ".join(roots) + "\n}"


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
            self.same(f"{what}.updatedAt", as_utc(node["updatedAt"]), row["updated_at"])
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


# --------------------------------------------------------------------------- root fields


class Root:
    nullable = False  # a non-null root field's error nulls the whole `data`

    def render(self, doc: Doc, alias: str) -> str:
        raise NotImplementedError

    def problems(self, case: Case) -> set[str]:
        """Codes the field must be refused with; empty: it must answer."""
        return set()

    async def check(self, case: Case, value, alias: str) -> None:
        raise NotImplementedError

    def check_refusal(self, case: Case, errors: list[dict], alias: str) -> None:
        """Extra checks of the errors of a refused field (messages)."""


@dataclass
class Dashboard(Root):
    def render(self, doc, alias):
        return (f"{alias}: dashboard {{ updatedAt region {{ code level parent {{ code }} }} stats {{ {STATS} }} "
                f"completeness {{ {COMPLETENESS} }} }}")

    async def check(self, case, value, alias):
        mines = case.tally(None).selected
        case.same(f"{alias}.region", value["region"]["code"], case.who.region_code)
        case.region(value["region"], f"{alias}.region")
        case.same(f"{alias}.region.parent", value["region"]["parent"], None)
        case.stats(value["stats"], mines, f"{alias}.stats")
        case.completeness(value["completeness"], mines, f"{alias}.completeness")
        if mines:
            case.same(f"{alias}.updatedAt", as_utc(value["updatedAt"]), max(m["updated_at"] for m in mines))
        else:
            as_utc(value["updatedAt"])


@dataclass
class RegionLevelSelection:
    stats: tuple | None = None  # (filter,) when selected
    completeness: tuple | None = None
    mines: tuple | None = None  # (filter, first)


@dataclass
class Region(Root):
    code: str | None
    levels: list[RegionLevelSelection]  # levels[0] for the region, [1] its children, ...
    nullable = True

    def render(self, doc, alias):
        code = doc.var("String", self.code)

        def body(depth: int) -> str:
            sel = self.levels[depth]
            parts = ["code name level parent { code }"]
            if sel.stats:
                parts.append(f"stats(filter: {doc.var('MineFilter', sel.stats[0])}) {{ {STATS} }}")
            if sel.completeness:
                parts.append(f"completeness(filter: {doc.var('MineFilter', sel.completeness[0])}) {{ {COMPLETENESS} }}")
            if sel.mines:
                f, n = doc.var("MineFilter", sel.mines[0]), doc.var("Int", sel.mines[1])
                parts.append(f"mines(filter: {f}, first: {n}) {{ {CONNECTION.format(node=MINE_BASIC)} }}")
            if depth + 1 < len(self.levels):
                parts.append(f"children {{ {body(depth + 1)} }}")
            return " ".join(parts)

        return f"{alias}: region(code: {code}) {{ {body(0)} }}"

    def _nodes(self, case: Case):
        """(depth, code) of every region node the answer holds."""
        root = case.who.region_code if self.code is None else self.code
        frontier = [root]
        for depth in range(len(self.levels)):
            for code in frontier:
                yield depth, code
            frontier = [c for code in frontier for c in visible_children(case.world, code, case.who)]

    def problems(self, case):
        if self.code is not None and not region_code_visible(case.world, self.code, case.who):
            return {"NOT_FOUND"}
        found = set()
        for depth, _code in self._nodes(case):
            sel = self.levels[depth]
            for chosen in (sel.stats, sel.completeness, sel.mines):
                if chosen:
                    found |= filter_problems(chosen[0], case.world, case.who)
            if sel.mines and not 0 <= sel.mines[1] <= PAGE_LIMIT:
                found.add("BAD_USER_INPUT")
        return found

    def check_refusal(self, case, errors, alias):
        if self.code is not None and not region_code_visible(case.world, self.code, case.who):
            FIGURES["not_found_checked"] += 1
            for error in errors:
                case.same(f"{alias} NOT_FOUND message", error["message"], f"region {quoted(self.code)} not found")

    async def check(self, case, value, alias):
        root = case.who.region_code if self.code is None else self.code
        await self._check_node(case, value, root, 0, alias)

    async def _check_node(self, case, value, code, depth, what):
        case.same(f"{what}.code", value["code"], code)
        case.region(value, what)
        region = case.world.regions[code]
        case.same(f"{what}.name", value["name"], region["name"])
        case.same(f"{what}.level", value["level"], region["level"])
        parent = value["parent"]
        case.same(f"{what}.parent", parent and parent["code"], expected_parent(case.world, code, case.who))
        if parent:
            case.region(parent, f"{what}.parent")
        sel = self.levels[depth]
        if sel.stats:
            case.stats(value["stats"], case.tally(sel.stats[0]).in_region(code), f"{what}.stats")
        if sel.completeness:
            case.completeness(value["completeness"], case.tally(sel.completeness[0]).in_region(code),
                              f"{what}.completeness")
        if sel.mines:
            spec, first = sel.mines
            case.connection(value["mines"], keyset(case.tally(spec).in_region(code)), first, f"{what}.mines", spec)
        if depth + 1 < len(self.levels):
            expected = visible_children(case.world, code, case.who)
            children = value["children"]
            for child in children:
                case.region(child, f"{what}.children")
            case.count(f"{what}.children", sorted(c["code"] for c in children), sorted(expected))
            for child in children:
                if child["code"] in expected:
                    await self._check_node(case, child, child["code"], depth + 1, f"{what}/{child['code']}")


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
                case.same(f"{alias} reused cursor, refused filter", set(_codes(result.errors)) <= expected_codes
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
            case.same(f"{alias} NOT_FOUND message", error["message"], f"mine {quoted(raw)} not found")

    async def check(self, case, value, alias):
        row = case.mine(value, alias, None, self.detail)
        if row is not None:
            case.same(f"{alias}.id", row["id"], self.target(case)["id"])


@dataclass
class MineralTypes(Root):
    parent: str | None
    levels: list[tuple | None]  # per depth: (regionCode, filter) when stats are selected

    def render(self, doc, alias):
        parent = doc.var("String", self.parent)

        def body(depth):
            parts = ["code level parent { code }"]
            if self.levels[depth]:
                region, spec = self.levels[depth]
                parts.append(f"stats(regionCode: {doc.var('String', region)}, filter: {doc.var('MineFilter', spec)}) "
                             f"{{ {STATS} }}")
            if depth + 1 < len(self.levels):
                parts.append(f"children {{ {body(depth + 1)} }}")
            return " ".join(parts)

        return f"{alias}: mineralTypes(parentCode: {parent}) {{ {body(0)} }}"

    def _top(self, case) -> list[str]:
        return case.world.categories if self.parent is None else case.world.mineral_children.get(self.parent, [])

    def problems(self, case):
        if self.parent is not None and self.parent not in case.world.minerals:
            return {"NOT_FOUND"}
        found, frontier = set(), self._top(case)
        for depth, chosen in enumerate(self.levels):
            if chosen and frontier:
                region, spec = chosen
                if region is not None and not region_code_visible(case.world, region, case.who):
                    found.add("NOT_FOUND")
                found |= filter_problems(spec, case.world, case.who)
            frontier = [c for code in frontier for c in case.world.mineral_children.get(code, [])]
        return found

    async def check(self, case, value, alias):
        case.count(f"{alias} codes", sorted(v["code"] for v in value), sorted(self._top(case)))
        for node in value:
            self._check_node(case, node, 0, f"{alias}/{node['code']}")

    def _check_node(self, case, node, depth, what):
        row = case.world.minerals.get(node["code"])
        if row is None:
            case.fail("wrong", f"{what}: unknown mineral type")
            return
        case.same(f"{what}.level", node["level"], row["level"])
        case.same(f"{what}.parent", node["parent"] and node["parent"]["code"], row["parent_code"])
        if self.levels[depth]:
            region, spec = self.levels[depth]
            case.stats(node["stats"], case.tally(spec).in_mineral(node["code"], region), f"{what}.stats")
        if depth + 1 < len(self.levels):
            children = node["children"]
            case.count(f"{what}.children", sorted(c["code"] for c in children),
                       sorted(case.world.mineral_children.get(node["code"], [])))
            for child in children:
                self._check_node(case, child, depth + 1, f"{what}/{child['code']}")


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


@dataclass
class Me(Root):
    def render(self, doc, alias):
        return (f"{alias}: me {{ username tier guarantorLevel region {{ code parent {{ code }} children {{ code }} }} "
                f"mine {{ id code }} }}")

    async def check(self, case, value, alias):
        who = case.who
        case.same(f"{alias}.username", value["username"], who.username)
        case.same(f"{alias}.tier", value["tier"], who.tier)
        case.same(f"{alias}.guarantorLevel", value["guarantorLevel"], who.guarantor_level)
        case.same(f"{alias}.region.code", value["region"]["code"], who.region_code)
        case.region(value["region"], f"{alias}.region")
        case.same(f"{alias}.region.parent", value["region"]["parent"], None)
        for child in value["region"]["children"]:
            case.region(child, f"{alias}.region.children")
        case.count(f"{alias}.region.children", sorted(c["code"] for c in value["region"]["children"]),
                   visible_children(case.world, who.region_code, who))
        if who.tier == "ENTERPRISE":
            case.mine(value["mine"], f"{alias}.mine")
            case.same(f"{alias}.mine.id", value["mine"]["id"], str(who.mine_id))
        else:
            case.same(f"{alias}.mine", value["mine"], None)


@dataclass
class Suggestions(Root):
    level: str

    def render(self, doc, alias):
        return f"{alias}: guarantorSuggestions(level: {doc.var('GuarantorLevel!', self.level)}) {{ name position phone }}"

    def problems(self, case):
        return set() if case.who.guarantor_level == self.level else {"FORBIDDEN"}

    async def check(self, case, value, alias):
        case.same(f"{alias} is a list", isinstance(value, list), True)


# --------------------------------------------------------------------------- drawing a case


def draw_root(data, s: Setup, username: str, who: Who) -> Root:
    kind = data.draw(st.sampled_from(["dashboard", "region", "region", "region", "mines", "mines", "mines", "mine",
                                      "mineralTypes", "mineralTypes", "minesNear", "me", "suggestions"]), label="kind")
    filters = mine_filters(s, username)
    if kind == "dashboard":
        return Dashboard()
    if kind == "region":
        code = data.draw(st.none() | region_code_values(s, username), label="region code")
        depth = data.draw(st.integers(0, 2), label="children depth")
        levels = []
        for d in range(depth + 1):
            levels.append(RegionLevelSelection(
                stats=(data.draw(filters),) if data.draw(st.booleans()) else None,
                completeness=(data.draw(filters),) if data.draw(st.integers(0, 3)) == 0 else None,
                mines=(data.draw(filters), data.draw(page_sizes() if d == 0 else st.integers(0, 3)))
                if d < 2 and data.draw(st.integers(0, 3)) == 0 else None,
            ))
        return Region(code, levels)
    if kind == "mines":
        reuse = (data.draw(st.integers(0, 99)), data.draw(filters)) if data.draw(st.integers(0, 3)) == 0 else None
        return Mines(data.draw(filters, label="filter"), data.draw(page_sizes(), label="first"),
                     data.draw(st.integers(0, 2), label="more pages"), data.draw(st.booleans()), reuse)
    if kind == "mine":
        ids = [m["id"] for m in s.world.visible_mines(who)]
        top = max(s.world.mine_by_id)
        options = [st.integers(1, top), st.integers(top + 1, top + 10**6), st.integers(-5, 0),
                   st.sampled_from(BOGUS_MINE_IDS)]
        if ids:
            options += [st.sampled_from(ids)] * 2
        value = data.draw(st.one_of(options), label="mine id")
        as_text = data.draw(st.booleans()) or not isinstance(value, int)
        return Mine(str(value) if as_text else value, data.draw(st.booleans()))
    if kind == "mineralTypes":
        parent = data.draw(st.none() | st.none() | st.sampled_from(sorted(s.world.minerals))
                           | st.sampled_from(BOGUS_MINERALS), label="parentCode")
        depth = data.draw(st.integers(0, 2))
        levels = [(data.draw(st.none() | region_code_values(s, username)), data.draw(filters))
                  if data.draw(st.booleans()) else None for _ in range(depth + 1)]
        return MineralTypes(parent, levels)
    if kind == "minesNear":
        place = data.draw(st.integers(0, 9))
        if place == 0:
            lat, lng = data.draw(st.sampled_from([(48.85, 2.35), (-33.87, 151.21), (0.0, 0.0), (40.7, -74.0)]))
        else:
            mine = data.draw(st.sampled_from(s.located))
            lat, lng = mine["lat"], mine["lng"]
        datum = data.draw(st.sampled_from(["WGS84", "GCJ02"]))
        if datum == "GCJ02" and place:
            gcj = prcoords.wgs_gcj(prcoords.Coords(lat, lng))
            lat, lng = gcj.lat, gcj.lon
        radius = data.draw(st.one_of(st.sampled_from([0.5, 5.0, 50.0, 300.0]), st.floats(0.001, 300.0),
                                     st.sampled_from([0.0, -1.0, 300.5, 5000.0])), label="radiusKm")
        first = data.draw(st.one_of(st.integers(0, NEAR_RESULTS), st.sampled_from([-1, 101])), label="first")
        return MinesNear(lat, lng, datum, radius, first)
    if kind == "me":
        return Me()
    return Suggestions(data.draw(st.sampled_from(GUARANTOR_LEVELS)))


def _codes(errors) -> list:
    return [(e.get("extensions") or {}).get("code") for e in errors or []]


async def _caller(env, s: Setup, username: str) -> str:
    return s.tokens[username]


async def _send(gql, query: str, variables: dict | None, token: str, username: str):
    """One request; an exception escaping the app (a 500 from a real server) fails the case with the request."""
    try:
        return await gql(query, variables, token)
    except BaseException as error:  # CancelledError is a BaseException
        FIGURES["server exceptions"] += 1
        if len(FAILURES) < 20:
            FAILURES.append({"caller": username, "query": query, "variables": variables, "exception": repr(error)})
        raise AssertionError(f"the app raised {error!r} (a real server answers 500) for caller {username}:\n"
                             f"{query}\nvariables {json.dumps(variables, ensure_ascii=False)}") from error


def _record_failure(case: Case, query: str, variables: dict, status: int, errors) -> None:
    kinds = Counter(kind for kind, _ in case.problems)
    FIGURES["leaks"] += kinds["leak"]
    FIGURES["miscounts"] += kinds["miscount"]
    FIGURES["wrong"] += kinds["wrong"]
    if len(FAILURES) < 20:
        FAILURES.append({"caller": case.who.username, "query": query, "variables": variables, "status": status,
                         "errors": errors, "problems": case.problems[:10]})


@PROPERTY
@given(data=st.data())
async def test_every_answer_equals_the_reference(setup, data):
    s, env = setup, setup.env
    username = data.draw(callers(s), label="caller")
    who = s.world.who(username)
    token = await _caller(env, s, username)
    roots = [draw_root(data, s, username, who) for _ in range(data.draw(st.integers(1, 3), label="roots"))]
    doc = Doc(literals=data.draw(st.booleans(), label="literal arguments"))
    aliases = [f"r{i}" for i in range(len(roots))]
    query = doc.text([root.render(doc, alias) for root, alias in zip(roots, aliases)])
    note(f"caller {username} ({who.tier} {who.region_code} mine {who.mine_id})\n{query}\n"
         f"variables {json.dumps(doc.variables, ensure_ascii=False)}")
    started = time.monotonic()
    result = await _send(env.gql, query, doc.variables, token, username)
    FIGURES["server seconds"] += time.monotonic() - started
    FIGURES["requests"] += 1
    FIGURES["cases"] += 1
    FIGURES[f"tier {who.tier}"] += 1
    case = Case(s, who, env.gql, token)
    expected = {alias: root.problems(case) for root, alias in zip(roots, aliases)}
    _check_answer(case, roots, aliases, expected, result)
    if not case.problems and result.data is not None:
        for root, alias in zip(roots, aliases):
            FIGURES[f"path {type(root).__name__}"] += 1
            if not expected[alias]:
                await root.check(case, result.data[alias], alias)
    FIGURES["server+check seconds"] += time.monotonic() - started
    FIGURES[f"seconds {type(roots[0]).__name__}"] += time.monotonic() - started
    if case.problems:
        _record_failure(case, query, doc.variables, result.status, result.errors)
    assert not case.problems, "\n".join(f"{kind}: {message}" for kind, message in case.problems[:15])


def _check_answer(case: Case, roots: list[Root], aliases: list[str], expected: dict, result) -> None:
    """Status, error codes, and which roots are null, against the expected refusals."""
    if result.status >= 500:
        case.fail("wrong", f"HTTP {result.status}")
        return
    errors = result.errors or []
    FIGURES["errors_checked"] += len(errors)
    for error in errors:
        code = (error.get("extensions") or {}).get("code")
        if code not in CONTRACT_CODES or code == "INTERNAL":
            case.fail("wrong", f"error code {code!r}: {error}")
    pathless = [e for e in errors if (e.get("path") or [None])[0] not in aliases]
    if pathless:
        union = set().union(*expected.values())
        if result.data is None and union and set(_codes(pathless)) <= union:
            FIGURES["refusals_checked"] += 1  # refused as a whole, before execution, for a predicted reason
        else:
            case.fail("wrong", f"errors outside any root field: {pathless}")
        return
    by_alias: dict[str, list[dict]] = {}
    for error in errors:
        by_alias.setdefault(error["path"][0], []).append(error)
    whole_null = any(expected[a] and not r.nullable for r, a in zip(roots, aliases))
    if whole_null:
        if result.data is not None:
            case.fail("wrong", f"data should be null (a non-null root field was refused), got {result.data!r:.300}")
    elif result.data is None:
        case.fail("wrong", f"data is null; errors {errors}")
        return
    for root, alias in zip(roots, aliases):
        mine = by_alias.get(alias, [])
        if expected[alias]:
            FIGURES["refusals_checked"] += 1
            got = {(e.get("extensions") or {}).get("code") for e in mine}
            if not whole_null and not mine:
                case.fail("leak" if "NOT_FOUND" in expected[alias] else "wrong",
                          f"{alias} ({type(root).__name__}) answered instead of {sorted(expected[alias])}")
            elif not got <= expected[alias]:
                case.fail("wrong", f"{alias}: codes {sorted(got)}, expected {sorted(expected[alias])}: {mine}")
            if not whole_null and result.data is not None and result.data.get(alias) is not None:
                case.fail("leak" if "NOT_FOUND" in expected[alias] else "wrong", f"{alias} should be null")
            if mine:
                root.check_refusal(case, mine, alias)
        elif mine:
            case.fail("wrong", f"{alias} ({type(root).__name__}) refused unexpectedly: {mine}")


# --------------------------------------------------------------------------- any valid query (hypothesis-graphql)

GRAPHQL_SCHEMA = build_schema(SCHEMA_SDL)


def _augment(selection_set: SelectionSetNode, parent: GraphQLObjectType) -> SelectionSetNode:
    """The selection with every Mine naming its `id` and every Region and MineralType its `code`,
    so that the walk can place each object (graphql-core's AST nodes are immutable: rebuilt)."""
    selections = []
    for node in selection_set.selections:
        if isinstance(node, FieldNode) and node.selection_set is not None:
            definition = parent.fields.get(node.name.value)
            named = get_named_type(definition.type) if definition is not None else None
            if isinstance(named, GraphQLObjectType):
                node = replace(node, selection_set=_augment(node.selection_set, named))
        elif isinstance(node, InlineFragmentNode):
            node = replace(node, selection_set=_augment(node.selection_set, parent))
        selections.append(node)
    wanted = {"Mine": "id", "Region": "code", "MineralType": "code"}.get(parent.name)
    keys = {(f.alias or f.name).value for f in selections if isinstance(f, FieldNode)}
    if wanted and wanted not in keys:
        selections.append(FieldNode(name=NameNode(value=wanted), arguments=(), directives=()))
    return replace(selection_set, selections=tuple(selections))


def _print_augmented(document):
    definitions = []
    for definition in document.definitions:
        root = GRAPHQL_SCHEMA.query_type if definition.operation.value == "query" else GRAPHQL_SCHEMA.mutation_type
        definitions.append(replace(definition, selection_set=_augment(definition.selection_set, root)))
    return print_ast(replace(document, definitions=tuple(definitions)))


def _walk(case: Case, value, parent: GraphQLObjectType, selection_set, what: str, scope_total: int) -> None:
    """Walk an answer beside its document: check every mine, region and count in it."""
    if value is None:
        return
    if isinstance(value, list):
        for i, item in enumerate(value):
            _walk(case, item, parent, selection_set, f"{what}[{i}]", scope_total)
        return
    if parent.name == "Mine" and "id" in value:
        case.mine({k: v for k, v in value.items() if k in ("id", "code")}, what)
    elif parent.name == "Region" and "code" in value:
        case.region(value, what)
    elif parent.name in ("MineStats", "Completeness") and isinstance(value.get("total"), int):
        FIGURES["counts_checked"] += 1
        if value["total"] > scope_total:
            case.fail("leak", f"{what}.total {value['total']} is more than the {scope_total} mines in scope")
    elif parent.name == "MineralCount" and isinstance(value.get("count"), int):
        FIGURES["counts_checked"] += 1
        if value["count"] > scope_total:
            case.fail("leak", f"{what}.count {value['count']} is more than the {scope_total} mines in scope")
    elif parent.name == "MineConnection" and isinstance(value.get("totalCount"), int):
        FIGURES["counts_checked"] += 1
        if value["totalCount"] > scope_total:
            case.fail("leak", f"{what}.totalCount {value['totalCount']} is more than the {scope_total} mines in scope")
    for node in _fields(selection_set):
        key = (node.alias or node.name).value
        definition = parent.fields.get(node.name.value)
        if definition is None or key not in value or node.selection_set is None:
            continue
        named = get_named_type(definition.type)
        if isinstance(named, GraphQLObjectType):
            _walk(case, value[key], named, node.selection_set, f"{what}.{key}", scope_total)


def _fields(selection_set):
    for s in selection_set.selections:
        if isinstance(s, FieldNode):
            yield s
        elif isinstance(s, InlineFragmentNode):
            yield from _fields(s.selection_set)


def _generic_queries():
    import hypothesis_graphql

    return hypothesis_graphql.queries(SCHEMA_SDL, print_ast=_print_augmented)


@GENERIC
@given(data=st.data())
async def test_any_valid_query_stays_inside_the_jurisdiction(setup, data):
    s, env = setup, setup.env
    username = data.draw(callers(s), label="caller")
    who = s.world.who(username)
    token = await _caller(env, s, username)
    query = data.draw(_generic_queries(), label="query")
    note(f"caller {username} ({who.tier} {who.region_code} mine {who.mine_id})")
    result = await _send(env.gql, query, None, token, username)
    FIGURES["generic cases"] += 1
    FIGURES["requests"] += 1
    case = Case(s, who, env.gql, token)
    if result.status >= 500:
        case.fail("wrong", f"HTTP {result.status}")
    for error in result.errors or []:
        code = (error.get("extensions") or {}).get("code")
        FIGURES["errors_checked"] += 1
        if code not in CONTRACT_CODES or code == "INTERNAL":
            case.fail("wrong", f"error code {code!r}: {error}")
    if result.data:
        operation = parse(query).definitions[0]
        _walk(case, result.data, GRAPHQL_SCHEMA.query_type, operation.selection_set, "data",
              len(s.world.visible_mines(who)))
    if case.problems:
        _record_failure(case, query, {}, result.status, result.errors)
    assert not case.problems, "\n".join(f"{kind}: {message}" for kind, message in case.problems[:15])


# --------------------------------------------------------------------------- what the properties found, reduced to one request


async def test_a_refused_field_beside_a_shared_count_is_an_error_not_a_crash(setup):
    """Regression (found by test_every_answer_equals_the_reference, fixed in 1c9ff00): one field
    refused with BAD_USER_INPUT (here `first: -1`) while another root field awaits the same
    batched count. graphql-core cancelled the refused subtree's pending siblings, the cancelled
    DataLoader future was shared, and CancelledError escaped the executor: the request raised
    (a real server answered 500) instead of answering `region: null` with one BAD_USER_INPUT."""
    query = "query { dashboard { stats { total } } region { stats { total } mines(first: -1) { totalCount } } }"
    national = next(u for u in setup.pool if setup.world.accounts[u]["tier"] == "NATIONAL")
    result = await _send(setup.env.gql, query, None, setup.tokens[national], national)
    assert result.status == 200
    assert [(e.get("extensions") or {}).get("code") for e in result.errors or []] == ["BAD_USER_INPUT"]
    assert result.data["region"] is None and result.data["dashboard"]["stats"]["total"] > 0


async def test_a_number_written_into_a_drill_down_filter_is_counted(setup):
    """Regression (found by test_any_valid_query_stays_inside_the_jurisdiction on PostgreSQL, fixed
    in 1c9ff00): the drill-down prefetch (schema/prefetch.py) read filter arguments from the
    selection, where Strawberry gives a literal's source text ("800", not 800.0). PostgreSQL
    refused `max_depth <= '800'` (double precision <= character varying) and the field answered
    INTERNAL; SQLite happened to convert the text and answered right."""
    query = ("{ region { code stats(filter: {depthMax: 800, workersPerShiftMin: 31}) { total } "
             "children { code stats(filter: {depthMax: 800, workersPerShiftMin: 31}) { total } } } }")
    national = next(u for u in setup.pool if setup.world.accounts[u]["tier"] == "NATIONAL")
    result = await _send(setup.env.gql, query, None, setup.tokens[national], national)
    assert result.errors is None, result.errors
    tally = Tally(setup.world, setup.world.who(national), {"depthMax": 800.0, "workersPerShiftMin": 31})
    assert result.data["region"]["stats"]["total"] == len(tally.selected) > 0
    for child in result.data["region"]["children"]:
        assert child["stats"]["total"] == len(tally.in_region(child["code"])), child["code"]
