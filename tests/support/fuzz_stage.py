"""The stage the fuzz plays on: its settings, and logged-in actors on a private database.

Settings (environment): FUZZ_CASES examples per mutation and per read shape (default 300;
`make soak` raises it); FUZZ_SLOW_CASES for login and changePassword, which cost an argon2
hash each (default FUZZ_CASES / 3); PROPERTY_REPORT, a JSON file to merge the figures into;
PROPERTY_SHRINK as in property_settings. Logins, WeChat logins and password changes are sent
from in-process client addresses of their own (they are throttled and locked per address).

`stage` is a module-scoped fixture (conftest registers this module as a plugin): each fuzz
module writes against a database of its own (`fresh_env`), and each one's teardown merges the
figures so far (of all the fuzz modules run) into PROPERTY_REPORT.
"""

from __future__ import annotations

import itertools
import os
import time
from dataclasses import dataclass

import httpx
import pytest
from hypothesis import HealthCheck, settings

from support import sqldb
from support.environment import client_at
from support.fuzz_requests import FAILURES, FIGURES, graphql_body, send
from support.property_settings import merge_report, property_profile
from support.queries import LOGIN

CASES = int(os.environ.get("FUZZ_CASES") or 300)
SLOW_CASES = int(os.environ.get("FUZZ_SLOW_CASES") or max(30, CASES // 3))

FUZZ = property_profile("minegraph-fuzz", CASES, HealthCheck.large_base_example)
SLOW = settings(FUZZ, max_examples=SLOW_CASES)


@dataclass
class Actor:
    username: str
    token: str
    mine_id: int | None = None
    county: str | None = None


@dataclass
class Stage:
    env: object
    client: httpx.AsyncClient  # the module's own client address (logins use others, see login())
    national: Actor
    owner: Actor  # an enterprise account, the location editor of its mine
    clerk: Actor  # the -001 account of that mine's county: its COUNTY guarantor editor
    profile: Actor  # whose profile is fuzzed
    passworders: list[Actor]  # whose passwords are fuzzed (several: wrong old passwords count towards lockouts)
    passwords: dict[str, str]  # their current passwords
    spare: Actor  # for the minimal reproductions (never locked by the fuzz)
    mine_id: int
    county_mines: set[int]
    cursor: str
    addresses: itertools.count

    def __repr__(self) -> str:  # Hypothesis prints the fixtures of a failing example
        return f"Stage(mine {self.mine_id}, owner {self.owner.username}, clerk {self.clerk.username})"

    def _repr_pretty_(self, printer, cycle) -> None:  # Hypothesis's printer lists a dataclass's fields
        printer.text(repr(self))


async def login(env, username: str, password: str, address: str) -> str:
    async with client_at(env.app, address, 41000) as client:
        answer = await send(client, graphql_body(LOGIN, {"u": username, "p": password}))
    assert not answer.errors, f"login {username}: {answer.text}"
    return answer.data["login"]["token"]


async def send_from_own_address(stage: Stage, body: bytes, token: str | None = None):
    """Send from a client address of its own: login throttling is per address."""
    n = next(stage.addresses)
    async with client_at(stage.env.app, f"198.18.{n // 250 % 250}.{n % 250 + 1}", 43000) as client:
        return await send(client, body, token=token)


@pytest.fixture(scope="module")
async def stage(fresh_env):
    env, db = fresh_env, fresh_env.db
    started = time.monotonic()
    row = db.execute("SELECT m.id, m.code, m.county_code FROM mine m WHERE m.city_code IS NOT NULL "
                     "ORDER BY m.county_code, m.code LIMIT 1").fetchone()
    county = row["county_code"]
    password = env.settings.demo_password
    addresses = itertools.count(1)

    async def actor(username, **kw) -> Actor:
        return Actor(username, await login(env, username, password, f"192.0.2.{next(addresses)}"), **kw)

    owner = await actor(row["code"], mine_id=row["id"], county=county)
    clerk = await actor(f"{county}-001", county=county)
    national = await actor("000000-001")
    profile = await actor(f"{county}-002")
    spare = await actor(f"{county}-005")
    # A wrong oldPassword counts as a failed login (auth/lockout.py): 20 of them lock the account.
    # Spread the fuzz over enough accounts that none gets near that (and each request comes from
    # an address of its own, so the 5-per-address lock never applies either).
    others = [r["username"] for r in db.execute(
        "SELECT username FROM account WHERE tier = 'COUNTY' AND username LIKE '%-003' ORDER BY username").fetchall()]
    passworders = [await actor(u) for u in others[: max(4, SLOW_CASES // 12)]]
    async with client_at(env.app, "192.0.2.200", 42000) as client:
        page = await send(client, graphql_body("{ mines(first: 3) { edges { cursor } } }"), token=national.token)
        cursor = page.data["mines"]["edges"][1]["cursor"]
        county_mines = {r["id"] for r in db.execute("SELECT id FROM mine WHERE county_code = ?", (county,)).fetchall()}
        yield Stage(env, client, national, owner, clerk, profile, passworders,
                    {a.username: password for a in passworders}, spare, row["id"], county_mines, cursor,
                    itertools.count(1))
    FIGURES["seconds"] += round(time.monotonic() - started, 1)
    write_report()


def write_report() -> None:
    """Merge the figures of the run so far (all fuzz modules: FIGURES is the process's) into PROPERTY_REPORT."""
    merge_report(sqldb.BACKEND, "fuzz", {
        "backend": sqldb.BACKEND, "cases_configured": CASES, "slow_cases_configured": SLOW_CASES,
        "5xx": 0, "INTERNAL": 0, "uncoded errors": 0, "half-written": 0, "accepted invalid": 0, "not bilingual": 0,
        **dict(sorted(FIGURES.items())), "failures": FAILURES[:20],
    })
