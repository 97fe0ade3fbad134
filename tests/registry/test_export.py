"""GET /export/*: who may download what, the files' shape, and the signed links (docs/api.md, "Export").

Every file is compared with a recount of the database written here in SQL (the tiers' rule from
the contract), never with the service's own statements.
"""

from __future__ import annotations

import csv
import io
import json
from urllib.parse import parse_qsl, urlencode, urlsplit

import openpyxl
import pytest
from python_calamine import CalamineWorkbook

from auth.export_links import LINK_TTL_S, sign_link
from auth.sessions import CurrentUser
from support.error_language import assert_bilingual
from support.queries import LOGIN, LOGOUT
from spreadsheets.columns import COLUMNS

LABELS = [c.label for c in COLUMNS]
TIERS = ["NATIONAL", "PROVINCE", "CITY", "COUNTY", "ENTERPRISE"]
TIER_COLUMN = {"PROVINCE": "province_code", "CITY": "city_code", "COUNTY": "county_code"}
EXPORT_LINK = """query Link($kind: ExportKind!, $regionCode: String, $filter: MineFilter, $depth: Int) {
  exportLink(kind: $kind, regionCode: $regionCode, filter: $filter, depth: $depth) }"""


def recount(db, caller, where: str = "1=1", args: tuple = ()) -> list[str]:
    """Codes of the caller's live mines (and `where`), in the API's order."""
    if caller.tier == "NATIONAL":
        scope, scope_args = "1=1", ()
    elif caller.tier == "ENTERPRISE":
        scope, scope_args = "id = ?", (caller.mine_id,)
    else:
        scope, scope_args = f"{TIER_COLUMN[caller.tier]} = ?", (caller.region_code,)
    rows = db.execute(f"SELECT code FROM mine WHERE revoked_at IS NULL AND {scope} AND {where} "
                      "ORDER BY county_code, code", (*scope_args, *args)).fetchall()
    return [r["code"] for r in rows]


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def read_csv(body: bytes) -> list[list[str]]:
    assert body.startswith(b"\xef\xbb\xbf"), "UTF-8 with BOM, so that Excel reads it as UTF-8"
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"), newline="")))


async def get(client, path: str, params: dict | None = None, token: str | None = None):
    return await client.get(path, params=params, headers=bearer(token) if token else {})


# --------------------------------------------------------------------------- scope


@pytest.mark.parametrize("tier", TIERS)
async def test_the_csv_holds_exactly_the_callers_mines(client, db, callers, tier):
    caller = callers[tier]
    response = await get(client, "/export/mines.csv", token=caller.token)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    rows = read_csv(response.content)
    assert rows[0] == LABELS
    assert [r[0] for r in rows[1:]] == recount(db, caller)
    assert all(len(r) == len(LABELS) for r in rows)


@pytest.mark.parametrize("tier", ["NATIONAL", "COUNTY", "ENTERPRISE"])
async def test_the_xlsx_holds_exactly_the_callers_mines_with_typed_cells(client, db, callers, tier):
    caller = callers[tier]
    response = await get(client, "/export/mines.xlsx", token=caller.token)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/vnd.openxmlformats")
    assert int(response.headers["content-length"]) == len(response.content)
    sheet = openpyxl.load_workbook(io.BytesIO(response.content), read_only=True)["矿山"]
    rows = list(sheet.iter_rows(values_only=True))
    assert list(rows[0]) == LABELS
    assert [r[0] for r in rows[1:]] == recount(db, caller)
    at = {label: i for i, label in enumerate(LABELS)}
    for row in rows[1:]:
        assert isinstance(row[at["矿山编码"]], str) and isinstance(row[at["行政区划代码"]], str)
        assert isinstance(row[at["设计生产能力"]], (int, float)) and isinstance(row[at["单班下井作业人数"]], int)
        assert isinstance(row[at["最大开采深度(米)"]], (int, float)) and isinstance(row[at["版本"]], int)
        assert row[at["主要负责人电话"]] is None or isinstance(row[at["主要负责人电话"]], str)
    # python-calamine reads the same header and row count (what the import reads with)
    calamine = CalamineWorkbook.from_filelike(io.BytesIO(response.content)).get_sheet_by_name("矿山").to_python()
    assert calamine[0] == LABELS and len(calamine) == len(rows)


async def test_cells_are_what_an_import_reads_back(client, db, callers):
    caller = callers["COUNTY"]
    rows = read_csv((await get(client, "/export/mines.csv", token=caller.token)).content)
    at = {label: i for i, label in enumerate(LABELS)}
    by_code = {r[0]: r for r in rows[1:]}
    mines = db.execute("SELECT * FROM mine WHERE county_code = ? AND revoked_at IS NULL", (caller.region_code,))
    region = {r["code"]: r["name"] for r in db.execute("SELECT code, name FROM region")}
    mineral = {r["code"]: r["name"] for r in db.execute("SELECT code, name FROM mineral_type")}
    for mine in mines:
        row = by_code[mine["code"]]
        assert row[at["行政区划代码"]] == mine["county_code"]
        path = "".join(region[c] for c in (mine["province_code"], mine["city_code"], mine["county_code"]) if c)
        assert row[at["所属行政区域"]] == path
        assert row[at["开采矿种"]] == mineral[mine["mineral_code"]]
        assert float(row[at["设计生产能力"]]) == mine["design_capacity"]
        assert int(row[at["单班下井作业人数"]]) == mine["workers_per_shift"]
        if mine["development_method"] == "COMBINED" and mine["development_detail"]:
            assert row[at["开拓方式"]] == mine["development_detail"]
        assert row[at["规模"]] == ("" if mine["scale_override_note"] is None else
                                   {"LARGE": "大型", "MEDIUM": "中型", "SMALL": "小型"}[mine["scale"]])
        assert row[at["核实状态"]] in ("已核实", "核实后已变更", "未核实")
        assert len(row[at["更新时间"]]) == 19 and row[at["更新时间"]][10] == " "
        if mine["lat"] is None:
            assert row[at["经度"]] == row[at["纬度"]] == row[at["坐标系"]] == ""
        elif mine["source_datum"] == "GCJ02":
            assert row[at["坐标系"]] == "GCJ-02" and float(row[at["纬度"]]) != mine["lat"]
        else:
            assert row[at["坐标系"]] == "WGS-84" and float(row[at["纬度"]]) == mine["lat"]
            assert float(row[at["经度"]]) == mine["lng"]


async def test_region_and_filter_narrow_the_export(client, db, callers):
    caller = callers["PROVINCE"]
    city = callers["CITY"].region_code
    params = {"regionCode": city, "filter": json.dumps({"productionStatuses": ["NORMAL", "TRIAL"],
                                                        "over30Workers": True})}
    rows = read_csv((await get(client, "/export/mines.csv", params, caller.token)).content)
    expected = recount(db, caller, "city_code = ? AND production_status IN ('NORMAL', 'TRIAL') "
                                   "AND workers_per_shift > 30", (city,))
    assert expected and [r[0] for r in rows[1:]] == expected
    # the region inside the filter narrows the same way
    params = {"filter": json.dumps({"regionCode": city, "scales": []})}
    rows = read_csv((await get(client, "/export/mines.csv", params, caller.token)).content)
    assert rows == [LABELS]  # an empty list matches nothing, as in the API


@pytest.mark.parametrize("where", ["param", "filter"])
async def test_a_region_outside_the_scope_is_not_found_like_an_unknown_one(client, callers, db, where):
    caller = callers["CITY"]
    outside = db.execute("SELECT code FROM region WHERE level = 'COUNTY' AND (city_code IS NULL OR city_code <> ?) "
                         "ORDER BY code LIMIT 1", (caller.region_code,)).fetchone()["code"]
    answers = []
    for code in (outside, "999999"):
        params = {"regionCode": code} if where == "param" else {"filter": json.dumps({"regionCode": code})}
        for path in ("/export/mines.csv", "/export/mines.xlsx", "/export/stats.csv"):
            response = await get(client, path, params, caller.token)
            body = response.json()
            assert response.status_code == 404 and body["errors"][0]["extensions"]["code"] == "NOT_FOUND"
            assert "data" not in body and not response.headers.get("content-disposition")
            assert_bilingual(body["errors"])
            answers.append(body["errors"][0]["message"].replace(code, "CODE"))
    assert len(set(answers)) == 1


# --------------------------------------------------------------------------- refusals


@pytest.mark.parametrize("path", ["/export/mines.csv", "/export/mines.xlsx", "/export/stats.xlsx",
                                  "/export/stats.csv", "/export/template.xlsx"])
async def test_no_token_is_401_and_a_token_in_the_address_is_refused(client, callers, path):
    response = await client.get(path)
    assert response.status_code == 401 and response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    token = callers["NATIONAL"].token
    for name in ("token", "access_token"):
        response = await client.get(path, params={name: token})
        assert response.status_code == 401, response.text
        # even beside a valid header: an address with a token in it must not become a habit
        response = await client.get(path, params={name: token}, headers=bearer(token))
        assert response.status_code == 401
        assert_bilingual(response.json()["errors"])
    response = await client.get(path, headers=bearer("not-a-token"))
    assert response.status_code == 401


@pytest.mark.parametrize(("params", "fragment"), [
    ({"filter": "{not json"}, "JSON"),
    ({"filter": "[1]"}, "object"),
    ({"filter": json.dumps({"productionStatuses": ["RUNNING"]})}, "RUNNING"),
    ({"filter": json.dumps({"depthMin": "deep"})}, "depthMin"),
    ({"filter": json.dumps({"depthMin": 10, "depthMax": 1})}, "depthMin"),
    ({"filter": json.dumps({"mineralCodes": ["zz"]})}, "zz"),
    ({"regioncode": "530000"}, "regioncode"),
    ({"depth": "4"}, "depth"),
])
async def test_bad_parameters_are_400_bad_user_input_in_both_languages(client, callers, params, fragment):
    path = "/export/stats.csv" if "depth" in params else "/export/mines.csv"
    response = await get(client, path, params, callers["NATIONAL"].token)
    body = response.json()
    assert response.status_code == 400, body
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT" and fragment in body["errors"][0]["message"]
    assert_bilingual(body["errors"])


async def test_other_methods_and_unknown_exports_answer_json(client, callers):
    response = await client.post("/export/mines.csv", headers=bearer(callers["NATIONAL"].token))
    assert response.status_code == 405 and response.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    response = await client.get("/export/secrets.zip", headers=bearer(callers["NATIONAL"].token))
    assert response.status_code == 404 and response.json()["errors"][0]["extensions"]["code"] == "NOT_FOUND"


# --------------------------------------------------------------------------- signed links


async def link(gql, token: str, kind: str, **variables) -> str:
    result = await gql(EXPORT_LINK, {"kind": kind, **variables}, token=token)
    assert result.errors is None, result.errors
    return result.data["exportLink"]


async def test_a_signed_link_downloads_without_a_token(client, gql, db, callers):
    caller = callers["PROVINCE"]
    city = callers["CITY"].region_code
    path = await link(gql, caller.token, "MINES_CSV", regionCode=city, filter={"productionStatuses": ["NORMAL"]})
    assert path.startswith("/export/mines.csv?") and "token" not in path and caller.token not in path
    query = dict(parse_qsl(urlsplit(path).query))
    assert json.loads(query["filter"]) == {"productionStatuses": ["NORMAL"]}
    assert int(query["exp"]) - LINK_TTL_S <= __import__("time").time() + 1
    response = await client.get(path)
    assert response.status_code == 200, response.text
    rows = read_csv(response.content)
    assert [r[0] for r in rows[1:]] == recount(db, caller, "city_code = ? AND production_status = 'NORMAL'", (city,))
    assert "filename*=UTF-8''" in response.headers["content-disposition"]
    for kind in ("MINES_XLSX", "STATS_XLSX", "STATS_CSV", "TEMPLATE"):
        assert (await client.get(await link(gql, caller.token, kind))).status_code == 200, kind


async def test_a_link_expires_and_breaks_when_changed(client, env, callers):
    caller = callers["COUNTY"]
    row = env.db.execute("SELECT * FROM account WHERE username = ?", (caller.username,)).fetchone()
    sessions = env.db.execute("SELECT token_hash FROM auth_session WHERE account_id = ? AND revoked_at IS NULL",
                              (row["id"],)).fetchall()
    from auth.sessions import token_digest
    user = CurrentUser.from_row(_Row(row), session=token_digest(caller.token))
    assert token_digest(caller.token) in [s["token_hash"] for s in sessions]
    secret = env.settings.resolved_secret_key()
    fresh = sign_link(secret, "/export/mines.csv", {}, user)
    assert (await client.get(fresh)).status_code == 200
    import time
    expired = sign_link(secret, "/export/mines.csv", {}, user, exp=int(time.time()) - 1)
    assert (await client.get(expired)).status_code == 401
    too_long = sign_link(secret, "/export/mines.csv", {}, user, exp=int(time.time()) + LINK_TTL_S + 60)
    assert (await client.get(too_long)).status_code == 401
    other_key = sign_link("another-secret", "/export/mines.csv", {}, user)
    assert (await client.get(other_key)).status_code == 401
    parts = urlsplit(fresh)
    query = parse_qsl(parts.query)
    tampered = [
        [(k, v if k != "sig" else v[:-2] + ("AA" if not v.endswith("AA") else "BB")) for k, v in query],
        [*query, ("regionCode", caller.region_code)],  # a parameter added
        [(k, v if k != "exp" else str(int(v) + 1)) for k, v in query],
        [(k, v) for k, v in query if k != "exp"],
    ]
    for params in tampered:
        response = await client.get(f"{parts.path}?{urlencode(params)}")
        assert response.status_code == 401, params
        assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
        assert_bilingual(response.json()["errors"])
    # the same signature on another path (the statistics instead of the mines)
    assert (await client.get(f"/export/stats.csv?{parts.query}")).status_code == 401


class _Row:
    def __init__(self, row) -> None:
        self.__dict__.update(dict(row))


async def test_a_link_never_opens_another_accounts_scope(client, gql, env, callers):
    county, province = callers["COUNTY"], callers["PROVINCE"]
    path = await link(gql, county.token, "MINES_CSV")
    other = env.db.execute("SELECT id FROM account WHERE username = ?", (province.username,)).fetchone()["id"]
    parts = urlsplit(path)
    swapped = [(k, str(other) if k == "acct" else v) for k, v in parse_qsl(parts.query)]
    assert (await client.get(f"{parts.path}?{urlencode(swapped)}")).status_code == 401
    # a county account's link to a region outside it is refused when asked for
    result = await gql(EXPORT_LINK, {"kind": "MINES_CSV", "regionCode": province.region_code}, token=county.token)
    assert result.codes == ["NOT_FOUND"] and result.data is None
    result = await gql(EXPORT_LINK, {"kind": "MINES_CSV", "filter": {"regionCode": "999999"}}, token=county.token)
    assert result.codes == ["NOT_FOUND"]
    assert (await gql(EXPORT_LINK, {"kind": "MINES_CSV"})).codes == ["UNAUTHENTICATED"]


async def test_a_link_dies_with_its_session_and_with_a_change_of_scope(client, gql, env, db):
    username = db.execute("SELECT username FROM account WHERE tier = 'CITY' ORDER BY username DESC LIMIT 1"
                          ).fetchone()["username"]
    token = (await gql(LOGIN, {"u": username, "p": env.settings.demo_password})).data["login"]["token"]
    path = await link(gql, token, "MINES_CSV")
    assert (await client.get(path)).status_code == 200
    account = db.execute("SELECT id, region_code FROM account WHERE username = ?", (username,)).fetchone()
    elsewhere = db.execute("SELECT code FROM region WHERE level = 'CITY' AND code <> ? ORDER BY code LIMIT 1",
                           (account["region_code"],)).fetchone()["code"]
    db.execute("UPDATE account SET region_code = ? WHERE id = ?", (elsewhere, account["id"]))
    db.commit()
    try:
        assert (await client.get(path)).status_code == 401
    finally:
        db.execute("UPDATE account SET region_code = ? WHERE id = ?", (account["region_code"], account["id"]))
        db.commit()
    assert (await client.get(path)).status_code == 200
    assert (await gql(LOGOUT, token=token)).errors is None
    assert (await client.get(path)).status_code == 401


# --------------------------------------------------------------------------- statistics


STATS = "total large medium small over30Workers over800mDepth byCategory { mineral { code } count }"
PROGRESS = ("withLocation cityLevelApplicable withProvinceGuarantor withCityGuarantor withCountyGuarantor "
            "withEnterpriseGuarantor withAllGuarantors complete")
CHECKED = "verified stale unverified"
DRILL = f"""query Drill($filter: MineFilter) {{ region {{ ...N children {{ ...N children {{ ...N }} }} }} }}
fragment N on Region {{ code name stats(filter: $filter) {{ {STATS} }} completeness(filter: $filter) {{ {PROGRESS} }}
  verification(filter: $filter) {{ {CHECKED} }} }}"""


def _api_rows(node, depth: int) -> list[list]:
    stats, progress = node["stats"], node["completeness"]
    row = [node["code"], node["name"], stats["total"], stats["large"], stats["medium"], stats["small"],
           stats["over30Workers"], stats["over800mDepth"], *(c["count"] for c in stats["byCategory"]),
           *(progress[name] for name in PROGRESS.split()), *(node["verification"][n] for n in CHECKED.split())]
    rows = [row]
    if depth > 0:
        for child in node.get("children") or []:
            rows += _api_rows(child, depth - 1)
    return rows


@pytest.mark.parametrize("tier", TIERS)
@pytest.mark.parametrize("filter_", [None, {"scales": ["LARGE", "MEDIUM"], "over800mDepth": False}])
async def test_the_statistics_equal_the_api_drill_down(client, gql, callers, tier, filter_):
    caller = callers[tier]
    answer = await gql(DRILL, {"filter": filter_}, token=caller.token)
    assert answer.errors is None, answer.errors
    params = {"depth": "2", **({"filter": json.dumps(filter_)} if filter_ else {})}
    response = await get(client, "/export/stats.csv", params, caller.token)
    assert response.status_code == 200, response.text
    rows = read_csv(response.content)
    header, body = rows[0], rows[1:]
    assert header[:3] == ["行政区划代码", "行政区划名称", "级别"] and len(header) == 3 + 6 + 4 + 8 + 3
    exported = [[r[0], r[1], *map(int, r[3:])] for r in body]
    assert exported == _api_rows(answer.data["region"], 2)
    # the XLSX holds the same numbers, as numbers
    response = await get(client, "/export/stats.xlsx", params, caller.token)
    sheet = openpyxl.load_workbook(io.BytesIO(response.content), read_only=True).worksheets[0]
    cells = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert cells[0] == header and [[r[0], r[1], *r[3:]] for r in cells[1:]] == exported


async def test_statistics_depth_and_region(client, gql, callers):
    caller = callers["NATIONAL"]
    only_root = read_csv((await get(client, "/export/stats.csv", {"depth": "0"}, caller.token)).content)
    assert [r[0] for r in only_root[1:]] == ["000000"]
    default = read_csv((await get(client, "/export/stats.csv", None, caller.token)).content)
    assert default[1][0] == "000000" and {len(r[0]) for r in default[1:]} == {6} and len(default) > 3
    province = callers["PROVINCE"].region_code
    narrowed = read_csv((await get(client, "/export/stats.csv", {"regionCode": province}, caller.token)).content)
    assert narrowed[1][0] == province and all(r[0][:2] == province[:2] for r in narrowed[1:])


# --------------------------------------------------------------------------- the template


async def test_the_template_has_allowed_values_and_drop_downs(client, callers):
    response = await get(client, "/export/template.xlsx", token=callers["ENTERPRISE"].token)
    assert response.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(response.content))
    assert book.sheetnames == ["矿山", "允许值"]
    sheet, allowed = book["矿山"], book["允许值"]
    assert [c.value for c in sheet[1]] == LABELS
    assert all(c.comment is not None for c in sheet[1])
    required = {c.label for c in COLUMNS if c.required}
    assert {c.value for c in sheet[1] if c.font.bold and c.font.color is not None
            and str(c.font.color.rgb).endswith("C00000")} == required
    lists = {allowed.cell(1, col).value: [allowed.cell(r, col).value for r in range(2, allowed.max_row + 1)
                                          if allowed.cell(r, col).value]
             for col in range(1, allowed.max_column + 1)}
    assert lists["生产状况"][0] == "正常生产" and lists["坐标系"] == ["WGS-84", "GCJ-02"]
    assert set(lists) == {"生产状况", "日常安全监管主体", "开拓方式", "规模", "坐标系"}
    validations = sheet.data_validations.dataValidation
    letters = {c.value: c.column_letter for c in sheet[1]}
    covered = {str(v.sqref): v for v in validations}
    for label in lists:
        found = covered[f"{letters[label]}2:{letters[label]}2001"]
        assert found.type == "list" and "允许值" in found.formula1
