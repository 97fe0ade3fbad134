"""Who writes in the fault tests: mines in distinct counties, each written by its own account (its
location) and by its county's -001 account (its COUNTY guarantor), logged in to a real server."""

from __future__ import annotations

from typing import TYPE_CHECKING

import httpx

from support.environment import PASSWORD
from support.queries import LOGIN

if TYPE_CHECKING:
    from support.sqldb import Database

# Two writers per field of each mine, so that writes also race each other.
WRITERS_PER_FIELD = 2


def login(base: str, username: str) -> str:
    """A session token from the server at `base` (a real `minegraph serve`)."""
    response = httpx.post(f"{base}/graphql", json={"query": LOGIN, "variables": {"u": username, "p": PASSWORD}},
                          timeout=60, trust_env=False)
    body = response.json()
    assert response.status_code == 200 and not body.get("errors"), body
    return body["data"]["login"]["token"]


def write_targets(database: Database, count: int = 3) -> list[tuple[int, str, str]]:
    """Mines (id, own account, county -001 account) in distinct counties that have a city level."""
    picked, counties = [], set()
    for mine_id, code, county in database.rows(
            "SELECT id, code, county_code FROM mine WHERE city_code IS NOT NULL ORDER BY id"):
        if county not in counties:
            counties.add(county)
            picked.append((mine_id, code, f"{county}-001"))
        if len(picked) == count:
            return picked
    raise AssertionError("the demo dataset has too few counties")


def target_tokens(base: str, targets, *others: str) -> dict[str, str]:
    """A token for every account of the targets (and the `others`), by username."""
    names = set(others) | {t[1] for t in targets} | {t[2] for t in targets}
    return {name: login(base, name) for name in sorted(names)}


def writer_plan(targets, tokens: dict[str, str]) -> list[tuple[int, str, str]]:
    """One (mine id, "location" | "guarantor", token) per writer to start."""
    return [
        (mine_id, kind, tokens[owner if kind == "location" else clerk])
        for mine_id, owner, clerk in targets for kind in ("location", "guarantor")
        for _ in range(WRITERS_PER_FIELD)
    ]
