"""Every DateTime a client can read has one format: milliseconds and the zone's offset
(`2022-04-30T09:15:31.000+08:00`), whether the value was seeded or written a moment ago."""

from __future__ import annotations

import json
import re
from pathlib import Path

from graphql import build_schema, get_named_type

from support.queries import PROPOSE_CHANGE, REVIEW_CHANGE, SET_GUARANTOR, UPDATE_LOCATION, VERIFY_MINE

SCHEMA = build_schema((Path(__file__).resolve().parents[2] / "schema.graphql").read_text(encoding="utf-8"))
# Every (type, field) of the SDL whose value is a DateTime: a new one must be read below too.
DATETIME_FIELDS = {
    (name, field_name)
    for name, type_ in SCHEMA.type_map.items() if not name.startswith("__") and hasattr(type_, "fields")
    for field_name, field in type_.fields.items() if get_named_type(field.type).name == "DateTime"
}
FORMAT = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+08:00")

MINE_FIELDS = """__typename id updatedAt location { __typename updatedAt }
  guarantors { __typename updatedAt } history { __typename at }"""
READ = f"""
query Read($id: ID!) {{
  dashboard {{ __typename updatedAt }}
  mine(id: $id) {{ {MINE_FIELDS} }}
  me {{ mine {{ {MINE_FIELDS} }} }}
}}
"""
SUGGESTED = "query { guarantorSuggestions(level: COUNTY) { __typename lastUsedAt } }"
# Registry maintenance: what only exists once a mine was verified, a change reviewed, a file imported.
MAINTENANCE = """query Kept($id: ID!) {
  mine(id: $id) { verification { __typename verifiedAt } }
  mineChangeRequests(first: 5) { edges { node { __typename proposedAt reviewedAt } } }
  imports(first: 5) { __typename at }
}"""
IMPORT = "mutation I($file: Upload!) { importMines(file: $file) { __typename at } }"
# Written only once such a thing happens: the seeded registry has none of them.
MAINTENANCE_FIELDS = {("Verification", "verifiedAt"), ("MineChangeRequest", "proposedAt"),
                      ("MineChangeRequest", "reviewedAt"), ("ImportReport", "at")}


def _datetimes(value, found: list[tuple[str, str, str]]) -> list[tuple[str, str, str]]:
    """(type, field, text) of every DateTime in an answer, found by the __typename beside it."""
    if isinstance(value, list):
        for item in value:
            _datetimes(item, found)
    elif isinstance(value, dict):
        for key, item in value.items():
            if (value.get("__typename"), key) in DATETIME_FIELDS:
                found.append((value["__typename"], key, item))
            else:
                _datetimes(item, found)
    return found


async def _read_all(env, mine: dict, county_token: str) -> list[tuple[str, str, str]]:
    found: list[tuple[str, str, str]] = []
    for query, variables, token in ((READ, {"id": str(mine["id"])}, await env.token(mine["code"])),
                                    (SUGGESTED, None, county_token),
                                    (MAINTENANCE, {"id": str(mine["id"])}, county_token)):
        result = await env.gql(query, variables, token)
        assert result.errors is None, result.errors
        _datetimes(result.data, found)
    return found


async def test_every_datetime_seeded_or_written_has_millisecond_precision(fresh_env):
    db = fresh_env.db
    # A located mine whose county guarantor its county's -001 account is recorded as having entered
    # (so it has seeded suggestions too).
    mine = dict(db.execute(
        "SELECT m.id, m.code, m.county_code, m.lat, m.lng FROM mine m"
        " JOIN guarantor g ON g.mine_id = m.id AND g.level = 'COUNTY'"
        " JOIN account a ON a.id = g.entered_by AND a.username = m.county_code || '-001'"
        " WHERE m.lat IS NOT NULL ORDER BY m.id LIMIT 1").fetchone())
    county_token = await fresh_env.token(f"{mine['county_code']}-001")

    seeded = await _read_all(fresh_env, mine, county_token)
    assert {(t, f) for t, f, _ in seeded if _ is not None} == DATETIME_FIELDS - {("MineChange", "at")} - \
        MAINTENANCE_FIELDS  # no history yet, nothing verified, requested or imported

    # Written now, twice in quick succession: the answers of the writes carry DateTimes too.
    moved = await fresh_env.gql(UPDATE_LOCATION, {"id": str(mine["id"]), "lat": mine["lat"], "lng": mine["lng"],
                                                  "datum": "WGS84"}, await fresh_env.token(mine["code"]))
    person = {"name": "李建国", "position": "副县长", "phone": "13912345678"}
    named = await fresh_env.gql(SET_GUARANTOR, {"id": str(mine["id"]), "level": "COUNTY", "input": person},
                                county_token)
    assert moved.errors is None and named.errors is None, (moved.errors, named.errors)
    await _maintain(fresh_env, mine, county_token)
    written = [moved.data["updateMineLocation"]["location"]["updatedAt"], named.data["setGuarantor"]["updatedAt"],
               *(g["updatedAt"] for g in named.data["setGuarantor"]["guarantors"])]
    after = await _read_all(fresh_env, mine, county_token)
    assert {(t, f) for t, f, _ in after} == DATETIME_FIELDS

    seeded = [found for found in seeded if found[2] is not None]  # null: not verified, reviewed … yet
    for type_name, field, text in [*seeded, *after, *(("write answer", "updatedAt", t) for t in written)]:
        assert isinstance(text, str) and FORMAT.fullmatch(text), (type_name, field, text)


async def _maintain(env, mine: dict, county_token: str) -> None:
    """Verify the mine, have its own account propose a change the county approves, import a file."""
    version = (await env.gql("query V($id: ID!) { mine(id: $id) { version } }", {"id": str(mine["id"])},
                             county_token)).data["mine"]["version"]
    verified = await env.gql(VERIFY_MINE, {"id": str(mine["id"]), "v": version}, county_token)
    proposed = await env.gql(PROPOSE_CHANGE, {"id": str(mine["id"]), "input": {"workersPerShift": 12}},
                             await env.token(mine["code"]))
    assert verified.errors is None and proposed.errors is None, (verified.errors, proposed.errors)
    reviewed = await env.gql(REVIEW_CHANGE, {"id": proposed.data["proposeMineChange"]["id"], "approve": True},
                             county_token)
    assert reviewed.errors is None, reviewed.errors
    operations = {"query": IMPORT, "variables": {"file": None}}
    response = await env.client.post(
        "/graphql", headers={"Authorization": f"Bearer {county_token}"},
        data={"operations": json.dumps(operations), "map": json.dumps({"0": ["variables.file"]})},
        files={"0": ("m.csv", "矿山编码,矿山名称,行政区划代码,开采矿种,设计生产能力,生产能力单位,开拓方式,"
                              "最大开采深度(米),单班下井作业人数,生产状况,日常安全监管主体\n".encode())})
    assert response.status_code == 200 and "errors" not in response.json(), response.text
