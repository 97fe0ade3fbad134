"""spreadsheets.values.parse_row: one row of a real file → MineInput fields, location,
guarantors, version, errors (column as written, value as written, bilingual) and warnings."""

from __future__ import annotations

import io

import pytest
import xlsxwriter

from support.error_language import assert_bilingual
from support.sheet_fixtures import GOOD, KUNMING, NATION, SHANDONG, YUNNAN, trees
from spreadsheets.cells import KEEP
from spreadsheets.columns import COLUMNS
from spreadsheets.reading import read_sheet
from spreadsheets.values import parse_row


def _parse(cells: dict, scope=YUNNAN, *, labels=None):
    """Write one row under the header to a real XLSX and parse it back."""
    row = {**GOOD, **cells}
    labels = labels or list(row)
    return _parse_rows([[row.get(label, "") for label in labels]], labels, scope)[0]


def _parse_rows(rows, labels, scope):
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    sheet = book.add_worksheet("矿山")
    sheet.write_row(0, 0, labels)
    for number, row in enumerate(rows, start=1):
        sheet.write_row(number, 0, row)
    book.close()
    header, data = read_sheet(buffer.getvalue())
    parsed = [parse_row(number, raw, header, trees(), scope) for number, raw in data]
    for row in parsed:
        assert_bilingual([{"message": e.message, "extensions": {"code": e.code}} for e in row.errors])
        assert_bilingual([{"message": w, "extensions": {"code": "WARNING"}} for w in row.warnings])
    return parsed


def _errors(parsed) -> dict[str, str]:
    return {error.column: error.message for error in parsed.errors}


def test_a_clean_new_mine():
    parsed = _parse({})
    assert parsed.errors == [] and parsed.warnings == [] and parsed.code is None and parsed.version is None
    assert parsed.fields == {
        "name": "五华金矿", "regionCode": "530102", "mineralCode": "100401", "designCapacity": 12.0,
        "capacityUnit": "万吨/年", "developmentMethod": "SHAFT", "developmentDetail": None, "maxDepth": 850.0,
        "workersPerShift": 30, "productionStatus": "NORMAL", "supervisoryBody": "COUNTY"}
    assert parsed.location is KEEP and parsed.guarantors == {}
    assert parsed.row_number == 2


def test_values_as_people_type_them():
    parsed = _parse({"矿山编码": " c5301020001 ", "设计生产能力": "１，２００", "最大开采深度(米)": "850米",
                     "单班下井作业人数": "30人", "生产状况": "生产", "日常安全监管主体": "兵团",
                     "开拓方式": "联合开拓(竖井-斜坡道)", "开采矿种": "铁", "生产能力单位": "万t/a", "版本": "3"})
    assert parsed.errors == []
    assert parsed.code == "C5301020001" and parsed.version == 3
    fields = parsed.fields
    assert (fields["designCapacity"], fields["maxDepth"], fields["workersPerShift"]) == (1200.0, 850.0, 30)
    assert (fields["productionStatus"], fields["supervisoryBody"]) == ("NORMAL", "XPCC")
    assert (fields["developmentMethod"], fields["developmentDetail"]) == ("COMBINED", "竖井-斜坡道")
    assert (fields["mineralCode"], fields["capacityUnit"]) == ("200101", "万吨/年")


def test_excel_numbers():
    parsed = _parse({"单班下井作业人数": 30.0, "最大开采深度(米)": 850.5, "设计生产能力": 12, "行政区划代码": 530102})
    assert parsed.errors == []
    assert parsed.fields["workersPerShift"] == 30 and isinstance(parsed.fields["workersPerShift"], int)
    assert parsed.fields["maxDepth"] == 850.5 and parsed.fields["regionCode"] == "530102"


def test_capacity_with_its_unit_inside():
    assert _parse({"设计生产能力": "12万吨/年", "生产能力单位": ""}).fields["capacityUnit"] == "万吨/年"
    parsed = _parse({"设计生产能力": "12万吨/年", "生产能力单位": "吨/日"})
    assert "设计生产能力" in _errors(parsed)


@pytest.mark.parametrize("column,cell,words", [
    ("单班下井作业人数", 30.5, "整数"), ("单班下井作业人数", "-3", "负数"), ("最大开采深度(米)", "-850", "标高"),
    ("设计生产能力", "0", "大于 0"), ("最大开采深度(米)", "850吨", "单位"), ("开采矿种", "贵金属", "矿种大类"),
    ("开拓方式", "露天", "开拓方式"), ("生产状况", "停摆", "生产状况"), ("矿山编码", "C53/01", "矿山编码"),
    ("版本", "0", "正整数"), ("矿山名称", "清空", "清空"), ("开采矿种", "清空", "清空"),
])
def test_cell_errors_name_the_column_and_the_value_as_written(column, cell, words):
    parsed = _parse({column: cell})
    (error,) = [e for e in parsed.errors if e.column == column]
    assert words in error.message
    assert error.value == (str(cell) if not isinstance(cell, float) else "30.5")


def test_an_empty_cell_leaves_the_value_and_clear_clears():
    parsed = _parse({"矿山编码": "C1", "矿山名称": "", "主要负责人": "清空", "主要负责人电话": "", "规模": "清空"})
    assert parsed.errors == []
    assert "name" not in parsed.fields  # empty: unchanged
    assert parsed.fields["principal"] is None and parsed.fields["scale"] is None


def test_a_new_mine_needs_the_required_values():
    parsed = _parse({"矿山名称": "", "开采矿种": ""})
    assert set(_errors(parsed)) == {"矿山名称", "开采矿种"}
    # an update (a code) may leave them empty
    assert _parse({"矿山编码": "C1", "矿山名称": "", "开采矿种": ""}).errors == []


def test_principal_and_phones():
    parsed = _parse({"主要负责人": " 张三 ", "主要负责人电话": "138 0013-8000"})
    assert parsed.fields["principal"] == {"name": "张三", "phone": "13800138000"}
    parsed = _parse({"主要负责人": "张三", "主要负责人电话": "12345"})
    assert "主要负责人电话" in _errors(parsed) and "principal" not in parsed.fields
    parsed = _parse({"主要负责人": "张三"}, labels=[*GOOD, "主要负责人", "主要负责人电话"])
    assert "主要负责人电话" in _errors(parsed)["主要负责人"]


GUARANTOR_LABELS = [c.label for c in COLUMNS if c.key.startswith("guarantors.")]


def test_guarantor_triples():
    labels = [*GOOD, *GUARANTOR_LABELS]
    cells = {"县级包保责任人姓名": "李四", "县级包保责任人职务": "副县长", "县级包保责任人电话": "0871 6512 3456",
             "省级包保责任人姓名": "清空", "市级包保责任人姓名": "王五"}
    parsed = _parse(cells, labels=labels)
    assert parsed.guarantors["COUNTY"] == {"name": "李四", "position": "副县长", "phone": "0871-65123456"}
    assert parsed.guarantors["PROVINCE"] is None
    assert "CITY" not in parsed.guarantors and "ENTERPRISE" not in parsed.guarantors
    message = _errors(parsed)["市级包保责任人姓名"]
    assert "市级包保责任人职务" in message and "市级包保责任人电话" in message
    parsed = _parse({"企业包保责任人姓名": "清空", "企业包保责任人电话": "13800138000"}, labels=labels)
    assert "企业包保责任人电话" in _errors(parsed) and "ENTERPRISE" not in parsed.guarantors


LOCATION = ["经度", "纬度", "坐标系"]


def test_location_decimal_and_dms():
    parsed = _parse({"经度": "102°42'45\"", "纬度": "25度2分26.16秒", "坐标系": "GCJ-02"}, labels=[*GOOD, *LOCATION])
    assert parsed.errors == []
    assert parsed.location["datum"] == "GCJ02"
    assert abs(parsed.location["lng"] - 102.7125) < 1e-9 and abs(parsed.location["lat"] - 25.0406) < 1e-9
    parsed = _parse({"经度": 102.7125, "纬度": 25.0406, "坐标系": "WGS-84"}, labels=[*GOOD, *LOCATION])
    assert parsed.location == {"lat": 25.0406, "lng": 102.7125, "datum": "WGS84"}
    assert _parse({"经度": "清空"}, labels=[*GOOD, *LOCATION]).location is None


@pytest.mark.parametrize("cells,column,words", [
    ({"经度": "25.04", "纬度": "102.71", "坐标系": "WGS84"}, "纬度", "经纬度可能填反了"),
    ({"经度": "102.71", "纬度": "25.04"}, "坐标系", "坐标系"),
    ({"经度": "102.71", "坐标系": "WGS84"}, "经度", "纬度"),
    ({"经度": "102.71", "纬度": "25.04", "坐标系": "BD09"}, "坐标系", "坐标系"),
])
def test_location_refusals(cells, column, words):
    parsed = _parse(cells, labels=[*GOOD, *LOCATION])
    assert words in _errors(parsed)[column] and parsed.location is KEEP


def test_a_point_outside_china_is_left_to_the_plan():
    # Refused there unless it is the point the mine already has (tests/registry/test_import.py).
    parsed = _parse({"经度": "2.35", "纬度": "48.85", "坐标系": "WGS84"}, labels=[*GOOD, *LOCATION])
    assert parsed.errors == [] and parsed.location == {"lat": 48.85, "lng": 2.35, "datum": "WGS84"}


def test_swapped_hint_in_english_too():
    parsed = _parse({"经度": "25.04", "纬度": "102.71", "坐标系": "WGS84"}, labels=[*GOOD, *LOCATION])
    assert "latitude and longitude look swapped" in _errors(parsed)["纬度"]


def test_region_by_path_column_and_disagreement():
    labels = [*GOOD, "所属行政区域"]
    assert _parse({"所属行政区域": "昆明市五华区"}, labels=labels).fields["regionCode"] == "530102"
    parsed = _parse({"所属行政区域": "盘龙区"}, labels=labels)
    assert "不一致" in _errors(parsed)["所属行政区域"]


def test_region_outside_scope_reads_like_unknown_and_retired_codes_warn():
    outside = _parse({"行政区划代码": "110105"}, scope=KUNMING)
    unknown = _parse({"行政区划代码": "999999"}, scope=KUNMING)
    (a,), (b,) = outside.errors, unknown.errors
    assert (a.code, b.code) == ("NOT_FOUND", "NOT_FOUND")
    assert a.message.replace("110105", "X") == b.message.replace("999999", "X")
    parsed = _parse({"行政区划代码": "371203"}, scope=SHANDONG)
    assert parsed.fields["regionCode"] == "370117" and "371203" in parsed.warnings[0]


def test_full_template_header_with_export_style_read_only_columns():
    labels = [c.label for c in COLUMNS]
    parsed = _parse({"矿山编码": "C5301020001", "版本": 4, "更新时间": "2024-01-01 08:00", "核实状态": "已核实"},
                    scope=NATION, labels=labels)
    assert parsed.errors == [] and parsed.version == 4
    assert "updatedAt" not in parsed.fields and "verification" not in parsed.fields
    assert parsed.columns["maxDepth"] == "最大开采深度(米)"


def test_many_rows_keep_their_numbers():
    labels = list(GOOD)
    rows = [[*GOOD.values()], [""] * len(labels), [*GOOD.values()]]
    parsed = _parse_rows(rows, labels, YUNNAN)
    assert [p.row_number for p in parsed] == [2, 4]
