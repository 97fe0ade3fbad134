"""Importing spreadsheets: dry run and apply, all or nothing, rights, versions, the three ways in."""

from __future__ import annotations

import json

import pytest

from support.import_requests import IMPORT_MINES, send, version
from support.sheet_files import BASIC, csv_bytes, mine_cells, save, xlsx_bytes

IMPORTS = "query { imports(first: 5) { id applied fileName username created changed unchanged rejected } }"
IMPORT_REPORT = "query R($id: ID!) { importReport(id: $id) { id rows(actions: [UPDATE]) { rowNumber code } } }"
HISTORY = "query M($id: ID!) { mine(id: $id) { version history { field importId } } }"


@pytest.fixture(scope="module")
def place(fresh_env):
    """A county with several mines, its ancestry, and a mine elsewhere."""
    db = fresh_env.db
    county = db.execute("SELECT county_code FROM mine WHERE city_code IS NOT NULL GROUP BY county_code "
                        "HAVING count(*) >= 4 ORDER BY county_code LIMIT 1").fetchone()[0]
    ids = [r[0] for r in db.execute("SELECT id FROM mine WHERE county_code = ? ORDER BY code", (county,))]
    row = db.execute("SELECT province_code, city_code FROM mine WHERE id = ?", (ids[0],)).fetchone()
    elsewhere = db.execute("SELECT id FROM mine WHERE province_code != ? ORDER BY id LIMIT 1",
                           (row["province_code"],)).fetchone()[0]
    return {"county": county, "city": row["city_code"], "province": row["province_code"], "ids": ids,
            "elsewhere": elsewhere}


async def test_a_dry_run_reports_and_writes_nothing(fresh_env, place):
    db, (a, b) = fresh_env.db, place["ids"][:2]
    first, second = mine_cells(db, a), mine_cells(db, b)
    second["单班下井作业人数"] = second["单班下井作业人数"] + 7
    before = version(db, b)
    body = await send(fresh_env, f"{place['county']}-001", xlsx_bytes([first, second], title="某县非煤地下矿山"))
    report = body["data"]["importMines"]
    assert (report["applied"], report["changed"], report["unchanged"], report["rejected"]) == (False, 1, 1, 0)
    rows = report["rows"]
    assert [r["rowNumber"] for r in rows] == [4, 5]  # the sheet's own numbers: title, blank, header above
    assert rows[1]["changes"] == [{"field": "workersPerShift", "old": second["单班下井作业人数"] - 7,
                                   "new": second["单班下井作业人数"]}]
    assert version(db, b) == before


async def test_apply_writes_each_row_once_and_a_second_import_changes_nothing(fresh_env, place):
    db, mine_id = fresh_env.db, place["ids"][2]
    cells = mine_cells(db, mine_id)
    cells["最大开采深度(米)"] = cells["最大开采深度(米)"] + 10
    cells["单班下井作业人数"] = cells["单班下井作业人数"] + 1
    before = version(db, mine_id)
    data = csv_bytes([cells], encoding="gb18030")
    report = (await send(fresh_env, f"{place['city']}-001", data, apply=True, name="mines.csv"))["data"]["importMines"]
    assert (report["applied"], report["changed"]) == (True, 1)
    assert version(db, mine_id) == before + 1  # one step, however many fields
    history = (await fresh_env.gql(HISTORY, {"id": str(mine_id)}, await fresh_env.token(f"{place['city']}-001")))
    import_ids = {h["importId"] for h in history.data["mine"]["history"] if h["field"] in ("maxDepth", "workersPerShift")}
    assert import_ids == {report["id"]}
    cells["版本"] = before + 1
    again = (await send(fresh_env, f"{place['city']}-001", csv_bytes([cells]), apply=True))["data"]["importMines"]
    assert (again["changed"], again["unchanged"]) == (0, 1) and version(db, mine_id) == before + 1
    listed = await fresh_env.gql(IMPORTS, token=await fresh_env.token(f"{place['city']}-001"))
    assert [i["id"] for i in listed.data["imports"]][:2] == [again["id"], report["id"]]
    rows = await fresh_env.gql(IMPORT_REPORT, {"id": report["id"]}, await fresh_env.token(f"{place['city']}-001"))
    assert rows.data["importReport"]["rows"] == [{"rowNumber": 2, "code": cells["矿山编码"]}]


async def test_one_rejected_row_applies_nothing(fresh_env, place):
    db, (a, b) = fresh_env.db, place["ids"][:2]
    good, bad = mine_cells(db, a), mine_cells(db, b)
    good["单班下井作业人数"] += 3
    bad["单班下井作业人数"] = "很多"
    before = version(db, a)
    report = (await send(fresh_env, f"{place['county']}-001", xlsx_bytes([good, bad]), apply=True))["data"]["importMines"]
    assert (report["applied"], report["changed"], report["rejected"]) == (False, 1, 1)
    error = report["rows"][1]["errors"][0]
    assert error["column"] == "单班下井作业人数" and error["code"] == "BAD_USER_INPUT"
    assert version(db, a) == before


async def test_unknown_and_foreign_codes_read_alike(fresh_env, place):
    db = fresh_env.db
    foreign = mine_cells(db, place["elsewhere"])
    unknown = {**foreign, "矿山编码": "C9999999999"}
    rows = (await send(fresh_env, f"{place['county']}-001", xlsx_bytes([foreign, unknown])))["data"]["importMines"]["rows"]
    assert [r["action"] for r in rows] == ["REJECTED", "REJECTED"]
    messages = [r["errors"][0]["message"].replace(r["code"], "CODE") for r in rows]
    assert messages[0] == messages[1] and {r["errors"][0]["code"] for r in rows} == {"NOT_FOUND"}
    assert all(r["changes"] == [] for r in rows)


async def test_a_code_twice_rejects_both_rows(fresh_env, place):
    cells = mine_cells(fresh_env.db, place["ids"][0])
    rows = (await send(fresh_env, f"{place['county']}-001", xlsx_bytes([cells, cells])))["data"]["importMines"]["rows"]
    assert [r["action"] for r in rows] == ["REJECTED", "REJECTED"]


async def test_an_older_version_conflicts_only_on_a_field_changed_since(fresh_env, place):
    db, mine_id = fresh_env.db, place["ids"][3]
    exported = mine_cells(db, mine_id)
    edited = {**exported, "最大开采深度(米)": exported["最大开采深度(米)"] + 1}
    lead = f"{place['county']}-001"
    first = await send(fresh_env, lead, xlsx_bytes([edited]), apply=True)
    assert first["data"]["importMines"]["applied"], first["data"]["importMines"]["rows"][0]["errors"]
    # Someone still holding the old export edits the same field: refused; another field: only that
    # change (the depth cell still holds the exported value: it was not edited, the newer depth stays).
    same = {**exported, "最大开采深度(米)": exported["最大开采深度(米)"] + 2}
    row = (await send(fresh_env, lead, xlsx_bytes([same])))["data"]["importMines"]["rows"][0]
    assert (row["action"], row["errors"][0]["code"]) == ("REJECTED", "CONFLICT")
    other = {**exported, "单班下井作业人数": exported["单班下井作业人数"] + 2}
    row = (await send(fresh_env, lead, xlsx_bytes([other])))["data"]["importMines"]["rows"][0]
    assert row["action"] == "UPDATE" and [c["field"] for c in row["changes"]] == ["workersPerShift"]


@pytest.mark.parametrize("who", ["enterprise", "-002", "-005"])
async def test_only_the_leads_may_import(fresh_env, place, who):
    db = fresh_env.db
    username = {"enterprise": db.execute("SELECT code FROM mine WHERE id = ?", (place["ids"][0],)).fetchone()[0],
                "-002": f"{place['province']}-002", "-005": f"{place['county']}-005"}[who]
    body = await send(fresh_env, username, xlsx_bytes([mine_cells(db, place["ids"][0])]))
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    response = await fresh_env.client.post("/import", headers={"Authorization": f"Bearer {await fresh_env.token(username)}"},
                                           files={"file": ("m.xlsx", b"x")}, data={"apply": "false"})
    assert response.status_code == 403 and response.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_a_file_without_required_columns_is_refused_naming_them(fresh_env, place):
    header = tuple(label for label in BASIC if label not in ("开采矿种", "生产状况"))
    body = await send(fresh_env, f"{place['county']}-001", xlsx_bytes([], header=header))
    error = body["errors"][0]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "开采矿种" in error["message"] and "生产状况" in error["message"]


async def test_post_import_answers_the_report_as_json(fresh_env, place):
    cells = mine_cells(fresh_env.db, place["ids"][1])
    lead = await fresh_env.token(f"{place['county']}-001")
    response = await fresh_env.client.post("/import", headers={"Authorization": f"Bearer {lead}"},
                                           files={"file": ("矿山.xlsx", xlsx_bytes([cells]))}, data={"apply": "false"})
    assert response.status_code == 200, response.text
    report = response.json()
    assert (report["applied"], report["unchanged"], report["fileName"]) == (False, 1, "矿山.xlsx")
    assert report["rows"][0]["action"] == "UNCHANGED"
    assert (await fresh_env.client.post("/import", files={"file": ("m.xlsx", b"x")})).status_code == 401
    big = await fresh_env.client.post("/import", headers={"Authorization": f"Bearer {lead}"},
                                      files={"file": ("m.xlsx", b"0" * (fresh_env.settings.import_max_bytes + 1))})
    assert big.status_code == 413 and big.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_a_new_mine_gets_a_code_and_an_account(fresh_env, place):
    db = fresh_env.db
    cells = {**mine_cells(db, place["ids"][0]), "矿山编码": None, "矿山名称": "新建测试铁矿", "版本": None}
    report = (await send(fresh_env, f"{place['county']}-001", xlsx_bytes([cells]), apply=True))["data"]["importMines"]
    assert (report["applied"], report["created"]) == (True, 1), report
    row = report["rows"][0]
    created = db.execute("SELECT * FROM mine WHERE code = ?", (row["code"],)).fetchone()
    assert created["name"] == "新建测试铁矿" and created["county_code"] == place["county"]
    token = await fresh_env.token(row["code"], row["initialPassword"])
    assert token
    again = await fresh_env.gql(IMPORTS, token=await fresh_env.token(f"{place['county']}-001"))
    assert again.data["imports"][0]["id"] == report["id"]


async def test_the_command_line_imports_as_a_lead_and_hands_passwords_over_in_a_sheet(fresh_env, place, tmp_path):
    import stat

    from support.servers import cli

    db, lead = fresh_env.db, f"{place['county']}-001"
    cells = mine_cells(db, place["ids"][1])
    unchanged = save(tmp_path / "same.xlsx", xlsx_bytes([cells]))
    done = cli(fresh_env.database, "import", str(unchanged), "--as", lead, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.splitlines()[0])["action"] == "UNCHANGED" and "dry run" in done.stderr
    bad = save(tmp_path / "bad.csv", csv_bytes([{**cells, "单班下井作业人数": "-3"}]))
    assert cli(fresh_env.database, "import", str(bad), "--as", lead, cwd=tmp_path).returncode == 1
    new = {**cells, "矿山编码": None, "矿山名称": "命令行新建矿山", "版本": None}
    created = save(tmp_path / "new.xlsx", xlsx_bytes([new]))
    sheet = tmp_path / "passwords.csv"
    done = cli(fresh_env.database, "import", str(created), "--as", lead, "--apply", "--passwords", str(sheet),
               cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    code = json.loads(done.stdout.splitlines()[0])["code"]
    assert stat.S_IMODE(sheet.stat().st_mode) == 0o600
    username, password = sheet.read_text().splitlines()[1].split(",")
    assert username == code and await fresh_env.token(code, password)
    assert cli(fresh_env.database, "import", str(created), "--as", f"{place['county']}-002",
               cwd=tmp_path).returncode == 2  # not a -001: refused as a whole


@pytest.mark.parametrize("data", [b"", b"PK\x03\x04 not really a zip", b"\xd0\xcf\x11\xe0 an old .xls", "名称,x\n".encode()])
async def test_a_file_that_is_not_the_template_is_a_clear_refusal(fresh_env, place, data):
    lead = await fresh_env.token(f"{place['county']}-001")
    response = await fresh_env.client.post("/import", headers={"Authorization": f"Bearer {lead}"},
                                           files={"file": ("x.xlsx", data)}, data={"apply": "true"})
    assert response.status_code == 400, response.text
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "BAD_USER_INPUT" and " / " in error["message"]


@pytest.mark.parametrize("form", [
    {"operations": "{", "map": "{}"},
    {"operations": json.dumps({"query": IMPORT_MINES, "variables": {"file": None}}), "map": "[1]"},
    {"operations": json.dumps({"query": IMPORT_MINES, "variables": {"file": None}}), "map": json.dumps({"0": ["x.y"]})},
    {"operations": json.dumps({"query": IMPORT_MINES, "variables": {"file": None}}), "map": json.dumps({"9": ["variables.file"]})},
])
async def test_malformed_multipart_requests_are_refused_with_a_code(fresh_env, place, form):
    lead = await fresh_env.token(f"{place['county']}-001")
    response = await fresh_env.client.post("/graphql", headers={"Authorization": f"Bearer {lead}"}, data=form,
                                           files={"0": ("m.xlsx", b"x")})
    assert 400 <= response.status_code < 500, response.text
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


@pytest.mark.parametrize("path", ["/graphql", "/import"])
@pytest.mark.parametrize("content_type", ["multipart/form-data", "multipart/form-data; boundary=x"])
async def test_a_multipart_body_without_parts_is_a_coded_refusal(fresh_env, place, path, content_type):
    lead = await fresh_env.token(f"{place['county']}-001")
    response = await fresh_env.client.post(path, headers={"Authorization": f"Bearer {lead}",
                                                          "Content-Type": content_type}, content=b"--x\r\nbroken")
    assert response.status_code == 400, response.text
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_a_point_outside_china_is_refused_unless_it_is_the_stored_one(fresh_env, place):
    db, mine_id = fresh_env.db, place["ids"][2]
    header = (*BASIC, "经度", "纬度", "坐标系")
    lead = f"{place['county']}-001"
    paris = {**mine_cells(db, mine_id), "经度": 2.35, "纬度": 48.85, "坐标系": "WGS-84", "版本": None}
    row = (await send(fresh_env, lead, xlsx_bytes([paris], header=header)))["data"]["importMines"]["rows"][0]
    assert row["action"] == "REJECTED" and row["errors"][0]["column"] == "经度"
    assert "不在中国境内" in row["errors"][0]["message"]
    # A point stored before today's check (older data, a seed) round-trips: it is not a change.
    db.execute("UPDATE mine SET lat = 48.85, lng = 2.35, source_datum = 'WGS84' WHERE id = ?", (mine_id,))
    db.commit()
    try:
        row = (await send(fresh_env, lead, xlsx_bytes([paris], header=header)))["data"]["importMines"]["rows"][0]
        assert row["action"] == "UNCHANGED", row
    finally:
        db.execute("UPDATE mine SET lat = NULL, lng = NULL, source_datum = NULL WHERE id = ?", (mine_id,))
        db.commit()
