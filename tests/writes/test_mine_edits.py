"""Basic data (createMine, updateMine, revokeMine), verification (verifyMine, VerificationStats)
and change requests, on a real database: rights, the scale rule, one version step, per-field
audit and history, STALE on a basic change, recounts, revocation, conflicts."""

from __future__ import annotations

import asyncio
import re
from contextlib import AsyncExitStack
from types import SimpleNamespace

import pytest

from support.environment import build_env
from support.error_language import assert_bilingual
from support.queries import (
    CHANGE_REQUESTS, CREATE_MINE, DASHBOARD, LOGIN, MINE_EDIT, MINES, PROPOSE_CHANGE, REGION_STATS, REVIEW_CHANGE,
    REVOKE_MINE, UPDATE_LOCATION, UPDATE_MINE, VERIFICATION_DRILL_DOWN, VERIFICATION_HOME, VERIFY_MINE,
)
from seed.reference import derive_scale


@pytest.fixture(scope="module")
async def edit_env(tmp_path_factory, fake_wechat):
    """A database of its own (this module writes), the login throttle opened (many logins)."""
    async with AsyncExitStack() as stack:
        env = await build_env(stack, tmp_path_factory.mktemp("edits"), mines=1500, seed=11,
                              throttle_login_burst=10_000, throttle_failures_burst=10_000,
                              **fake_wechat.settings_overrides())
        plain = env.gql

        async def gql(query, variables=None, token=None):
            result = await plain(query, variables, token)
            assert_bilingual(result.errors)
            return result

        env.gql = gql
        yield env


def _one(db, sql, *args):
    return db.execute(sql, args).fetchone()


def _mines_in(db, county: str, n: int) -> list[dict]:
    rows = db.execute("SELECT * FROM mine WHERE county_code = ? AND revoked_at IS NULL ORDER BY id", (county,))
    return [dict(r) for r in rows.fetchall()][:n]


@pytest.fixture(scope="module")
def places(edit_env) -> dict:
    """A county with a city above it and at least six mines, and another county of another province."""
    db = edit_env.db
    county = _one(db, """SELECT county_code FROM mine WHERE city_code IS NOT NULL GROUP BY county_code
                          HAVING count(*) >= 8 ORDER BY county_code LIMIT 1""")[0]
    mine = _mines_in(db, county, 1)[0]
    far = _one(db, "SELECT county_code FROM mine WHERE province_code != ? ORDER BY id LIMIT 1",
               mine["province_code"])[0]
    return {"county": county, "city": mine["city_code"], "province": mine["province_code"], "far": far}


async def _token(env, username):
    return await env.token(username)


def _input(county: str, **extra) -> dict:
    return {"name": "测试新增铁矿", "regionCode": county, "mineralCode": extra.pop("mineralCode", None) or "",
            "designCapacity": 10.0, "capacityUnit": "万吨/年", "developmentMethod": "SHAFT", "maxDepth": 300.0,
            "workersPerShift": 12, "productionStatus": "NORMAL", "supervisoryBody": "COUNTY", **extra}


def _leaf(db):
    """A mineral leaf of the seed with its unit and scale row, from a mine that uses it."""
    row = _one(db, "SELECT m.mineral_code, m.capacity_unit, t.scale_row FROM mine m JOIN mineral_type t "
                   "ON t.code = m.mineral_code WHERE m.scale_override_note IS NULL ORDER BY m.id LIMIT 1")
    return row[0], row[1], row[2]


# --------------------------------------------------------------------------- rights


RIGHTS = {  # caller -> expected answer to updateMine / verifyMine / revokeMine on a mine of the county
    "national -001": "ok", "national -002": "FORBIDDEN", "province -001": "ok", "province -002": "FORBIDDEN",
    "city -001": "ok", "city -002": "FORBIDDEN", "county -001": "ok", "county -002": "FORBIDDEN",
    "own mine": "FORBIDDEN", "other county -001": "NOT_FOUND",
}


def _username(places, caller, mine) -> str:
    region = {"national": "000000", "province": places["province"], "city": places["city"],
              "county": places["county"]}
    if caller == "own mine":
        return mine["code"]
    if caller == "other county -001":
        return f"{places['far']}-001"
    level, number = caller.split()
    return f"{region[level]}{number}"


@pytest.mark.parametrize("caller", RIGHTS)
async def test_rights_of_update_verify_and_revoke(edit_env, places, caller):
    env, db = edit_env, edit_env.db
    mine = _mines_in(db, places["county"], 1)[0]
    token = await _token(env, _username(places, caller, mine))
    expected = RIGHTS[caller]
    before = _one(db, "SELECT version, workers_per_shift, verification_state, revoked_at FROM mine WHERE id = ?",
                  mine["id"])
    update = await env.gql(UPDATE_MINE, {"id": str(mine["id"]), "input": {"workersPerShift": before[1] + 1}}, token)
    verify = await env.gql(VERIFY_MINE, {"id": str(mine["id"]), "v": before[0] + (expected == "ok")}, token)
    if expected == "ok":
        assert update.errors is None and verify.errors is None, (update.errors, verify.errors)
        assert update.data["updateMine"]["workersPerShift"] == before[1] + 1
        assert verify.data["verifyMine"]["verification"]["current"] is True
        # Put back, so that every caller of the table starts from the same mine.
        back = await env.gql(UPDATE_MINE, {"id": str(mine["id"]), "input": {"workersPerShift": before[1]}}, token)
        assert back.errors is None
        return
    for result in (update, verify):
        assert result.codes == [expected], result.errors
        assert result.data is None
    if expected == "NOT_FOUND":  # the same message as an unknown id
        unknown = await env.gql(UPDATE_MINE, {"id": "99999999", "input": {"workersPerShift": 1}}, token)
        assert update.message == unknown.message.replace("99999999", str(mine["id"]))
    revoke = await env.gql(REVOKE_MINE, {"id": str(mine["id"]), "reason": "误录"}, token)
    assert revoke.codes == [expected]
    after = _one(db, "SELECT version, workers_per_shift, verification_state, revoked_at FROM mine WHERE id = ?",
                 mine["id"])
    assert tuple(after) == tuple(before)


async def test_create_mine_rights_code_account_and_required_fields(edit_env, places):
    env, db = edit_env, edit_env.db
    leaf, unit, row_id = _leaf(db)
    county = places["county"]
    values = _input(county, mineralCode=leaf, capacityUnit=unit)
    for caller in ("county -002", "own mine"):
        mine = _mines_in(db, county, 1)[0]
        refused = await env.gql(CREATE_MINE, {"input": values}, await _token(env, _username(places, caller, mine)))
        assert refused.codes == ["FORBIDDEN"], refused.errors
    far = await env.gql(CREATE_MINE, {"input": _input(places["far"], mineralCode=leaf, capacityUnit=unit)},
                        await _token(env, f"{county}-001"))
    assert far.codes == ["NOT_FOUND"], far.errors
    token = await _token(env, f"{places['city']}-001")
    missing = await env.gql(CREATE_MINE, {"input": {"name": "缺项矿", "regionCode": county}}, token)
    assert missing.codes == ["BAD_USER_INPUT"] and "mineralCode" in missing.message and "maxDepth" in missing.message
    serials = [int(r[0][7:]) for r in db.execute("SELECT code FROM mine WHERE county_code = ?", (county,)).fetchall()]
    created = await env.gql(CREATE_MINE, {"input": values}, token)
    assert created.errors is None, created.errors
    mine = created.data["createMine"]
    assert mine["code"] == f"C{county}{max(serials) + 1:04d}"
    assert mine["version"] == 1 and mine["verification"]["current"] is False
    assert mine["scale"] == derive_scale(row_id, 10.0).value and mine["scaleOverride"] is None
    password = mine["initialPassword"]
    assert password and len(password) >= 16
    login = await env.gql(LOGIN, {"u": mine["code"], "p": password})
    assert login.errors is None and login.data["login"]["user"]["tier"] == "ENTERPRISE"
    again = await env.gql(MINE_EDIT, {"id": mine["id"]}, token)
    assert again.data["mine"]["initialPassword"] is None  # shown once, never readable later
    assert [h["field"] for h in again.data["mine"]["history"]] == ["mine"]
    assert _one(db, "SELECT count(*) FROM audit_log WHERE action = 'mine.create' AND mine_id = ?", int(mine["id"]))[0] == 1


# --------------------------------------------------------------------------- scale, version, audit, STALE


async def test_scale_derivation_and_override(edit_env, places):
    env, db = edit_env, edit_env.db
    mine = _mines_in(db, places["county"], 3)[1]
    _leaf_code, _unit, _ = _leaf(db)
    row_id = _one(db, "SELECT scale_row FROM mineral_type WHERE code = ?", mine["mineral_code"])[0]
    unit = _one(db, "SELECT capacity_unit FROM mine WHERE mineral_code = ? AND scale_override_note IS NULL LIMIT 1",
                mine["mineral_code"])[0]
    token = await _token(env, f"{places['county']}-001")
    mid = str(mine["id"])
    cleared = await env.gql(UPDATE_MINE, {"id": mid, "input": {"scale": None, "capacityUnit": unit}}, token)
    assert cleared.errors is None, cleared.errors
    for capacity in (0.01, 10_000_000.0):
        result = await env.gql(UPDATE_MINE, {"id": mid, "input": {"designCapacity": capacity}}, token)
        assert result.data["updateMine"]["scale"] == derive_scale(row_id, capacity).value
    no_note = await env.gql(UPDATE_MINE, {"id": mid, "input": {"scale": "SMALL"}}, token)
    assert no_note.codes == ["BAD_USER_INPUT"] and "scaleNote" in no_note.message
    over = await env.gql(UPDATE_MINE, {"id": mid, "input": {"scale": "SMALL", "scaleNote": "采矿许可证载明小型"}}, token)
    assert over.data["updateMine"]["scaleOverride"] == {"scale": "SMALL", "note": "采矿许可证载明小型"}
    kept = await env.gql(UPDATE_MINE, {"id": mid, "input": {"designCapacity": 9_000_000.0}}, token)
    assert kept.data["updateMine"]["scale"] == "SMALL"  # overridden: capacity does not move it
    back = await env.gql(UPDATE_MINE, {"id": mid, "input": {"scale": None}}, token)
    assert back.data["updateMine"]["scaleOverride"] is None
    assert back.data["updateMine"]["scale"] == derive_scale(row_id, 9_000_000.0).value
    stored = _one(db, "SELECT scale, scale_override_note FROM mine WHERE id = ?", mine["id"])
    assert stored[1] is None and stored[0] == back.data["updateMine"]["scale"]


async def test_one_version_step_per_field_audit_history_and_stale(edit_env, places):
    env, db = edit_env, edit_env.db
    mine = _mines_in(db, places["county"], 4)[2]
    mid = str(mine["id"])
    token = await _token(env, f"{places['province']}-001")
    version = _one(db, "SELECT version FROM mine WHERE id = ?", mine["id"])[0]
    verified = await env.gql(VERIFY_MINE, {"id": mid, "v": version, "note": "现场核实"}, token)
    assert verified.errors is None and verified.data["verifyMine"]["version"] == version  # no step
    assert verified.data["verifyMine"]["verification"]["verifiedBy"] == f"{places['province']}-001"
    stale_verify = await env.gql(VERIFY_MINE, {"id": mid, "v": version + 1}, token)
    assert stale_verify.codes == ["CONFLICT"]
    # A location change (by the mine itself) is not basic data: still verified.
    own = await _token(env, mine["code"])
    located = await env.gql(UPDATE_LOCATION, {"id": mid, "lat": 25.0, "lng": 102.7, "datum": "WGS84"}, own)
    assert located.errors is None
    assert (await env.gql(MINE_EDIT, {"id": mid}, token)).data["mine"]["verification"]["current"] is True
    before = _one(db, "SELECT version FROM mine WHERE id = ?", mine["id"])[0]
    changes = {"name": "改名后的矿山", "workersPerShift": 77, "productionStatus": "SUSPENDED",
               "principal": {"name": "李四", "phone": "13912345678"}}
    result = await env.gql(UPDATE_MINE, {"id": mid, "input": changes, "v": before}, token)
    assert result.errors is None, result.errors
    assert result.data["updateMine"]["version"] == before + 1
    assert result.data["updateMine"]["verification"]["current"] is False
    assert _one(db, "SELECT verification_state FROM mine WHERE id = ?", mine["id"])[0] == "STALE"
    history = (await env.gql(MINE_EDIT, {"id": mid}, token)).data["mine"]["history"]
    latest = {h["field"]: h for h in history[:4]}
    assert set(latest) == set(changes)
    assert latest["productionStatus"]["newValue"] == "SUSPENDED"
    assert latest["workersPerShift"]["newValue"] == 77
    assert latest["principal"]["newValue"] == {"name": "李四", "phone": "13912345678"}
    assert all(h["importId"] is None for h in history)
    # The same again: nothing differs, no step, no record.
    same = await env.gql(UPDATE_MINE, {"id": mid, "input": changes}, token)
    assert same.data["updateMine"]["version"] == before + 1
    assert len((await env.gql(MINE_EDIT, {"id": mid}, token)).data["mine"]["history"]) == len(history)
    conflict = await env.gql(UPDATE_MINE, {"id": mid, "input": {"workersPerShift": 5}, "v": before}, token)
    assert conflict.codes == ["CONFLICT"]
    assert _one(db, "SELECT version, workers_per_shift FROM mine WHERE id = ?", mine["id"])[:] == (before + 1, 77)


@pytest.mark.parametrize("values, named", [
    ({"designCapacity": 0}, "designCapacity"), ({"maxDepth": -1}, "maxDepth"), ({"name": "  "}, "name"),
    ({"workersPerShift": -3}, "workersPerShift"), ({"mineralCode": "1"}, "mineralCode"),
    ({"developmentDetail": "竖井-斜坡道", "developmentMethod": "ADIT"}, "developmentDetail"),
    ({"principal": {"name": "王五", "phone": "123"}}, "principal"), ({"scaleNote": "说明"}, "scaleNote"),
    ({"name": None}, "name"),
])
async def test_invalid_values_are_refused_and_change_nothing(edit_env, places, values, named):
    env, db = edit_env, edit_env.db
    mine = _mines_in(db, places["county"], 5)[4]
    token = await _token(env, f"{places['county']}-001")
    before = dict(_one(db, "SELECT * FROM mine WHERE id = ?", mine["id"]))
    result = await env.gql(UPDATE_MINE, {"id": str(mine["id"]), "input": values}, token)
    assert result.codes == ["BAD_USER_INPUT"], result.errors
    assert named in result.message
    assert dict(_one(db, "SELECT * FROM mine WHERE id = ?", mine["id"])) == before


# --------------------------------------------------------------------------- statistics


def _recount(db, where: str = "1=1", args=()) -> dict[str, dict]:
    """Verification counts per region code at every level, recounted with plain SQL."""
    out: dict[str, dict] = {}
    rows = db.execute(f"SELECT province_code, city_code, county_code, verification_state AS s FROM mine "
                      f"WHERE revoked_at IS NULL AND {where}", args).fetchall()
    for row in rows:
        for code in ("000000", row[0], row[1], row[2]):
            if code is None:
                continue
            counts = out.setdefault(code, {"total": 0, "verified": 0, "stale": 0, "unverified": 0})
            counts["total"] += 1
            counts[row[3].lower()] += 1
    return out


def _zero():
    return {"total": 0, "verified": 0, "stale": 0, "unverified": 0}


async def test_verification_counts_equal_a_recount_at_every_level(edit_env, places):
    env, db = edit_env, edit_env.db
    token = await _token(env, f"{places['county']}-001")
    for mine in _mines_in(db, places["county"], 8)[5:8]:
        version = _one(db, "SELECT version FROM mine WHERE id = ?", mine["id"])[0]
        assert (await env.gql(VERIFY_MINE, {"id": str(mine["id"]), "v": version}, token)).errors is None
    national = await _token(env, "000000-001")
    result = await env.gql(VERIFICATION_DRILL_DOWN, {}, national)
    assert result.errors is None, result.errors
    recount = _recount(db)
    assert recount["000000"]["verified"] >= 3
    root = result.data["region"]
    assert result.data["dashboard"]["verification"] == recount["000000"] == root["verification"]
    checked = 0

    def walk(node):
        nonlocal checked
        assert node["verification"] == recount.get(node["code"], _zero()), node["code"]
        checked += 1
        children = node.get("children") or []
        if children:
            summed = {k: sum(c["verification"][k] for c in children) for k in _zero()}
            assert summed == node["verification"], node["code"]
        for child in children:
            walk(child)

    walk(root)
    assert checked > 100
    minerals = {t["code"]: t["verification"] for t in result.data["mineralTypes"]}
    assert sum(v["verified"] for v in minerals.values()) == recount["000000"]["verified"]
    filtered = await env.gql(VERIFICATION_DRILL_DOWN, {"filter": {"verification": ["VERIFIED"]}}, national)
    assert filtered.errors is None, filtered.errors
    assert filtered.data["mines"]["totalCount"] == recount["000000"]["verified"]
    assert filtered.data["region"]["stats"]["total"] == recount["000000"]["verified"]
    assert filtered.data["region"]["verification"]["stale"] == 0


# --------------------------------------------------------------------------- revocation


async def _counts(env, token, county):
    dashboard = (await env.gql(DASHBOARD, {}, token)).data["dashboard"]["stats"]["total"]
    region = (await env.gql(REGION_STATS, {"code": county}, token)).data["region"]["stats"]
    listed = (await env.gql(MINES, {"filter": {"regionCode": county}, "first": 100}, token)).data["mines"]
    verification = (await env.gql(VERIFICATION_DRILL_DOWN, {}, token)).data["dashboard"]["verification"]["total"]
    return dashboard, region, listed, verification


async def test_revoke_leaves_lists_statistics_and_tally_and_disables_the_account(edit_env, places):
    env, db = edit_env, edit_env.db
    mine = _mines_in(db, places["county"], 8)[7]
    token = await _token(env, f"{places['city']}-001")
    own = await _token(env, mine["code"])
    dash, region, listed, verification = await _counts(env, token, places["county"])
    assert str(mine["id"]) in {e["node"]["id"] for e in listed["edges"]}
    empty = await env.gql(REVOKE_MINE, {"id": str(mine["id"]), "reason": "  "}, token)
    assert empty.codes == ["BAD_USER_INPUT"]
    revoked = await env.gql(REVOKE_MINE, {"id": str(mine["id"]), "reason": "重复录入"}, token)
    assert revoked.errors is None and revoked.data["revokeMine"]["code"] == mine["code"]
    dash2, region2, listed2, verification2 = await _counts(env, token, places["county"])
    assert (dash2, region2["total"], listed2["totalCount"], verification2) == (
        dash - 1, region["total"] - 1, listed["totalCount"] - 1, verification - 1)
    assert str(mine["id"]) not in {e["node"]["id"] for e in listed2["edges"]}
    # The tally (which answers these unfiltered counts) equals a recount of the live mines.
    live = _one(db, "SELECT count(*) FROM mine WHERE county_code = ? AND revoked_at IS NULL", places["county"])[0]
    tally = _one(db, "SELECT coalesce(sum(n), 0) FROM mine_tally WHERE county_code = ? AND production_status = '*'",
                 places["county"])
    assert region2["total"] == tally[0] == live
    # The mine is gone for everyone, and its account neither keeps its session nor logs in.
    again = await env.gql(UPDATE_MINE, {"id": str(mine["id"]), "input": {"workersPerShift": 1}}, token)
    assert again.codes == ["NOT_FOUND"]
    assert (await env.gql(MINE_EDIT, {"id": str(mine["id"])}, own)).codes == ["UNAUTHENTICATED"]
    from support.environment import PASSWORD
    login = await env.gql(LOGIN, {"u": mine["code"], "p": PASSWORD})
    assert login.codes == ["UNAUTHENTICATED"]
    row = _one(db, "SELECT revoked_reason, production_status FROM mine WHERE id = ?", mine["id"])
    assert row[0] == "重复录入"


# --------------------------------------------------------------------------- change requests


async def test_change_request_flow(edit_env, places):
    env, db = edit_env, edit_env.db
    mine = _mines_in(db, places["county"], 6)[3]
    mid = str(mine["id"])
    own = await _token(env, mine["code"])
    county = await _token(env, f"{places['county']}-001")
    sibling = _mines_in(db, places["county"], 6)[5]
    workers = _one(db, "SELECT workers_per_shift FROM mine WHERE id = ?", mine["id"])[0]
    proposal = {"workersPerShift": workers + 5, "maxDepth": 512.0}
    assert (await env.gql(PROPOSE_CHANGE, {"id": mid, "input": proposal}, county)).codes == ["FORBIDDEN"]
    other = await env.gql(PROPOSE_CHANGE, {"id": mid, "input": proposal}, await _token(env, sibling["code"]))
    assert other.codes == ["NOT_FOUND"]
    nothing = await env.gql(PROPOSE_CHANGE, {"id": mid, "input": {"workersPerShift": workers}}, own)
    assert nothing.codes == ["BAD_USER_INPUT"]
    bad = await env.gql(PROPOSE_CHANGE, {"id": mid, "input": {"maxDepth": -5}}, own)
    assert bad.codes == ["BAD_USER_INPUT"]
    proposed = await env.gql(PROPOSE_CHANGE, {"id": mid, "input": proposal, "note": "扩建后"}, own)
    assert proposed.errors is None, proposed.errors
    request = proposed.data["proposeMineChange"]
    assert request["status"] == "PENDING" and request["proposedBy"] == mine["code"]
    assert {c["field"]: c["new"] for c in request["changes"]} == {"workersPerShift": workers + 5, "maxDepth": 512.0}
    listed = await env.gql(CHANGE_REQUESTS, {"status": "PENDING"}, county)
    assert request["id"] in {e["node"]["id"] for e in listed.data["mineChangeRequests"]["edges"]}
    assert (await env.gql(CHANGE_REQUESTS, {}, await _token(env, sibling["code"]))).data[
        "mineChangeRequests"]["totalCount"] == 0
    far = await env.gql(REVIEW_CHANGE, {"id": request["id"], "approve": True}, await _token(env, f"{places['far']}-001"))
    assert far.codes == ["NOT_FOUND"]
    assert (await env.gql(REVIEW_CHANGE, {"id": request["id"], "approve": True}, own)).codes == ["FORBIDDEN"]
    version = _one(db, "SELECT version FROM mine WHERE id = ?", mine["id"])[0]
    approved = await env.gql(REVIEW_CHANGE, {"id": request["id"], "approve": True, "note": "同意"}, county)
    assert approved.errors is None, approved.errors
    done = approved.data["reviewMineChange"]
    assert done["status"] == "APPROVED" and done["reviewedBy"] == f"{places['county']}-001"
    assert done["mine"]["version"] == version + 1
    assert {c["field"]: (c["old"], c["new"]) for c in done["changes"]} == {
        "workersPerShift": (workers, workers + 5), "maxDepth": (mine["max_depth"], 512.0)}
    assert _one(db, "SELECT workers_per_shift, max_depth FROM mine WHERE id = ?", mine["id"])[:] == (workers + 5, 512.0)
    twice = await env.gql(REVIEW_CHANGE, {"id": request["id"], "approve": False}, county)
    assert twice.codes == ["CONFLICT"]
    second = await env.gql(PROPOSE_CHANGE, {"id": mid, "input": {"name": "申报改名矿"}}, own)
    rejected = await env.gql(REVIEW_CHANGE, {"id": second.data["proposeMineChange"]["id"], "approve": False,
                                             "note": "证照未变"}, county)
    assert rejected.data["reviewMineChange"]["status"] == "REJECTED"
    assert _one(db, "SELECT name FROM mine WHERE id = ?", mine["id"])[0] == mine["name"]
    actions = [r[0] for r in db.execute("SELECT action FROM audit_log WHERE mine_id = ? AND action LIKE 'mine.change%'",
                                        (mine["id"],)).fetchall()]
    assert sorted(actions) == ["mine.change_proposed"] * 2 + ["mine.change_reviewed"] * 2
    page = await env.gql(CHANGE_REQUESTS, {"first": 1}, own)
    first_page = page.data["mineChangeRequests"]
    assert first_page["totalCount"] == 2 and first_page["pageInfo"]["hasNextPage"]
    assert first_page["edges"][0]["node"]["id"] == second.data["proposeMineChange"]["id"]  # newest first
    rest = await env.gql(CHANGE_REQUESTS, {"first": 5, "after": first_page["pageInfo"]["endCursor"]}, own)
    assert [e["node"]["id"] for e in rest.data["mineChangeRequests"]["edges"]] == [request["id"]]
    assert re.fullmatch(r"[A-Za-z0-9_-]+", first_page["pageInfo"]["endCursor"])


# --------------------------------------------------------------------------- the response cache


async def test_a_cached_read_is_not_stale_after_each_new_mutation(edit_env, places):
    env, db = edit_env, edit_env.db
    county = places["county"]
    token = await _token(env, f"{county}-001")
    mines = _mines_in(db, county, 8)
    target, proposer, doomed = mines[0], mines[1], mines[-1]
    own = await _token(env, proposer["code"])

    async def home():
        first = await env.gql(VERIFICATION_HOME, {}, token)
        second = await env.gql(VERIFICATION_HOME, {}, token)
        assert second.cache in ("hit", "shared"), second.cache  # the read is cached ...
        assert second.data == first.data
        return first.data["dashboard"]

    async def version(mine):
        return _one(db, "SELECT version FROM mine WHERE id = ?", mine["id"])[0]

    before = await home()
    assert (await env.gql(VERIFY_MINE, {"id": str(target["id"]), "v": await version(target)}, token)).errors is None
    after = await home()  # ... and not served once a mutation changed what it shows
    assert after["verification"]["verified"] == before["verification"]["verified"] + 1
    workers = _one(db, "SELECT workers_per_shift FROM mine WHERE id = ?", target["id"])[0]
    assert (await env.gql(UPDATE_MINE, {"id": str(target["id"]), "input": {"workersPerShift": workers + 1}},
                          token)).errors is None
    stale = await home()
    assert stale["verification"]["stale"] == after["verification"]["stale"] + 1
    proposed = await env.gql(PROPOSE_CHANGE, {"id": str(proposer["id"]), "input": {"maxDepth": 433.0}}, own)
    assert proposed.errors is None, proposed.errors
    pending = await home()
    assert pending["pendingChangeRequests"] == stale["pendingChangeRequests"] + 1
    reviewed = await env.gql(REVIEW_CHANGE, {"id": proposed.data["proposeMineChange"]["id"], "approve": False}, token)
    assert reviewed.errors is None
    assert (await home())["pendingChangeRequests"] == stale["pendingChangeRequests"]
    assert (await env.gql(REVOKE_MINE, {"id": str(doomed["id"]), "reason": "测试作废"}, token)).errors is None
    assert (await home())["verification"]["total"] == stale["verification"]["total"] - 1
    created = await env.gql(CREATE_MINE, {"input": _input(county, mineralCode=target["mineral_code"],
                                                           capacityUnit=target["capacity_unit"])}, token)
    assert created.errors is None, created.errors
    assert (await home())["verification"]["total"] == stale["verification"]["total"]


# --------------------------------------------------------------------------- concurrency, the import's core


async def test_concurrent_updates_with_one_expected_version_one_wins(edit_env, places):
    env, db = edit_env, edit_env.db
    mine = _mines_in(db, places["county"], 7)[6]
    version = _one(db, "SELECT version FROM mine WHERE id = ?", mine["id"])[0]
    tokens = [await _token(env, f"{places['county']}-001"), await _token(env, f"{places['city']}-001")]
    results = await asyncio.gather(*(
        env.gql(UPDATE_MINE, {"id": str(mine["id"]), "input": {"workersPerShift": 40 + i}, "v": version}, token)
        for i, token in enumerate(tokens)))
    assert sorted(r.codes[0] if r.errors else "ok" for r in results) == ["CONFLICT", "ok"]
    winner = next(r for r in results if not r.errors).data["updateMine"]
    row = _one(db, "SELECT version, workers_per_shift FROM mine WHERE id = ?", mine["id"])
    assert tuple(row) == (version + 1, winner["workersPerShift"])


async def test_the_core_applies_inside_a_callers_transaction_with_an_import_id(edit_env, places):
    """What the spreadsheet import calls: plan, then apply/insert in its own transaction."""
    from datetime import UTC, datetime

    from sqlalchemy import insert, select, update

    from models.db import make_engine
    from models.errors import BadUserInput
    from models.mine import Mine
    from models.registry_io import MineImport
    from models.trees import load_trees
    from resolvers.mine_apply import apply_mine_changes, insert_mine
    from resolvers.mine_edits import plan_mine_changes

    env, db = edit_env, edit_env.db
    engine = make_engine(env.settings.database_url)
    try:
        trees = await load_trees(engine)
        account = _one(db, "SELECT id, username FROM account WHERE username = ?", f"{places['county']}-001")
        ctx = SimpleNamespace(user=SimpleNamespace(account_id=account[0], username=account[1]),
                              request_id="import-test", trees=trees, settings=env.settings)
        mine = _mines_in(db, places["county"], 8)[5]
        with pytest.raises(BadUserInput, match="maxDepth"):
            plan_mine_changes(None, {"maxDepth": -1}, trees)
        now = datetime.now(UTC)
        async with engine.begin() as conn:
            import_id = (await conn.execute(insert(MineImport).values(
                at=now, account_id=account[0], username=account[1], scope_key="test", applied=True,
            ).returning(MineImport.id))).scalar_one()
            locked = (await conn.execute(update(Mine).where(Mine.id == mine["id"]).values(updated_at=now)
                                         .returning(*Mine.__table__.c))).first()
            plan = plan_mine_changes(locked, {"workersPerShift": 3, "name": "导入改名矿"}, trees)
            await apply_mine_changes(conn, ctx, locked, plan.columns, plan.changes, now, import_id, bump=True)
            new = plan_mine_changes(None, {**_input(places["county"], mineralCode=mine["mineral_code"]),
                                           "capacityUnit": mine["capacity_unit"], "scale": "SMALL",
                                           "scaleNote": "导入"}, trees)
            row, password = await insert_mine(conn, ctx, new.columns, now, import_id)
            assert password and row.code.startswith(f"C{places['county']}")
            stored = (await conn.execute(select(Mine.version).where(Mine.id == mine["id"]))).scalar_one()
            assert stored == locked.version + 1
    finally:
        await engine.dispose()
    history = (await env.gql(MINE_EDIT, {"id": str(mine["id"])}, await _token(env, f"{places['county']}-001")))
    entries = history.data["mine"]["history"]
    assert {h["field"] for h in entries if h["importId"] == str(import_id)} == {"workersPerShift", "name"}
    created = _one(db, "SELECT import_id FROM audit_log WHERE action = 'mine.create' AND mine_id = ?", row.id)
    assert created[0] == import_id


async def test_moving_a_mine_to_another_county_moves_its_account(edit_env, places):
    env, db = edit_env, edit_env.db
    mine = _mines_in(db, places["county"], 8)[4]
    other = _one(db, "SELECT code FROM region WHERE parent_code = ? AND level = 'COUNTY' AND code != ? ORDER BY code "
                     "LIMIT 1", places["city"], places["county"])[0]
    token = await _token(env, f"{places['city']}-001")
    moved = await env.gql(UPDATE_MINE, {"id": str(mine["id"]), "input": {"regionCode": other,
                                                                         "supervisoryBody": "CITY"}}, token)
    assert moved.errors is None, moved.errors
    assert moved.data["updateMine"]["region"]["code"] == other and moved.data["updateMine"]["code"] == mine["code"]
    row = _one(db, "SELECT county_code, city_code, province_code FROM mine WHERE id = ?", mine["id"])
    assert tuple(row) == (other, places["city"], places["province"])
    assert _one(db, "SELECT region_code FROM account WHERE mine_id = ?", mine["id"])[0] == other
    own = await env.gql(MINE_EDIT, {"id": str(mine["id"])}, await _token(env, mine["code"]))
    assert own.errors is None and own.data["mine"]["region"]["code"] == other
    before = await env.gql(UPDATE_MINE, {"id": str(mine["id"]), "input": {"regionCode": places["far"]}}, token)
    assert before.codes == ["NOT_FOUND"]  # a county outside the caller's jurisdiction: as unknown


async def test_a_capacity_in_another_unit_keeps_the_scale(edit_env, places):
    """The scale table compares in its own unit: no conversion is guessed (docs/api.md)."""
    from models.db import make_engine
    from models.errors import BadUserInput
    from models.trees import load_trees
    from resolvers.mine_edits import plan_mine_changes

    env, db = edit_env, edit_env.db
    engine = make_engine(env.settings.database_url)
    try:
        trees = await load_trees(engine)
    finally:
        await engine.dispose()
    row = dict(_one(db, "SELECT * FROM mine WHERE scale_override_note IS NULL AND revoked_at IS NULL "
                        "ORDER BY id LIMIT 1"))
    mine = SimpleNamespace(**{**row, "capacity_unit": "立方米/日"})  # not the scale row's unit
    plan = plan_mine_changes(mine, {"designCapacity": row["design_capacity"] * 1000}, trees)
    assert [c["field"] for c in plan.changes] == ["designCapacity"]  # the scale stays
    assert plan.warnings and "capacityUnit" in plan.warnings[0]
    same_unit = plan_mine_changes(SimpleNamespace(**row), {"designCapacity": 1e12}, trees)
    assert {c["field"] for c in same_unit.changes} <= {"designCapacity", "scale"} and not same_unit.warnings
    new = {**_input(row["county_code"], mineralCode=row["mineral_code"]), "capacityUnit": "立方米/日"}
    with pytest.raises(BadUserInput, match="scaleNote"):
        plan_mine_changes(None, new, trees)
    overridden = plan_mine_changes(None, {**new, "scale": "SMALL", "scaleNote": "许可证载明"}, trees)
    assert overridden.columns["scale"] == "SMALL" and overridden.columns["scale_override_note"] == "许可证载明"


async def test_the_set_write_stores_what_the_executemany_write_stores(edit_env, places):
    """resolvers/mine_apply.write_columns: PostgreSQL's one statement per set of columns (an import's
    chunk) against the executemany of one-row UPDATEs that SQLite runs, on the same mines and
    values: the same stored rows (VERIFIED turned STALE, NULLs written), with and without the version
    step, and a mine written by someone else since it was planned is never reported as stepped."""
    from datetime import UTC, datetime

    from sqlalchemy import select, update

    from models.db import make_engine
    from models.mine import Mine
    from resolvers.mine_apply import write_columns

    env, db = edit_env, edit_env.db
    if not env.settings.database_url.startswith("postgresql"):
        pytest.skip("the set form is PostgreSQL's (unnest)")
    mines = _mines_in(db, places["county"], 6)
    ids = [m["id"] for m in mines]
    names = ("max_depth", "name", "principal_phone", "scale_override_note", "workers_per_shift")
    rows = [{"p_id": m["id"], "p_version": m["version"], "p_name": f"差分矿{i}", "p_workers_per_shift": 40 + i,
             "p_max_depth": 100.5 + i, "p_principal_phone": None if i % 2 else "13800000000",
             "p_scale_override_note": None} for i, m in enumerate(mines)]
    now = datetime.now(UTC)
    engine = make_engine(env.settings.database_url)
    outcomes: dict = {}
    try:
        for bump in (False, True):
            for as_set in (True, False):
                async with engine.connect() as conn:
                    await conn.begin()
                    await conn.execute(update(Mine).where(Mine.id == ids[0]).values(verification_state="VERIFIED"))
                    returned = await write_columns(conn, names, rows, now, bump=bump, as_set=as_set)
                    stored = [dict(r._mapping) for r in (await conn.execute(
                        select(Mine.__table__).where(Mine.id.in_(ids)).order_by(Mine.id))).all()]
                    await conn.rollback()
                outcomes[bump, as_set] = stored, sorted(tuple(r) for r in returned)
        for as_set in (True, False):  # a mine stepped by someone else since it was planned
            async with engine.connect() as conn:
                await conn.begin()
                await conn.execute(update(Mine).where(Mine.id == ids[1]).values(version=Mine.version + 1))
                moved = {r.id: r.version for r in await write_columns(conn, names, rows, now, bump=True,
                                                                      as_set=as_set)}
                await conn.rollback()
            assert moved.get(ids[1]) != mines[1]["version"] + 1
            assert all(moved[m["id"]] == m["version"] + 1 for m in mines if m["id"] != ids[1])
    finally:
        await engine.dispose()
    for bump in (False, True):
        assert outcomes[bump, True] == outcomes[bump, False]
        stored, returned = outcomes[bump, True]
        assert [r["verification_state"] for r in stored][:1] == ["STALE"]
        assert [(r["name"], r["workers_per_shift"], r["principal_phone"]) for r in stored] == [
            (row["p_name"], row["p_workers_per_shift"], row["p_principal_phone"]) for row in rows]
        assert [r["version"] for r in stored] == [m["version"] + bump for m in mines]
        assert len(returned) == (len(mines) if bump else 0)
