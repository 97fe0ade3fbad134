"""spreadsheets.reading on real files the tests write: XLSX by xlsxwriter and openpyxl (title
rows, merged cells, the 矿山 sheet not first, empty rows, unknown columns), CSV in UTF-8 with and
without BOM and in GBK/GB18030 as Chinese Excel saves it."""

from __future__ import annotations

import codecs
import io
import tracemalloc
import zipfile
from concurrent.futures import ThreadPoolExecutor

import openpyxl
import pytest
import xlsxwriter

from support.error_language import assert_bilingual
from models.errors import BadUserInput
from support.sheet_fixtures import GOOD
from spreadsheets.columns import COLUMNS
from spreadsheets.reading import read_sheet

LABELS = list(GOOD)
ROW = list(GOOD.values())


def _xlsxwriter(path, sheets: dict[str, list[list]], merges=()) -> None:
    book = xlsxwriter.Workbook(str(path))
    for name, rows in sheets.items():
        sheet = book.add_worksheet(name)
        for number, row in enumerate(rows):
            sheet.write_row(number, 0, row)
        for first_row, first_col, last_row, last_col, value in merges if name == "矿山" else ():
            sheet.merge_range(first_row, first_col, last_row, last_col, value)
    book.close()


def _csv(rows: list[list], encoding: str, bom: bytes = b"") -> bytes:
    text = "\r\n".join(",".join(str(cell) for cell in row) for row in rows) + "\r\n"
    return bom + text.encode(encoding)


def _zip_of(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return buffer.getvalue()


def _all(source):
    header, rows = read_sheet(source)
    return header, list(rows)


def test_xlsxwriter_title_rows_merged_title_sheet_not_first_empty_rows_unknown_columns(tmp_path):
    path = tmp_path / "mines.xlsx"
    wide = [*LABELS, "备注"]
    _xlsxwriter(path, {
        "说明": [["这一页不是数据"], ["矿山名称", "开采矿种", "开拓方式"]],  # a header-like sheet, but not 矿山
        "矿山": [[], [], wide, [*ROW, "备注一"], [], [None] * len(wide), [*ROW[:1], "第二矿", *ROW[2:], ""]],
    }, merges=[(0, 0, 0, 10, "非煤地下矿山基本信息表"), (1, 0, 1, 4, "填报单位：云南省")])
    header, rows = _all(path)
    assert header.row_number == 3
    assert header.unknown == ["备注"]
    assert "备注" in header.warnings[0] and " / " in header.warnings[0]
    assert [number for number, _ in rows] == [4, 7]  # the spreadsheet's own row numbers
    assert rows[0][1]["矿山名称"] == "五华金矿" and "备注" not in rows[0][1]
    assert rows[1][1]["矿山名称"] == "第二矿"
    assert "矿山编码" not in rows[0][1]  # an empty cell is absent


def test_first_sheet_when_none_is_named_kuangshan(tmp_path):
    path = tmp_path / "mines.xlsx"
    _xlsxwriter(path, {"Sheet1": [LABELS, ROW], "Sheet2": [["x"]]})
    header, rows = _all(path)
    assert header.row_number == 1 and [n for n, _ in rows] == [2]


def test_openpyxl_merged_header_cells_and_numbers(tmp_path):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "矿山"
    sheet.append(["2024 年矿山信息核实表"])
    sheet.merge_cells("A1:L1")
    # 矿山名称 spans two columns: the second holds nothing and is neither read nor reported.
    sheet.append([LABELS[0], LABELS[1], None, *LABELS[2:]])
    sheet.merge_cells("B2:C2")
    sheet.append(["", "甲矿", None, 530102, "金", 12.5, "万吨/年", "竖井", 850.0, 30.0, "正常生产", "县级"])
    path = tmp_path / "merged.xlsx"
    book.save(path)
    header, rows = _all(path)
    assert header.row_number == 2 and header.unknown == []
    (number, raw), = rows
    assert number == 3
    assert raw["矿山名称"] == "甲矿" and raw["行政区划代码"] == 530102 and raw["单班下井作业人数"] == 30.0


def test_header_variants_full_width_parentheses_star_spaces(tmp_path):
    labels = [f" {label}* " for label in LABELS]
    labels[LABELS.index("最大开采深度(米)")] = "最大开采深度（米）"
    header, rows = _all(_csv([labels, ROW], "utf-8"))
    assert header.written("maxDepth") == "最大开采深度（米）"  # as written, for RowError.column
    assert rows[0][1]["最大开采深度（米）"] == "850"


@pytest.mark.parametrize("encoding,bom", [("utf-8", b""), ("utf-8", codecs.BOM_UTF8), ("gbk", b""),
                                          ("gb18030", b""), ("utf-16-le", codecs.BOM_UTF16_LE)])
def test_csv_encodings(encoding, bom):
    rows = [["云南省矿山名单"], LABELS, [*ROW[:1], "鑫源矿业（昆明）", *ROW[2:]], []]
    header, data = _all(_csv(rows, encoding, bom))
    assert header.row_number == 2
    assert data[0][1]["矿山名称"] == "鑫源矿业（昆明）"
    assert data[0][0] == 3


def test_gb18030_beyond_gbk():
    # 䶮 (U+4DAE) is in GB18030 but not in GBK: a GBK decoder would fail where GB18030 reads it.
    header, data = _all(_csv([LABELS, [*ROW[:1], "䶮矿", *ROW[2:]]], "gb18030"))
    assert data[0][1]["矿山名称"] == "䶮矿"


def test_tab_separated_and_quoted_line_breaks():
    text = "\t".join(LABELS) + "\n" + "\t".join([ROW[0], '"两行\n名称"', *ROW[2:]]) + "\n" + "\t".join(ROW) + "\n"
    _, data = _all(text.encode("utf-8"))
    assert data[0][1]["矿山名称"] == "两行\n名称"
    assert [n for n, _ in data] == [2, 3]  # a quoted line break stays in its row


@pytest.mark.parametrize("kind", ["path", "bytes", "file"])
def test_sources(tmp_path, kind):
    data = _csv([LABELS, ROW], "utf-8")
    path = tmp_path / "m.csv"
    path.write_bytes(data)
    source = {"path": path, "bytes": data, "file": io.BytesIO(data)}[kind]
    _, rows = _all(source)
    assert len(rows) == 1


def test_missing_required_columns_name_every_label_chinese_first():
    present = [label for label in LABELS if label not in ("开采矿种", "单班下井作业人数", "行政区划代码")]
    with pytest.raises(BadUserInput) as caught:
        read_sheet(_csv([present, ROW[: len(present)]], "utf-8"))
    message = caught.value.message
    zh, _, en = message.partition(" / ")
    for label in ("开采矿种", "单班下井作业人数"):
        assert label in zh and label in en
    assert "行政区划代码" in zh and "所属行政区域" in zh  # one of the two region columns
    assert_bilingual([{"message": message, "extensions": {"code": "BAD_USER_INPUT"}}])


def test_region_by_path_column_alone_is_enough():
    labels = ["所属行政区域" if label == "行政区划代码" else label for label in LABELS]
    header, _ = _all(_csv([labels, ROW], "utf-8"))
    assert "regionPath" in header.keys and "regionCode" not in header.keys


@pytest.mark.parametrize("data,words", [
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100, ".xls"),
    ("标题\n说明\n".encode(), "表头"),
    (_csv([LABELS + ["矿山名称"], ROW + ["x"]], "utf-8"), "两次"),
    (b"PK\x03\x04not really a zip", "XLSX"),
    (_zip_of({"word/document.xml": "<w/>"}), "XLSX"),  # a zip, but not a workbook
])
def test_refusals(data, words):
    with pytest.raises(BadUserInput) as caught:
        read_sheet(data)
    assert words in caught.value.message
    assert_bilingual([{"message": caught.value.message, "extensions": {"code": "BAD_USER_INPUT"}}])


def test_rows_are_lazy_and_the_file_closes(tmp_path):
    path = tmp_path / "many.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        handle.write(",".join(LABELS) + "\n")
        for number in range(5000):
            handle.write(",".join([ROW[0], f"矿{number}", *ROW[2:]]) + "\n")
    _, rows = read_sheet(path)
    first = next(rows)
    assert first == (2, {**{k: v for k, v in GOOD.items() if v}, "矿山名称": "矿0"})
    rows.close()  # an abandoned import closes the file it opened


def test_every_template_label_is_recognised():
    header, _ = _all(_csv([[column.label for column in COLUMNS]], "utf-8"))
    assert header.unknown == [] and len(header.columns) == len(COLUMNS)


def _peak_while_reading(path) -> int:
    tracemalloc.start()
    try:
        header, rows = read_sheet(path)
        assert sum(1 for _ in rows) > 0
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_xlsx_rows_stream_in_bounded_memory(tmp_path):
    """Ten times the rows, not ten times the memory: rows are read one at a time (the full
    100,000-row figures are in docs/import-format.md, from bench/sheet_readers.py)."""
    paths = {}
    for rows in (200, 2000):
        paths[rows] = tmp_path / f"{rows}.xlsx"
        _xlsxwriter(paths[rows], {"矿山": [LABELS, *([ROW] * rows)]})
    _peak_while_reading(paths[200])  # imports and first-use caches out of the way
    small, large = _peak_while_reading(paths[200]), _peak_while_reading(paths[2000])
    assert large < 2 * small + 1_000_000, (small, large)


def test_concurrent_reads_share_nothing(tmp_path):
    paths = []
    for index in range(4):
        paths.append(tmp_path / f"{index}.xlsx")
        _xlsxwriter(paths[-1], {"矿山": [LABELS, *([[ROW[0], f"矿{index}-{n}", *ROW[2:]] for n in range(300)])]})

    def names(path):
        _, rows = read_sheet(path)
        return {raw["矿山名称"].split("-")[0] for _, raw in rows}

    with ThreadPoolExecutor(max_workers=4) as pool:
        assert list(pool.map(names, paths)) == [{f"矿{index}"} for index in range(4)]
