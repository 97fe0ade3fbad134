"""Writing spreadsheets: CSV (UTF-8 with BOM), XLSX in constant memory, and the blank template.

Knows cells, not mines: callers hand over rows of cells already in column order (resolvers/exports.py
builds them). A cell is a str (written as text, never read as a number, formula or link: codes and
phone numbers keep their leading zeros), an int or float (a number), or None (empty).
"""

from __future__ import annotations

import csv
import io
import math
from typing import TYPE_CHECKING

import xlsxwriter

from models.enums import Datum, DevelopmentMethod, MineScale, ProductionStatus, SupervisoryBody
from spreadsheets.columns import COLUMNS, SHEET_NAME

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from spreadsheets.columns import Column

# Excel opens a CSV as UTF-8 only when it starts with the byte-order mark.
BOM = "\ufeff"
# Never turn a text cell into a formula, a hyperlink or a number (a name starting with "=",
# a phone number): what was exported is what an import reads back.
_WORKBOOK_OPTIONS = {"strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False}
# The template's enum columns and what they take (the 允许值 sheet holds one list per column).
ALLOWED_SHEET = "允许值"
ALLOWED_VALUES: dict[str, tuple[str, ...]] = {
    "生产状况": tuple(m.label for m in ProductionStatus),
    "日常安全监管主体": tuple(m.label for m in SupervisoryBody),
    "开拓方式": tuple(m.label for m in DevelopmentMethod),
    "规模": tuple(m.label for m in MineScale),
    "坐标系": tuple(m.label for m in Datum),
}
TEMPLATE_ROWS = 2000  # rows below the header that carry the drop-down lists
# What each column takes, shown as the header cell's note in the template.
NOTES = {
    "code": "矿山编码：唯一，按文本填写 / the mine's unique code (text)",
    "name": "矿山全称 / the mine's full name",
    "regionCode": "县级行政区划代码（6位），与“所属行政区域”二选一 / 6-digit county code, or give the region path",
    "regionPath": "省+市+县名称，如 云南省昆明市五华区 / province, city and county names joined",
    "mineralCode": "开采矿种名称或代码 / the mineral mined (name or code)",
    "designCapacity": "数值 / a number, in the unit of the next column",
    "capacityUnit": "如 万吨/年 / e.g. 万吨/年",
    "developmentMethod": "见“允许值”；联合开拓可写组合，如 竖井-斜坡道 / see 允许值; COMBINED may name its parts",
    "maxDepth": "米，数值 / metres, a number",
    "workersPerShift": "整数 / a whole number",
    "productionStatus": "见“允许值” / see the 允许值 sheet",
    "supervisoryBody": "见“允许值” / see the 允许值 sheet",
    "principal.phone": "手机号或带区号的固定电话，按文本填写 / mobile, or landline with area code",
    "location.lng": "经度，十进制度 / longitude in decimal degrees",
    "location.lat": "纬度，十进制度 / latitude in decimal degrees",
    "location.datum": "WGS-84（GPS）或 GCJ-02（国内地图） / the datum of the two columns before",
    "scale": "留空则按设计生产能力推定；填写即为人工认定 / empty: derived from the capacity; a value overrides it",
    "version": "导出时的版本，导入时用于检查冲突，勿改 / the version exported; import checks it, do not edit",
    "updatedAt": "只读 / read-only",
    "verification": "只读 / read-only",
}
_GUARANTOR_NOTE = "包保责任人：姓名、职务、电话三项同填 / a guarantor: give name, position and phone together"


def _text_columns(columns: Sequence[Column]) -> list[int]:
    """Columns whose typed-in values must stay text in Excel (codes, phones)."""
    return [i for i, c in enumerate(columns) if c.key in ("code", "regionCode") or c.key.endswith("phone")]


# --------------------------------------------------------------------------- CSV


def csv_text(rows: Iterable[Sequence[object]]) -> str:
    """Rows as CSV text (RFC 4180 quoting, CRLF); numbers as the import reads them back."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerows([_csv_cell(cell) for cell in row] for row in rows)
    return buffer.getvalue()


def _csv_cell(cell: object) -> object:
    if isinstance(cell, float) and math.isfinite(cell) and cell.is_integer():
        return int(cell)  # 30.0 -> "30": what a person would have typed
    return "" if cell is None else cell


def csv_head(header: Sequence[str]) -> bytes:
    """The first bytes of a CSV export: the BOM and the header row."""
    return (BOM + csv_text([header])).encode("utf-8")


# --------------------------------------------------------------------------- XLSX


class XlsxWriter:
    """One sheet written row by row in xlsxwriter's constant_memory mode (a row is flushed to a
    temporary file once the next starts: memory stays flat however many rows). Blocking:
    call it from a thread in a server. `close()` finishes the file at `path`."""

    def __init__(self, path: str, header: Sequence[str], sheet: str = SHEET_NAME,
                 text_columns: Sequence[int] = ()) -> None:
        self.workbook = xlsxwriter.Workbook(path, {"constant_memory": True, **_WORKBOOK_OPTIONS})
        self.sheet = self.workbook.add_worksheet(sheet)
        bold = self.workbook.add_format({"bold": True})
        text = self.workbook.add_format({"num_format": "@"})
        for index in text_columns:
            self.sheet.set_column(index, index, 16, text)
        self.sheet.write_row(0, 0, header, bold)
        self.sheet.freeze_panes(1, 0)
        self.row = 1

    def write_rows(self, rows: Iterable[Sequence[object]]) -> None:
        for row in rows:
            self.sheet.write_row(self.row, 0, row)
            self.row += 1

    def close(self) -> None:
        self.workbook.close()


def mines_xlsx_writer(path: str) -> XlsxWriter:
    """The mine export's workbook: the sheet 矿山 under the template's labels."""
    return XlsxWriter(path, [c.label for c in COLUMNS], SHEET_NAME, _text_columns(COLUMNS))


def write_xlsx(path: str, header: Sequence[str], rows: Iterable[Sequence[object]], sheet: str) -> None:
    """A whole small table at once (the statistics)."""
    writer = XlsxWriter(path, header, sheet)
    writer.write_rows(rows)
    writer.close()


# --------------------------------------------------------------------------- the template


def write_template(path: str, rows: int = TEMPLATE_ROWS) -> None:
    """The blank import template: sheet 矿山 with the labels (required ones bold red, a note on
    each saying what it takes), sheet 允许值 with the enum labels, and drop-down lists on the
    enum columns for `rows` rows, pointing at 允许值."""
    workbook = xlsxwriter.Workbook(path, _WORKBOOK_OPTIONS)
    sheet = workbook.add_worksheet(SHEET_NAME)
    allowed = workbook.add_worksheet(ALLOWED_SHEET)
    required = workbook.add_format({"bold": True, "font_color": "#C00000", "bg_color": "#FFF2CC", "border": 1})
    optional = workbook.add_format({"bold": True, "bg_color": "#F2F2F2", "border": 1})
    read_only = workbook.add_format({"italic": True, "font_color": "#808080", "bg_color": "#F2F2F2", "border": 1})
    text = workbook.add_format({"num_format": "@"})
    for index in _text_columns(COLUMNS):
        sheet.set_column(index, index, 16, text)
    for index, column in enumerate(COLUMNS):
        style = required if column.required else read_only if column.read_only else optional
        sheet.write_string(0, index, column.label, style)
        prefix = "必填 / required. " if column.required else "" if column.read_only else "选填 / optional. "
        note = prefix + NOTES.get(column.key, _GUARANTOR_NOTE if column.key.startswith("guarantors.") else "")
        sheet.write_comment(0, index, note, {"x_scale": 2.2, "y_scale": 1.4})
    sheet.freeze_panes(1, 0)
    by_label = {c.label: i for i, c in enumerate(COLUMNS)}
    for position, (label, values) in enumerate(ALLOWED_VALUES.items()):
        allowed.write_string(0, position, label, optional)
        for offset, value in enumerate(values, start=1):
            allowed.write_string(offset, position, value)
        letter = xlsxwriter.utility.xl_col_to_name(position)
        column = by_label[label]
        sheet.data_validation(1, column, rows, column, {
            "validate": "list",
            "source": f"='{ALLOWED_SHEET}'!${letter}$2:${letter}${len(values) + 1}",
            # 开拓方式 also takes a combination (竖井-斜坡道): warn, do not refuse.
            "error_type": "warning" if label == "开拓方式" else "stop",
            "error_title": label,
            "error_message": f"请从“{ALLOWED_SHEET}”表中选择 / choose a value from the {ALLOWED_SHEET} sheet",
        })
    allowed.set_column(0, len(ALLOWED_VALUES) - 1, 22)
    workbook.close()
