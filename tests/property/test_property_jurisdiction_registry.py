"""Jurisdiction, proven for the registry's writes and lists: imports, the basic-data mutations,
change requests, past imports and the verification counts.

A random caller (every tier) against random mines inside and outside its scope:
- an import dry run rejects exactly the out-of-scope codes, NOT_FOUND with the words an unknown
  code gets, without old values and without a change (non-importers are refused as a whole);
- updateMine / verifyMine / revokeMine / proposeMineChange on an out-of-scope mine answer NOT_FOUND
  as for a mine that does not exist (FORBIDDEN would tell that it exists), and change nothing;
- mineChangeRequests and imports list only what lies in the caller's scope, all of it;
- MineFilter.verification lists and VerificationStats equal a recount within the scope.
These write (requests, verifications, import records), so they run on a database of their own
(`fresh_env`), with the pool and strategies of the read properties (jurisdiction_world).
"""

from __future__ import annotations

import pytest
from hypothesis import given, note, settings
from hypothesis import strategies as st

from support.import_requests import send
from support.jurisdiction_strategies import draw_caller
from support.jurisdiction_world import CASES, PROPERTY, module_setup
from support.queries import CHANGE_REQUESTS, PROPOSE_CHANGE, REVOKE_MINE, UPDATE_MINE, VERIFY_MINE
from support.sheet_files import BASIC, mine_cells, xlsx_bytes

pytestmark = pytest.mark.property

# Each example is one to four requests on a small world: a tenth of the read property's examples.
REGISTRY = settings(PROPERTY, max_examples=max(30, CASES // 20))
UNKNOWN_CODE = "C9999999999"
UNKNOWN_ID = "99999999"
TIER_COLUMN = {"PROVINCE": "province_code", "CITY": "city_code", "COUNTY": "county_code"}
IMPORTS = "query { imports(first: 100) { id username } }"
VERIFICATION = """query V($filter: MineFilter) { dashboard { pendingChangeRequests verification {
  total verified stale unverified } } mines(filter: $filter, first: 0) { totalCount } }"""
STATES = ("VERIFIED", "STALE", "UNVERIFIED")


@pytest.fixture(scope="module")
async def setup(fresh_env):
    """The pool of callers on this module's database, with change requests in several counties and
    mines verified (and one verified, then changed: STALE) in several counties, made through the API."""
    async with module_setup(fresh_env) as s:
        env, db = fresh_env, fresh_env.db
        counties = [r[0] for r in db.execute(
            "SELECT county_code FROM mine GROUP BY county_code HAVING count(*) >= 3 ORDER BY county_code LIMIT 6")]
        for county in counties:
            mines = [dict(r) for r in db.execute(
                "SELECT id, code, version, workers_per_shift FROM mine WHERE county_code = ? ORDER BY id LIMIT 3",
                (county,))]
            own = mines[0]
            proposed = await env.gql(PROPOSE_CHANGE, {"id": str(own["id"]), "input": {
                "workersPerShift": own["workers_per_shift"] + 1}, "note": "人数变化"}, await env.token(own["code"]))
            assert proposed.errors is None, proposed.errors
            lead = await env.token(f"{county}-001")
            for mine in mines[1:]:
                verified = await env.gql(VERIFY_MINE, {"id": str(mine["id"]), "v": mine["version"]}, lead)
                assert verified.errors is None, verified.errors
            stale = await env.gql(UPDATE_MINE, {"id": str(mines[2]["id"]), "input": {
                "workersPerShift": mines[2]["workers_per_shift"] + 2}}, lead)
            assert stale.errors is None, stale.errors
        # Importers of every tier beside the pool's (the pool holds few -001 accounts).
        leads = ["000000-001", *(f"{db.execute(f'SELECT {c} FROM mine WHERE county_code = ?', (counties[i],)).fetchone()[0]}-001"
                                 for i, c in enumerate(("province_code", "city_code", "county_code")))]
        s.importers = sorted({*leads, *(u for u in s.pool if u.endswith("-001"))})
        for username in s.importers:
            s.tokens.setdefault(username, await env.token(username))
        yield s


def scope_sql(who) -> tuple[str, tuple]:
    """The caller's jurisdiction over table mine (alias m), as the contract states it."""
    if who.tier == "NATIONAL":
        return "1=1", ()
    if who.tier == "ENTERPRISE":
        return "m.id = ?", (who.mine_id,)
    return f"m.{TIER_COLUMN[who.tier]} = ?", (who.region_code,)


def scope_key(who) -> str:
    return f"mine:{who.mine_id}" if who.tier == "ENTERPRISE" else f"{who.tier}:{who.region_code}"


def draw_mines(data, s, who, label: str) -> tuple[list[dict], list[dict]]:
    """Some mines inside the caller's scope and some outside (either list may be empty)."""
    inside = s.world.visible_mines(who)
    seen = {m["id"] for m in inside}
    outside = [m for m in s.world.mines if m["id"] not in seen]
    ins = data.draw(st.lists(st.sampled_from(inside), max_size=3, unique_by=lambda m: m["id"]) if inside
                    else st.just([]), label=f"{label} inside")
    outs = data.draw(st.lists(st.sampled_from(outside), min_size=1, max_size=3, unique_by=lambda m: m["id"])
                     if outside else st.just([]), label=f"{label} outside")  # the nation has no outside
    return ins, outs


def without_code(message: str, code: str) -> str:
    return message.replace(code, "CODE")


# --------------------------------------------------------------------------- (a) import dry runs


@settings(REGISTRY)
@given(data=st.data())
async def test_an_import_rejects_exactly_the_codes_outside_the_scope_as_unknown(setup, data):
    s, env = setup, setup.env
    username = data.draw(st.sampled_from(s.importers) | st.sampled_from(s.pool), label="caller")
    who = s.world.who(username)
    inside, outside = draw_mines(data, s, who, "mines")
    counties = sorted({m["county_code"] for m in s.world.visible_mines(who)})
    rows, twins = [], {}
    for n, mine in enumerate([*inside, *outside]):
        cells = mine_cells(env.db, mine["id"])
        if data.draw(st.booleans(), label=f"edit {mine['code']}"):
            cells["单班下井作业人数"] += 1  # an edit that must never show for a mine outside the scope
        if mine in outside:
            # Its own county is outside too (the row is refused for that cell); written into one of
            # the caller's counties, only the code is left to refuse it.
            if counties and data.draw(st.booleans(), label=f"move {mine['code']}"):
                cells["行政区划代码"] = data.draw(st.sampled_from(counties), label="county")
            # Its twin: the same cells under a code that does not exist must read alike.
            twins[mine["code"]] = f"{UNKNOWN_CODE}{n}"
            rows.append({**cells, "矿山编码": twins[mine["code"]]})
        rows.append(cells)
    rows.append({**mine_cells(env.db, s.world.mines[0]["id"]), "矿山编码": UNKNOWN_CODE})
    order = data.draw(st.permutations(range(len(rows))), label="row order")
    rows = [rows[i] for i in order]
    note(f"{username}: inside {[m['code'] for m in inside]}, outside {[m['code'] for m in outside]}")
    body = await send(env, username, xlsx_bytes(rows, header=BASIC))
    if not username.endswith("-001"):
        assert [e["extensions"]["code"] for e in body["errors"]] == ["FORBIDDEN"], body
        return
    assert "errors" not in body, body["errors"]
    report = body["data"]["importMines"]
    assert report["applied"] is False
    by_code = {r["code"]: r for r in report["rows"]}
    unknown = by_code[UNKNOWN_CODE]
    assert [e["code"] for e in unknown["errors"]] == ["NOT_FOUND"] and unknown["changes"] == []
    for row in report["rows"]:
        if row["code"].startswith(UNKNOWN_CODE):
            continue
        if row["code"] not in twins:
            assert row["action"] in ("UNCHANGED", "UPDATE") and row["errors"] == [], row
            continue
        twin = by_code[twins[row["code"]]]
        assert row["action"] == twin["action"] == "REJECTED" and row["changes"] == twin["changes"] == [], row
        assert {e["code"] for e in row["errors"]} == {"NOT_FOUND"}, row
        # No old value: every error quotes only the row's own cells, word for word as for the twin.
        mine_words = [(e["column"], e["value"], without_code(e["message"], row["code"])) for e in row["errors"]]
        twin_words = [(e["column"], e["value"], without_code(e["message"], twin["code"])) for e in twin["errors"]]
        assert [(c, None if v == row["code"] else v, m) for c, v, m in mine_words] == \
            [(c, None if v == twin["code"] else v, m) for c, v, m in twin_words], (row, twin)


# --------------------------------------------------------------------------- (b) mutations on mines outside the scope

MUTATIONS = {
    "updateMine": (UPDATE_MINE, lambda mine_id, version: {"id": mine_id, "input": {"workersPerShift": 1}}),
    "verifyMine": (VERIFY_MINE, lambda mine_id, version: {"id": mine_id, "v": version}),
    "revokeMine": (REVOKE_MINE, lambda mine_id, version: {"id": mine_id, "reason": "测试"}),
    "proposeMineChange": (PROPOSE_CHANGE, lambda mine_id, version: {"id": mine_id, "input": {"workersPerShift": 1}}),
}


@settings(REGISTRY)
@given(data=st.data())
async def test_mutations_on_a_mine_outside_the_scope_answer_not_found(setup, data):
    s, env = setup, setup.env
    username, who, token = draw_caller(data, s)
    _, outside = draw_mines(data, s, who, "mine")
    if not outside:
        return  # a national caller: every mine is inside
    mine = outside[0]
    name = data.draw(st.sampled_from(sorted(MUTATIONS)), label="mutation")
    document, variables = MUTATIONS[name]
    before = env.db.execute("SELECT version, revoked_at, verification_state FROM mine WHERE id = ?",
                            (mine["id"],)).fetchone()
    foreign = await env.gql(document, variables(str(mine["id"]), before[0]), token)
    unknown = await env.gql(document, variables(UNKNOWN_ID, 1), token)
    note(f"{username} {name} mine {mine['id']}: {foreign.errors}")
    assert foreign.codes == unknown.codes == ["NOT_FOUND"], (foreign.errors, unknown.errors)
    assert without_code(foreign.message, str(mine["id"])) == without_code(unknown.message, UNKNOWN_ID)
    after = env.db.execute("SELECT version, revoked_at, verification_state FROM mine WHERE id = ?",
                           (mine["id"],)).fetchone()
    assert tuple(after) == tuple(before)


# --------------------------------------------------------------------------- (c) lists of requests and imports


@settings(REGISTRY)
@given(data=st.data())
async def test_change_requests_and_imports_list_only_the_callers_scope(setup, data):
    s, env = setup, setup.env
    username, who, token = draw_caller(data, s)
    status = data.draw(st.sampled_from([None, "PENDING", "APPROVED"]), label="status")
    where, args = scope_sql(who)
    if status:
        where, args = f"{where} AND r.status = ?", (*args, status)
    expected = [r[0] for r in env.db.execute(
        f"SELECT r.id FROM mine_change_request r JOIN mine m ON m.id = r.mine_id WHERE {where} ORDER BY r.id DESC",
        args)]
    listed = await env.gql(CHANGE_REQUESTS, {"status": status, "first": 100}, token)
    assert listed.errors is None, listed.errors
    page = listed.data["mineChangeRequests"]
    assert page["totalCount"] == len(expected)
    assert [int(e["node"]["id"]) for e in page["edges"]] == expected[:100]
    imports = await env.gql(IMPORTS, token=token)
    assert imports.errors is None, imports.errors
    recorded = [r[0] for r in env.db.execute("SELECT id FROM mine_import WHERE scope_key = ? ORDER BY id DESC",
                                              (scope_key(who),))]
    assert sorted(int(i["id"]) for i in imports.data["imports"]) == sorted(recorded[:100])


# --------------------------------------------------------------------------- (d) verification counts


@settings(REGISTRY)
@given(data=st.data())
async def test_verification_lists_and_counts_equal_the_recount(setup, data):
    s, env = setup, setup.env
    username, who, token = draw_caller(data, s)
    states = data.draw(st.lists(st.sampled_from(STATES), min_size=1, max_size=3, unique=True), label="states")
    where, args = scope_sql(who)
    counts = dict.fromkeys(STATES, 0)
    for state, n in env.db.execute(
            f"SELECT coalesce(m.verification_state, 'UNVERIFIED'), count(*) FROM mine m "
            f"WHERE m.revoked_at IS NULL AND {where} GROUP BY 1", args):
        counts[state] += n
    pending = env.db.execute(f"SELECT count(*) FROM mine_change_request r JOIN mine m ON m.id = r.mine_id "
                             f"WHERE r.status = 'PENDING' AND {where}", args).fetchone()[0]
    result = await env.gql(VERIFICATION, {"filter": {"verification": states}}, token)
    assert result.errors is None, result.errors
    shown = result.data["dashboard"]
    assert shown["verification"] == {"total": sum(counts.values()), "verified": counts["VERIFIED"],
                                     "stale": counts["STALE"], "unverified": counts["UNVERIFIED"]}
    assert shown["pendingChangeRequests"] == pending
    assert result.data["mines"]["totalCount"] == sum(counts[state] for state in states)
