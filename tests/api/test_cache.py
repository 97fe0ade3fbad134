"""The response cache: repeated queries are answered from memory, never stale, never
across scopes."""

from __future__ import annotations

from support.queries import DASHBOARD, DRILL_DOWN, ME, SET_GUARANTOR
from support.statements import StatementCounter

PERSON = {"name": "缓存", "position": "副县长", "phone": "13912345678"}


async def _post(env, query, variables=None, token=None):
    response = await env.client.post(
        "/graphql", json={"query": query, "variables": variables or {}},
        headers={"Authorization": f"Bearer {token}"} if token else {},
    )
    return response.headers.get("x-cache"), response.json()


async def test_a_repeated_query_is_served_from_the_cache(fresh_env):
    token = await fresh_env.token("000000-002")
    variables = {"filter": {"productionStatuses": ["NORMAL"], "mineralCodes": ["10"]}}
    first_status, first = await _post(fresh_env, DRILL_DOWN, variables, token)
    with StatementCounter.of(fresh_env.app) as counter:
        second_status, second = await _post(fresh_env, DRILL_DOWN, variables, token)
    assert (first_status, second_status) == ("miss", "hit")
    assert second == first
    assert len(counter.statements) == 1  # the token, read with the data version; no counting


async def test_accounts_of_one_scope_share_answers_but_scopes_never_do(fresh_env):
    county = fresh_env.db.execute("SELECT county_code FROM mine ORDER BY id LIMIT 1").fetchone()[0]
    other = fresh_env.db.execute(
        "SELECT county_code FROM mine WHERE county_code != ? ORDER BY id LIMIT 1", (county,)
    ).fetchone()[0]
    status_a, a = await _post(fresh_env, DASHBOARD, token=await fresh_env.token(f"{county}-004"))
    status_b, b = await _post(fresh_env, DASHBOARD, token=await fresh_env.token(f"{county}-005"))
    status_c, c = await _post(fresh_env, DASHBOARD, token=await fresh_env.token(f"{other}-005"))
    assert (status_b, status_c) == ("hit", "miss") and status_a in ("hit", "miss")
    assert a == b
    assert c["data"]["dashboard"]["region"]["code"] == other != county


async def test_a_write_is_seen_at_once(fresh_env):
    mine = fresh_env.db.execute("SELECT id, code, county_code FROM mine ORDER BY id LIMIT 1").fetchone()
    token = await fresh_env.token("000000-003")
    await _post(fresh_env, DASHBOARD, token=token)
    _, before = await _post(fresh_env, DASHBOARD, token=token)
    await fresh_env.gql(SET_GUARANTOR, {"id": str(mine["id"]), "level": "ENTERPRISE", "input": PERSON},
                        await fresh_env.token(mine["code"]))
    status, after = await _post(fresh_env, DASHBOARD, token=token)
    assert status == "miss"
    assert after["data"]["dashboard"]["updatedAt"] > before["data"]["dashboard"]["updatedAt"]


async def test_a_change_made_outside_the_service_is_seen_at_once(fresh_env):
    token = await fresh_env.token("000000-004")
    _, before = await _post(fresh_env, DASHBOARD, token=token)
    await _post(fresh_env, DASHBOARD, token=token)
    fresh_env.db.execute("UPDATE mine SET scale = 'LARGE' WHERE id = (SELECT min(id) FROM mine WHERE scale = 'SMALL')")
    fresh_env.db.commit()
    status, after = await _post(fresh_env, DASHBOARD, token=token)
    assert status == "miss"
    assert after["data"]["dashboard"]["stats"]["large"] == before["data"]["dashboard"]["stats"]["large"] + 1


async def test_answers_about_the_caller_are_never_cached(fresh_env):
    token = await fresh_env.token("000000-005")
    for _ in range(2):
        status, body = await _post(fresh_env, ME, token=token)
        assert status is None and body["data"]["me"]["username"] == "000000-005"


def test_the_store_keeps_the_newest_data_version_only():
    """Writes raise the version; answers of older versions go at once, whatever the budget."""
    from cache.store import ResponseStore

    store = ResponseStore(max_bytes=1_000_000)
    for version in range(1, 200):
        for scope in ("national", "province:110000"):
            store.settle(("doc", b"{}", scope, version), b"x" * 1000)
    assert len(store) == 2
    assert store.get(("doc", b"{}", "national", 199)) == b"x" * 1000
    assert store.get(("doc", b"{}", "national", 198)) is None  # an older version: never served
    store.settle(("doc", b"{}", "national", 150), b"late")  # computed for a superseded version
    assert store.get(("doc", b"{}", "national", 150)) is None and len(store) == 2
    assert store.get(("doc", b"{}", "national", 200)) is None and len(store) == 0  # newer: emptied


async def test_one_store_holds_answers_and_answers_under_way():
    """A key being computed holds the future of its answer: the first miss leads, the others wait
    for it; the answer replaces the future, a leader without one removes it. Futures weigh nothing
    and are never evicted; a waiter that gives up does not cancel the leader."""
    import asyncio

    from cache.store import ResponseStore

    store = ResponseStore(max_bytes=4000)
    key = ("doc", b"{}", "national", 1)
    computing = store.lead(key)
    assert store.get(key) is computing and store.lead(key) is None  # one leader per key
    waiter = asyncio.ensure_future(store.shared(computing))
    impatient = asyncio.ensure_future(store.shared(computing))
    await asyncio.sleep(0)
    impatient.cancel()
    for n in range(10):  # over the budget: the oldest answers go, the future stays
        store.settle(("doc", b"{}", f"province:{n}", 1), b"x" * 1000)
    assert store.get(key) is computing and not computing.done() and len(store) == 5
    store.settle(key, b"answer", computing)
    assert await waiter == b"answer" and store.get(key) == b"answer"
    failing = ("failing", b"{}", "national", 1)
    computing = store.lead(failing)
    waiter = asyncio.ensure_future(store.shared(computing))
    store.settle(failing, None, computing)
    assert await waiter is None and store.get(failing) is None and store.lead(failing) is not None
    assert store.lead(("doc", b"{}", "national", 0)) is None  # a superseded version: computed alone


async def test_identical_queries_arriving_together_are_computed_once(fresh_env, monkeypatch):
    """A burst of the same uncached drill-down: one execution, the others wait for its answer.

    The computation is held until the other seven wait for it, so that they do arrive while it
    runs whatever the machine's speed (a fast leader would otherwise finish first: all hits)."""
    import asyncio

    import cache.store as store
    import resolvers.loaders as loaders
    from resolvers import stats

    token = await fresh_env.token("000000-005")
    burst = DRILL_DOWN.replace("query DrillDown", "query DrillDownBurst")
    variables = {"filter": {"productionStatuses": ["SUSPENDED"]}}
    waiting, all_waiting = [], asyncio.Event()
    original_outcome, original_rollup = store._outcome, stats.region_rollup

    async def counted_outcome(leader):
        waiting.append(leader)
        if len(waiting) == 7:
            all_waiting.set()
        return await original_outcome(leader)

    async def held_rollup(*args, **kwargs):
        await asyncio.wait_for(all_waiting.wait(), 60)  # a liveness bound, not a timing
        return await original_rollup(*args, **kwargs)

    monkeypatch.setattr(store, "_outcome", counted_outcome)
    monkeypatch.setattr(stats, "region_rollup", held_rollup)
    monkeypatch.setattr(loaders, "region_rollup", held_rollup)
    with StatementCounter.of(fresh_env.app) as counter:
        answers = await asyncio.gather(*(_post(fresh_env, burst, variables, token) for _ in range(8)))
    statuses = sorted(status for status, _ in answers)
    assert statuses == ["miss"] + ["shared"] * 7, statuses
    assert len(counter.stats_statements) == 1, counter.stats_statements
    assert all(body == answers[0][1] and "errors" not in body for _, body in answers)


async def test_waiters_run_the_query_themselves_when_the_first_one_fails(fresh_env, monkeypatch):
    """The computing request ends in an error: nobody receives it second-hand or waits forever."""
    import asyncio

    from resolvers import stats

    token = await fresh_env.token("000000-006")
    burst = DRILL_DOWN.replace("query DrillDown", "query DrillDownBurstFailing")
    original, calls = stats.region_rollup, []

    async def first_fails(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            await asyncio.sleep(0.05)  # long enough for the others to arrive and wait
            raise RuntimeError("the first computation fails")
        return await original(*args, **kwargs)

    monkeypatch.setattr(stats, "region_rollup", first_fails)
    import resolvers.loaders as loaders
    monkeypatch.setattr(loaders, "region_rollup", first_fails)
    answers = await asyncio.gather(*(_post(fresh_env, burst, {}, token) for _ in range(4)))
    failed = [body for _, body in answers if "errors" in body]
    assert len(failed) == 1 and failed[0]["errors"][0]["extensions"]["code"] == "INTERNAL"
    assert sum(1 for _, body in answers if "errors" not in body and body["data"]["region"]) == 3


async def test_a_repeated_query_is_answered_without_running_graphql(fresh_env, monkeypatch):
    """A query this process has answered before is served from the store before Strawberry
    parses, validates or executes it; the same answer, byte for byte."""
    from schema.build import MinegraphSchema

    token = await fresh_env.token("000000-007")
    text = DRILL_DOWN.replace("query DrillDown", "query DrillDownStored")
    variables = {"filter": {"scales": ["LARGE"]}}
    executions = []
    original = MinegraphSchema.execute

    async def counting(self, *args, **kwargs):
        executions.append(1)
        return await original(self, *args, **kwargs)

    monkeypatch.setattr(MinegraphSchema, "execute", counting)

    async def post(query, variables):
        response = await fresh_env.client.post("/graphql", json={"query": query, "variables": variables},
                                               headers={"Authorization": f"Bearer {token}"})
        return response.headers.get("x-cache"), response.headers.get("content-type"), response.content

    miss = await post(text, variables)
    hit = await post(text, variables)
    assert (miss[0], hit[0], len(executions)) == ("miss", "hit", 1)
    assert hit[1:] == miss[1:] == ("application/json; charset=utf-8", miss[2]) and b'"errors"' not in miss[2]
    # The same operation written differently: a text not seen yet is parsed (once), and its
    # normalised document finds the stored answer, still without running Strawberry.
    spaced = await post(text.replace("{", " {  "), variables)
    assert (spaced[0], spaced[2], len(executions)) == ("hit", miss[2], 1)
    # Other variables, another caller's scope: never this answer.
    other = await post(text, {"filter": {"scales": ["SMALL"]}})
    assert other[0] == "miss" and other[2] != miss[2]
    county = fresh_env.db.execute("SELECT county_code FROM mine ORDER BY id LIMIT 1").fetchone()[0]
    token = await fresh_env.token(f"{county}-001")
    elsewhere = await post(text, variables)
    assert elsewhere[0] == "miss" and elsewhere[2] != miss[2]
