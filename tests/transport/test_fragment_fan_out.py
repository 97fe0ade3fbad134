"""A 924-byte anonymous document stalled the whole process: `query { ...F0 }` where each fragment
spreads the next one twice (22 levels took ~24 s, /healthz included; each level doubles it).

Against a real served process, as an attacker would send it: 30 levels are refused with a clear,
coded message, and /healthz keeps answering meanwhile. No time is asserted: the client timeouts
are liveness bounds, hours below what the old limiters needed for 30 levels (~6 hours)."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from support import servers
from support.document_shapes import fan_out

LIVENESS_S = 60  # the refusal takes milliseconds; the old code needed 2^30 steps
HEALTH_PROBES = 20


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    from support.sqldb import fresh_database

    directory = tmp_path_factory.mktemp("fan-out")
    with fresh_database(directory) as database:
        servers.seed(database, 100)
        with servers.serving(database, directory / "serve.log") as running:
            yield running


async def _health_while(client: httpx.AsyncClient, attack: asyncio.Task) -> list[int]:
    """/healthz, again and again, until the attack is answered (at least HEALTH_PROBES times)."""
    statuses = []
    while not attack.done() or len(statuses) < HEALTH_PROBES:
        statuses.append((await client.get("/healthz")).status_code)
    return statuses


async def test_a_thirty_level_fan_out_is_refused_while_healthz_answers(served):
    document = fan_out(30)
    assert len(document.encode()) < 1400  # a small document: the limits must see past its size
    async with httpx.AsyncClient(base_url=served.base, timeout=LIVENESS_S, trust_env=False) as attacker, \
            httpx.AsyncClient(base_url=served.base, timeout=LIVENESS_S, trust_env=False) as monitor:
        attack = asyncio.create_task(attacker.post("/graphql", json={"query": document}))
        statuses = await _health_while(monitor, attack)
        response = attack.result()
    assert set(statuses) == {200}
    assert response.status_code in (200, 400)
    errors = response.json()["errors"]
    assert [e["extensions"]["code"] for e in errors] == ["GRAPHQL_VALIDATION_FAILED"]
    assert errors[0]["message"].startswith("查询展开后过大 / 'anonymous' holds 2,147,483,648 fields once its fragments")


async def test_the_fan_out_without_any_field_is_also_refused(served):
    """All spreads and a `__typename` at the bottom: nothing for the cost estimate to count, but the
    document is still 2^30 fields once written out."""
    async with httpx.AsyncClient(base_url=served.base, timeout=LIVENESS_S, trust_env=False) as client:
        response = await client.post("/graphql", json={"query": fan_out(30, leaf="__typename")})
    assert [e["extensions"]["code"] for e in response.json()["errors"]] == ["GRAPHQL_VALIDATION_FAILED"]


@pytest.mark.parametrize("document, message", [
    ("{ ...Unknown }", "Unknown fragment 'Unknown'."),
    ("query { region { ...R } }", "Unknown fragment 'R'."),
    ("query { ...A } fragment A on Query { ...B } fragment B on Query { ...A }",
     "Cannot spread fragment 'A' within itself via 'B'."),
])
async def test_unknown_and_cyclic_fragments_are_validation_errors(served, document, message):
    """`{ ...Unknown }` answered INTERNAL: the depth limiter raised KeyError before graphql-core
    reported the unknown fragment."""
    async with httpx.AsyncClient(base_url=served.base, timeout=LIVENESS_S, trust_env=False) as client:
        response = await client.post("/graphql", json={"query": document})
    errors = response.json()["errors"]
    assert [(e["message"], e["extensions"]["code"]) for e in errors] == [(message, "GRAPHQL_VALIDATION_FAILED")]
