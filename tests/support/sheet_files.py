"""Spreadsheets as people send them, written by the tests with the libraries people's tools use."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import xlsxwriter

from models.enums import DevelopmentMethod, ProductionStatus, SupervisoryBody

BASIC = ("矿山编码", "矿山名称", "行政区划代码", "开采矿种", "设计生产能力", "生产能力单位", "开拓方式",
         "最大开采深度(米)", "单班下井作业人数", "生产状况", "日常安全监管主体", "版本")


def mine_cells(db, mine_id: int) -> dict[str, object]:
    """A mine's basic columns as the template writes them, read straight from the database."""
    m = db.execute("SELECT m.*, t.name AS mineral_name FROM mine m JOIN mineral_type t ON t.code = m.mineral_code "
                   "WHERE m.id = ?", (mine_id,)).fetchone()
    method = m["development_detail"] if m["development_method"] == "COMBINED" and m["development_detail"] else \
        DevelopmentMethod(m["development_method"]).label
    return {
        "矿山编码": m["code"], "矿山名称": m["name"], "行政区划代码": m["county_code"], "开采矿种": m["mineral_name"],
        "设计生产能力": m["design_capacity"], "生产能力单位": m["capacity_unit"], "开拓方式": method,
        "最大开采深度(米)": m["max_depth"], "单班下井作业人数": m["workers_per_shift"],
        "生产状况": ProductionStatus(m["production_status"]).label,
        "日常安全监管主体": SupervisoryBody(m["supervisory_body"]).label, "版本": m["version"],
    }


def xlsx_bytes(rows: list[dict], header: tuple[str, ...] = BASIC, title: str | None = None) -> bytes:
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    sheet = book.add_worksheet("矿山")
    top = 0
    if title is not None:  # a title row above the header, as regulators' sheets have
        sheet.merge_range(0, 0, 0, len(header) - 1, title)
        top = 2
    for col, label in enumerate(header):
        sheet.write(top, col, label)
    for r, row in enumerate(rows, start=top + 1):
        for col, label in enumerate(header):
            value = row.get(label)
            if value is not None:
                sheet.write(r, col, value)
    book.close()
    return buffer.getvalue()


def csv_bytes(rows: list[dict], header: tuple[str, ...] = BASIC, encoding: str = "utf-8-sig") -> bytes:
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(header)
    for row in rows:
        writer.writerow(["" if row.get(label) is None else row[label] for label in header])
    return text.getvalue().encode(encoding)


def save(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path
