"""The world the jurisdiction properties run in: their settings, the pool of logged-in callers, and
the figures they report.

Settings (environment):
- PROPERTY_CASES: examples of the precise property (default 2000; `make soak` sets 20000);
- PROPERTY_GENERIC_CASES: examples of the hypothesis-graphql property (default PROPERTY_CASES / 4);
- PROPERTY_SEED: picks the pool of logged-in callers (default fixed; the pool grows with
  PROPERTY_CASES, one API login per account, cached);
- PROPERTY_REPORT: a JSON file to merge the figures into (cases, checks, leaks, miscounts);
- PROPERTY_SHRINK: 1 shrinks a failing example (the default, except under CI=true, where the first
  failing example is reported as found: shrinking can take Hypothesis five minutes).
The database is the shared `env` (conftest: 2,500 demo mines, seed 7); Hypothesis varies the rest,
and prints the caller, document and variables of any failure (with a reproduce blob). The pool's
accounts log in through the API once each, up front, each from an in-process client address of its
own (logins are throttled per address). Both property modules (tests/test_property_jurisdiction*.py)
share one pool and one report section.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import time
from collections import Counter
from dataclasses import dataclass, field

import httpx
from hypothesis import settings

from support import sqldb
from support.property_settings import merge_report, property_profile
from support.queries import LOGIN
from support.reference_props import NATION, World, load_world, region_visible

CASES = int(os.environ.get("PROPERTY_CASES") or 2000)
GENERIC_CASES = int(os.environ.get("PROPERTY_GENERIC_CASES") or max(50, CASES // 4))
POOL_SEED = int(os.environ.get("PROPERTY_SEED") or 20220430)
POOL_SCALE = max(1, CASES // 2000)

PROPERTY = property_profile("minegraph-property", CASES)
GENERIC = settings(PROPERTY, max_examples=GENERIC_CASES)

FIGURES: Counter = Counter()
FAILURES: list[dict] = []
TIERS = ("NATIONAL", "PROVINCE", "CITY", "COUNTY", "ENTERPRISE")


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


def _build_setup(db) -> Setup:
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


_SHARED: dict[int, Setup] = {}  # id(env) -> its Setup


async def _shared_setup(env) -> Setup:
    """The world read from the shared database, and every pool account logged in up front (so an
    example never depends on a login's outcome); built once however many modules ask for it."""
    if id(env) not in _SHARED:
        started = time.monotonic()
        s = _build_setup(env.db)
        s.env = env
        for i in range(0, len(s.pool), 2):  # two at a time: argon2 is two cores' worth
            batch = s.pool[i:i + 2]
            tokens = await asyncio.gather(*(login(env, u, n) for n, u in enumerate(batch, start=i)))
            s.tokens.update(zip(batch, tokens))
        FIGURES["logins"] = len(s.tokens)
        FIGURES["login seconds"] = round(time.monotonic() - started, 1)
        _SHARED[id(env)] = s
    return _SHARED[id(env)]


@contextlib.asynccontextmanager
async def module_setup(env):
    """One test module's use of the shared Setup (its module-scoped `setup` fixture): the module's
    seconds are counted, and the report is rewritten after it, so the last module's rewrite holds
    every figure."""
    started = time.monotonic()
    try:
        yield await _shared_setup(env)
        FIGURES["seconds"] = round(FIGURES["seconds"] + time.monotonic() - started, 1)
    finally:
        _write_report()


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


def _write_report() -> None:
    merge_report(sqldb.BACKEND, "jurisdiction", {
        "backend": sqldb.BACKEND, "cases_configured": CASES, "generic_cases_configured": GENERIC_CASES,
        "pool_seed": POOL_SEED, "leaks": 0, "miscounts": 0, "wrong": 0, "server exceptions": 0,
        **dict(sorted(FIGURES.items())), "failures": FAILURES[:20],
    })
