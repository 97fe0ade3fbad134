"""Shared fixtures: seeded databases, the app on them, and a caller per tier.

`env` is one seeded database shared by the read-only tests; `fresh_env`
builds another one for a module that writes (so writes never disturb the
recounts elsewhere). Every database comes from `sqldb.fresh_database`: a new
SQLite file, or with TEST_DATABASE=postgresql a new PostgreSQL database (see
tests/support/sqldb.py). Without a reachable PostgreSQL that run is skipped, except
under CI=true, where it fails.
"""

from __future__ import annotations

import contextlib
import os
from contextlib import AsyncExitStack

import pytest

from support import sqldb
from support.environment import Caller, build_env, busiest
from settings import Settings

# Fixtures of helper modules: fake_wechat (session), fuzz_stage (`stage`, per fuzz module),
# attack_kit (`attack_env`, `bucket_clock`, per module of the authentication-attack tests).
pytest_plugins = ["support.fake_wechat", "support.fuzz_stage", "support.attack_kit"]

# --------------------------------------------------------------------------- the backend of this run


def pytest_report_header(config):
    if sqldb.POSTGRESQL:
        return f"database: postgresql (TEST_DATABASE), fresh databases created through {sqldb.ADMIN_URL} (TEST_PG_URL)"
    return "database: sqlite (TEST_DATABASE), fresh SQLite files; TEST_DATABASE=postgresql runs on PostgreSQL"


def pytest_sessionstart(session):
    if not sqldb.POSTGRESQL:
        return
    problem = sqldb.postgresql_unreachable()
    if problem is None:
        return
    if os.environ.get("CI", "").lower() == "true":
        pytest.exit(f"TEST_DATABASE=postgresql but PostgreSQL is unreachable: {problem}. "
                    "CI=true: the PostgreSQL run must not be skipped.", returncode=1)
    pytest.exit(f"PostgreSQL run skipped: {problem}. Start PostgreSQL or point TEST_PG_URL at one "
                "(under CI=true this is a failure).", returncode=0)


def pytest_collection_modifyitems(config, items):
    """`@pytest.mark.only_on("sqlite", reason="…")`: a test that is about one backend only
    (keep these few) is skipped in the other run, saying why."""
    for item in items:
        for mark in item.iter_markers("only_on"):
            backend, reason = mark.args[0], mark.kwargs.get("reason")
            if backend not in sqldb.BACKENDS or not reason:
                raise pytest.UsageError(f"{item.nodeid}: only_on needs one of {sqldb.BACKENDS} and reason=")
            if backend != sqldb.BACKEND:
                item.add_marker(pytest.mark.skip(reason=f"{backend} only: {reason}"))


@pytest.fixture
def soak_selected(request):
    """Soak tests run only when asked for with -m (e.g. `make soak`), never in a plain `pytest`."""
    expression = request.config.getoption("markexpr") or ""
    if "soak" not in expression or "not soak" in expression:
        pytest.skip("a soak test: run by `make soak` (pytest -m soak)")


@pytest.fixture
def new_database(tmp_path):
    """A factory of fresh databases for one test: `new_database("a")` → sqldb.Database."""
    with contextlib.ExitStack() as stack:
        yield lambda stem="minegraph": stack.enter_context(sqldb.fresh_database(tmp_path, stem))


# --------------------------------------------------------------------------- environments


@pytest.fixture(scope="session")
async def env(tmp_path_factory):
    async with AsyncExitStack() as stack:
        yield await build_env(stack, tmp_path_factory.mktemp("db"))


@pytest.fixture(scope="module")
async def fresh_env(tmp_path_factory, fake_wechat):
    """A database of its own for a module that writes, with WeChat pointed at the fake."""
    async with AsyncExitStack() as stack:
        yield await build_env(
            stack, tmp_path_factory.mktemp("writes"), mines=1500, seed=11,
            **fake_wechat.settings_overrides(),
        )


# Views of the shared env, for the read-only tests.
@pytest.fixture(scope="session")
def settings(env) -> Settings:
    return env.settings


@pytest.fixture(scope="session")
def app(env):
    return env.app


@pytest.fixture(scope="session")
def client(env):
    return env.client


@pytest.fixture(scope="session")
def gql(env):
    return env.gql


@pytest.fixture(scope="session")
def db(env):
    return env.db


@pytest.fixture(scope="session")
def mines(db) -> list[dict]:
    """Every mine row, as the database holds it."""
    return [dict(r) for r in db.execute("SELECT * FROM mine")]


@pytest.fixture(scope="session")
def levels(db) -> dict[str, str]:
    return {r["code"]: r["level"] for r in db.execute("SELECT code, level FROM region")}


@pytest.fixture(scope="session")
async def callers(env) -> dict[str, Caller]:
    """One logged-in caller per tier, nested: the county lies in the city, in the province."""
    db = env.db
    province = busiest(db, "province_code")
    city = busiest(db, "city_code", "province_code = ?", (province,))
    county = busiest(db, "county_code", "city_code = ?", (city,))
    mine = db.execute("SELECT id, code FROM mine WHERE county_code = ? ORDER BY code LIMIT 1", (county,)).fetchone()
    plan = [
        ("NATIONAL", "000000-001", "000000", None),
        ("PROVINCE", f"{province}-002", province, None),
        ("CITY", f"{city}-003", city, None),
        ("COUNTY", f"{county}-004", county, None),
        ("ENTERPRISE", mine["code"], county, mine["id"]),
    ]
    return {
        tier: Caller(tier, username, region, await env.token(username), mine_id)
        for tier, username, region, mine_id in plan
    }
