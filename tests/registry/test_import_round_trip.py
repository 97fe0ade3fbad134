"""Export → import round trips (issue 12): a file the service exported, imported back by the same
account, changes nothing; edits made in it come back as exactly those changes; applying them and
importing the same file again changes nothing more.

The exported mines are made to cover every column group first, through the API: locations entered
in GCJ-02 and in WGS-84, guarantors at every level, a principal, a scale override and a COMBINED
method with its detail.
"""

from __future__ import annotations

import io
import os

import openpyxl
import pytest
from hypothesis import given, note, settings
from hypothesis import strategies as st

from support.import_requests import export, send
from support.property_settings import property_profile
from support.queries import MINE_DETAIL, SET_GUARANTOR, UPDATE_LOCATION, UPDATE_MINE
from support.sheet_files import xlsx_bytes
from spreadsheets.columns import COLUMNS

LABELS = tuple(c.label for c in COLUMNS)
LEVEL_LABEL = {"PROVINCE": "省级", "CITY": "市级", "COUNTY": "县级", "ENTERPRISE": "企业"}
PERSON_PARTS = (("name", "姓名"), ("position", "职务"), ("phone", "电话"))
# One example imports a county's export (a few dozen rows) as a dry run: ~0.5 s. PROPERTY_CASES
# (2,000 in `make test`, 20,000 in `make soak`) scales it like the other properties.
CASES = max(25, int(os.environ.get("PROPERTY_CASES") or 2000) // 80)
ROUND_TRIP = property_profile("minegraph-round-trip", CASES)


@pytest.fixture(scope="module")
async def place(fresh_env):
    """A county (under a city) whose mines cover every column group, set through the API."""
    db, env = fresh_env.db, fresh_env
    county = db.execute("SELECT county_code FROM mine WHERE city_code IS NOT NULL AND revoked_at IS NULL "
                        "GROUP BY county_code HAVING count(*) >= 6 ORDER BY county_code LIMIT 1").fetchone()[0]
    mines = [dict(r) for r in db.execute("SELECT * FROM mine WHERE county_code = ? AND revoked_at IS NULL "
                                         "ORDER BY code", (county,))]
    province, city = mines[0]["province_code"], mines[0]["city_code"]
    leads = {"PROVINCE": f"{province}-001", "CITY": f"{city}-001", "COUNTY": f"{county}-001"}
    gcj, wgs, people, edited = mines[:4]
    # Locations as their enterprises enter them: one in GCJ-02 (a phone map), one in WGS-84 (GPS).
    for mine, datum, (lat, lng) in ((gcj, "GCJ02", (25.043217, 102.712251)), (wgs, "WGS84", (25.101234, 102.801987))):
        done = await env.gql(UPDATE_LOCATION, {"id": str(mine["id"]), "lat": lat, "lng": lng, "datum": datum},
                             await env.token(mine["code"]))
        assert done.errors is None, done.errors
    # Guarantors at every level, each set by the account whose level it is.
    for level, username in (*leads.items(), ("ENTERPRISE", people["code"])):
        person = {"name": f"{LEVEL_LABEL[level]}包保人", "position": f"{LEVEL_LABEL[level]}职务",
                  "phone": "139-1234 5678"}  # stored without the dashes and spaces
        done = await env.gql(SET_GUARANTOR, {"id": str(people["id"]), "level": level, "input": person},
                             await env.token(username))
        assert done.errors is None, done.errors
    # A principal, a scale override and a COMBINED method with its detail, by the county's lead.
    basic = {"principal": {"name": "张主任", "phone": "0871-65123456"}, "scale": "LARGE",
             "scaleNote": "省厅认定", "developmentMethod": "COMBINED", "developmentDetail": "竖井-斜坡道"}
    done = await env.gql(UPDATE_MINE, {"id": str(edited["id"]), "input": basic}, await env.token(leads["COUNTY"]))
    assert done.errors is None, done.errors
    return {"county": county, "city": city, "province": province, "leads": leads,
            "codes": [m["code"] for m in mines], "covered": [gcj["id"], wgs["id"], people["id"], edited["id"]]}


def sheet_rows(data: bytes) -> list[dict]:
    """The export's rows as label → cell value (as openpyxl reads them: numbers stay numbers)."""
    sheet = openpyxl.load_workbook(io.BytesIO(data), read_only=True)["矿山"]
    rows = list(sheet.iter_rows(values_only=True))
    assert list(rows[0]) == list(LABELS)
    return [dict(zip(LABELS, row)) for row in rows[1:]]


def assert_all_unchanged(report: dict, codes: list[str]) -> None:
    assert report["applied"] is False and report["rejected"] == 0, [r for r in report["rows"] if r["errors"]]
    assert [r["code"] for r in report["rows"]] == codes
    for row in report["rows"]:
        assert (row["action"], row["changes"], row["errors"], row["warnings"]) == ("UNCHANGED", [], [], []), row


# --------------------------------------------------------------------------- (a) every lead's own export


@pytest.mark.parametrize("kind", ["xlsx", "csv"])
@pytest.mark.parametrize("who", ["NATIONAL", "PROVINCE", "CITY", "COUNTY"])
async def test_an_export_imported_back_changes_nothing(fresh_env, place, who, kind):
    username = "000000-001" if who == "NATIONAL" else place["leads"][who]
    data = await export(fresh_env, username, kind, place["county"])
    if kind == "xlsx":
        rows = sheet_rows(data)
        # The export really holds the groups set above (else this test could not fail on them).
        covered = {r["矿山编码"]: r for r in rows}
        assert {covered[c]["坐标系"] for c in place["codes"][:2]} == {"GCJ-02", "WGS-84"}
        assert all(covered[place["codes"][2]][f"{LEVEL_LABEL[level]}包保责任人电话"] == "13912345678"
                   for level in LEVEL_LABEL)
        assert (covered[place["codes"][3]]["开拓方式"], covered[place["codes"][3]]["规模"]) == ("竖井-斜坡道", "大型")
    body = await send(fresh_env, username, data, name=f"mines.{kind}")
    assert "errors" not in body, body["errors"]
    assert_all_unchanged(body["data"]["importMines"], place["codes"])


# --------------------------------------------------------------------------- (b) edits come back as exactly those changes

STATUS_LABELS = ("正常生产", "试生产", "基建", "停产整顿", "停产", "长期停产", "关闭/闭坑")
STATUS_NAMES = dict(zip(STATUS_LABELS, ("NORMAL", "TRIAL", "CONSTRUCTION", "RECTIFICATION", "SUSPENDED",
                                        "LONG_SUSPENDED", "CLOSED")))
BODY_LABELS = {"省级应急管理部门": "PROVINCE", "设区的市级应急管理部门": "CITY", "县级应急管理部门": "COUNTY"}
EDITS = ("workers", "depth", "capacity", "status", "body", "name", "principal", "county guarantor", "location")
NAMES = ("王建华", "李秀英", "赵国强", "陈晓东")
POSITIONS = ("副县长", "县应急管理局局长", "安全监管站站长")


def digits(phone: str) -> str:
    return phone.replace(" ", "").replace("-", "")


@st.composite
def phones(draw) -> str:
    """A mobile number, written bare or with the spaces and dashes people type (equal after normalising)."""
    number = "13" + draw(st.sampled_from("5789")) + draw(st.text("0123456789", min_size=8, max_size=8))
    return draw(st.sampled_from([number, f"{number[:3]} {number[3:7]} {number[7:]}", f"{number[:3]}-{number[3:]}"]))


@pytest.fixture(scope="module")
async def county_sheet(fresh_env, place):
    """The county's export as its lead downloads it, with what the scale rule needs per mine."""
    rows = sheet_rows(await export(fresh_env, place["leads"]["COUNTY"], "xlsx", place["county"]))
    scale = {r["code"]: dict(r) for r in fresh_env.db.execute(
        "SELECT m.code, m.scale, m.scale_override_note, m.capacity_unit, t.scale_row FROM mine m "
        "JOIN mineral_type t ON t.code = m.mineral_code WHERE m.county_code = ?", (place["county"],))}
    return rows, scale


def edit(draw, row: dict, kind: str, scale: dict) -> dict[str, object]:
    """Edit one group of cells of `row` in place; the FieldChange fields (→ new value, where simple)
    the import must report for it."""
    from seed.reference import capacity_unit, derive_scale

    if kind == "workers":
        row["单班下井作业人数"] += draw(st.integers(1, 200))
        return {"workersPerShift": row["单班下井作业人数"]}
    if kind == "depth":
        row["最大开采深度(米)"] += draw(st.integers(1, 500))
        return {"maxDepth": row["最大开采深度(米)"]}
    if kind == "capacity":
        row["设计生产能力"] += draw(st.integers(1, 300))
        changed = {"designCapacity": row["设计生产能力"]}
        # A derived scale follows the capacity (in the table's own unit); an override stays.
        if scale["scale_override_note"] is None and scale["capacity_unit"] == capacity_unit(scale["scale_row"]):
            derived = derive_scale(scale["scale_row"], row["设计生产能力"]).value
            if derived != scale["scale"]:
                changed["scale"] = derived
        return changed
    if kind == "status":
        row["生产状况"] = draw(st.sampled_from([s for s in STATUS_LABELS if s != row["生产状况"]]))
        return {"productionStatus": STATUS_NAMES[row["生产状况"]]}
    if kind == "body":
        row["日常安全监管主体"] = draw(st.sampled_from([b for b in BODY_LABELS if b != row["日常安全监管主体"]]))
        return {"supervisoryBody": BODY_LABELS[row["日常安全监管主体"]]}
    if kind == "name":
        row["矿山名称"] += draw(st.sampled_from(["二矿", "东区", "扩建工程"]))
        return {"name": row["矿山名称"]}
    if kind == "principal":
        old = (row["主要负责人"], row["主要负责人电话"])
        row["主要负责人"], row["主要负责人电话"] = draw(st.sampled_from(NAMES)), draw(phones())
        return {"principal": None} if (row["主要负责人"], digits(row["主要负责人电话"])) != old else {}
    if kind == "county guarantor":
        changed = {}
        for part, label in PERSON_PARTS:
            column = f"县级包保责任人{label}"
            old = row[column]
            row[column] = draw({"name": st.sampled_from(NAMES), "position": st.sampled_from(POSITIONS),
                                "phone": phones()}[part])
            if (digits(row[column]) if part == "phone" else row[column]) != old:
                changed[f"guarantors.COUNTY.{part}"] = None
        return changed
    # location: moved within its own datum; a mine without one gets a WGS-84 point
    if row["坐标系"] is None:
        row["经度"], row["纬度"], row["坐标系"] = 102.75, 25.05, "WGS-84"
    row["纬度"] += draw(st.sampled_from([0.001, -0.002, 0.0105]))
    row["经度"] += draw(st.sampled_from([0.0, 0.003, -0.0007]))
    return {"location": None}


@settings(ROUND_TRIP)
@given(data=st.data())
async def test_edited_cells_come_back_as_exactly_those_changes(fresh_env, place, county_sheet, data):
    exported, scales = county_sheet
    rows = [dict(r) for r in exported]
    picked = data.draw(st.lists(st.integers(0, len(rows) - 1), min_size=1, max_size=5, unique=True), label="rows")
    expected: dict[str, dict] = {}
    for i in picked:
        kinds = data.draw(st.lists(st.sampled_from(EDITS), min_size=1, max_size=4, unique=True), label=f"row {i}")
        for kind in kinds:
            expected.setdefault(rows[i]["矿山编码"], {}).update(edit(data.draw, rows[i], kind, scales[rows[i]["矿山编码"]]))
    # Untouched phones retyped with dashes and spaces: equal after normalising, so no change.
    for row in rows:
        if row["主要负责人电话"] and row["矿山编码"] not in expected and data.draw(st.booleans()):
            row["主要负责人电话"] = f"{row['主要负责人电话'][:3]}-{row['主要负责人电话'][3:]}"
    note(f"expected {expected}")
    body = await send(fresh_env, place["leads"]["COUNTY"], xlsx_bytes(rows, header=LABELS))
    assert "errors" not in body, body["errors"]
    report = body["data"]["importMines"]
    assert report["rejected"] == 0, [r for r in report["rows"] if r["errors"]]
    for row in report["rows"]:
        wanted = expected.get(row["code"], {})
        if not wanted:
            assert (row["action"], row["changes"], row["warnings"]) == ("UNCHANGED", [], []), row
            continue
        assert row["action"] == "UPDATE", row
        assert sorted(c["field"] for c in row["changes"]) == sorted(wanted), row
        for change in row["changes"]:
            if isinstance(wanted[change["field"]], float):  # numbers are equal to 6 significant digits
                assert change["new"] == pytest.approx(wanted[change["field"]], rel=1e-6), change
            elif wanted[change["field"]] is not None:
                assert change["new"] == wanted[change["field"]], change


# --------------------------------------------------------------------------- applying once, then the same file again

MINE_READ = """query M($id: ID!) { mine(id: $id) { code name workersPerShift maxDepth productionStatus
  principal { name phone } guarantors { level name position phone }
  location { gcj02 { lat lng } wgs84 { lat lng } sourceDatum } version } }"""


async def test_applied_edits_read_back_and_a_second_import_changes_nothing(fresh_env, place):
    lead = place["leads"]["COUNTY"]
    rows = sheet_rows(await export(fresh_env, lead, "xlsx", place["county"]))
    by_code = {r["矿山编码"]: r for r in rows}
    gcj, wgs, people, edited, fifth, sixth = (by_code[c] for c in place["codes"][:6])
    gcj["纬度"] += 0.002  # in GCJ-02, as it was entered
    wgs["单班下井作业人数"] += 3
    people["县级包保责任人姓名"], people["县级包保责任人电话"] = "钱新任", "137 0000-1111"
    edited["主要负责人"], edited["主要负责人电话"] = "孙厂长", "0871 6611 2233"  # stored as 0871-66112233
    fifth["生产状况"] = "停产整顿" if fifth["生产状况"] != "停产整顿" else "停产"
    sixth["矿山名称"] += "二矿"
    data = xlsx_bytes(rows, header=LABELS)
    applied = (await send(fresh_env, lead, data, apply=True))["data"]["importMines"]
    assert (applied["applied"], applied["changed"], applied["rejected"]) == (True, 6, 0), applied["rows"]
    token = await fresh_env.token(lead)
    read = {}
    for code in place["codes"][:6]:
        mine_id = fresh_env.db.execute("SELECT id FROM mine WHERE code = ?", (code,)).fetchone()[0]
        result = await fresh_env.gql(MINE_READ, {"id": str(mine_id)}, token)
        assert result.errors is None, result.errors
        read[code] = result.data["mine"]
    g = read[gcj["矿山编码"]]["location"]
    assert g["sourceDatum"] == "GCJ02"
    assert g["gcj02"]["lat"] == pytest.approx(gcj["纬度"], abs=1e-6)
    assert g["gcj02"]["lng"] == pytest.approx(gcj["经度"], abs=1e-6)
    assert read[wgs["矿山编码"]]["workersPerShift"] == wgs["单班下井作业人数"]
    county = {x["level"]: x for x in read[people["矿山编码"]]["guarantors"]}["COUNTY"]
    assert (county["name"], county["position"], county["phone"]) == ("钱新任", people["县级包保责任人职务"], "13700001111")
    assert read[edited["矿山编码"]]["principal"] == {"name": "孙厂长", "phone": "0871-66112233"}
    assert read[fifth["矿山编码"]]["productionStatus"] == STATUS_NAMES[fifth["生产状况"]]
    assert read[sixth["矿山编码"]]["name"] == sixth["矿山名称"]
    versions = {code: m["version"] for code, m in read.items()}
    again = (await send(fresh_env, lead, data, apply=True))["data"]["importMines"]
    assert (again["changed"], again["rejected"], again["unchanged"]) == (0, 0, len(rows)), again["rows"]
    assert all(r["action"] == "UNCHANGED" and r["changes"] == [] for r in again["rows"])
    for code, before in versions.items():
        assert (await fresh_env.gql(MINE_READ, {"id": str(fresh_env.db.execute(
            "SELECT id FROM mine WHERE code = ?", (code,)).fetchone()[0])}, token)).data["mine"]["version"] == before
