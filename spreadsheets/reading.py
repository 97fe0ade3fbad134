"""Reading what people send: an XLSX or a CSV → the header and the data rows, lazily.

`read_sheet(source)` detects the format by content (an XLSX is a zip; anything else is read as
CSV), finds the header row under any title rows, and yields `(row_number, {label as written:
cell value})` one row at a time with the spreadsheet's own 1-based row numbers. Nothing here
touches the database or the event loop: the importer runs it in a thread, and every call opens
its own reader, so concurrent imports share no state.

XLSX is read with openpyxl in read-only mode: measured on a 100,000-row, 33-column file it
peaks at about 46 MB RSS, where python-calamine (12× faster) loads the whole sheet and peaked
at about 306 MB (docs/import-format.md, "Reading").
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from models.errors import BadUserInput
from spreadsheets.columns import BY_LABEL, COLUMNS, SHEET_NAME, Column, canonical_label
from spreadsheets.text_files import csv_rows

Source = str | Path | bytes | bytearray | IO[bytes]
RawRow = dict[str, Any]

_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0"  # the pre-2007 .xls format
# The header is searched for among the first rows only: a sheet whose first 30 rows hold no
# header is not the template, and scanning further would read a whole wrong file.
HEADER_SEARCH_ROWS = 30
# A row is the header when it holds 矿山名称 and at least this many known labels in all: one
# title cell that happens to say 矿山名称 is not a header.
MIN_KNOWN_LABELS = 3
# Spellings seen in the provinces' own sheets for labels of the template.
LABEL_ALIASES = {"主要负责人姓名": "主要负责人", "最大开采深度": "最大开采深度(米)",
                 "最大开采深度(m)": "最大开采深度(米)", "行政区划编码": "行政区划代码"}


def known_label(text: object) -> str | None:
    """The template label a header cell means, or None when it means none."""
    label = canonical_label(text)
    label = LABEL_ALIASES.get(label, label)
    return label if label in BY_LABEL else None


@dataclass
class Header:
    row_number: int
    # Column index → (label as written, the template's column) for the columns read.
    columns: dict[int, tuple[str, Column]]
    unknown: list[str] = field(default_factory=list)  # labels as written, ignored
    warnings: list[str] = field(default_factory=list)

    def written(self, key: str) -> str | None:
        """The label as written in the file for a column key (None: the column is absent)."""
        for written, column in self.columns.values():
            if column.key == key:
                return written
        return None

    @property
    def keys(self) -> set[str]:
        return {column.key for _, column in self.columns.values()}


def read_sheet(source: Source) -> tuple[Header, Iterator[tuple[int, RawRow]]]:
    """The header and a lazy iterator of the data rows (empty rows skipped). BadUserInput when
    the file is not a readable spreadsheet or lacks a required column."""
    stream, owned = _open(source)
    try:
        head = stream.read(8)
        stream.seek(0)
        if head.startswith(_OLE_MAGIC):
            raise BadUserInput("不支持旧版 Excel（.xls）文件，请另存为 .xlsx 或 CSV 后再导入 / the old Excel "
                               "format (.xls) is not supported: save the file as .xlsx or CSV and import that")
        rows = _xlsx_rows(stream) if head.startswith(_ZIP_MAGIC) else csv_rows(stream)
        header = _find_header(rows)
    except BaseException:
        if owned:
            stream.close()
        raise
    return header, _data_rows(header, rows, stream if owned else None)


# --------------------------------------------------------------------------- sources


def _open(source: Source) -> tuple[IO[bytes], bool]:
    """A seekable binary stream, and whether it is ours to close."""
    if isinstance(source, (bytes, bytearray)):
        return io.BytesIO(bytes(source)), True
    if isinstance(source, (str, Path)):
        return open(source, "rb"), True  # noqa: SIM115 - closed when the rows are exhausted
    source.seek(0)
    return source, False


def _xlsx_rows(stream: IO[bytes]) -> Iterator[tuple[int, tuple]]:
    from zipfile import BadZipFile

    import openpyxl  # imported here: a CSV import does not pay for it
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        book = openpyxl.load_workbook(stream, read_only=True, data_only=True)
    except (BadZipFile, InvalidFileException, KeyError, OSError, ValueError) as error:
        raise BadUserInput(f"无法读取该 XLSX 文件 / the XLSX file cannot be read: {error}") from None
    try:
        sheet = book[SHEET_NAME] if SHEET_NAME in book.sheetnames else book.worksheets[0]
        # Some writers record a wrong sheet size (e.g. "A1"); without it openpyxl reads every cell.
        sheet.reset_dimensions()
        for number, row in enumerate(sheet.iter_rows(values_only=True), start=1):
            yield number, row
    finally:
        book.close()


# --------------------------------------------------------------------------- the header


def _find_header(rows: Iterator[tuple[int, tuple]]) -> Header:
    for number, cells in rows:
        if number > HEADER_SEARCH_ROWS:
            break
        labels = [known_label(cell) for cell in cells]
        if "矿山名称" in labels and sum(label is not None for label in labels) >= MIN_KNOWN_LABELS:
            return _header(number, cells, labels, rows)
    raise BadUserInput(f"在前 {HEADER_SEARCH_ROWS} 行中找不到表头（含“矿山名称”等列名的一行），请使用导入模板 / "
                       f"no header row (a row with 矿山名称 and the other labels of the template) in the "
                       f"first {HEADER_SEARCH_ROWS} rows: use the import template")


def _header(number: int, cells: tuple, labels: list[str | None], rows) -> Header:
    columns: dict[int, tuple[str, Column]] = {}
    unknown: list[str] = []
    seen: dict[str, str] = {}
    for index, (cell, label) in enumerate(zip(cells, labels)):
        written = str(cell).strip() if cell is not None else ""
        if label is None:
            if written:
                unknown.append(written)
            continue  # an empty header cell (e.g. the tail of a merged one) holds nothing we read
        if label in seen:
            raise BadUserInput(f"列“{label}”出现了两次（“{seen[label]}”和“{written}”），请删除其中一列 / the column "
                               f"{label} appears twice ({seen[label]!r} and {written!r}): delete one")
        seen[label] = written
        columns[index] = (written, BY_LABEL[label])
    _check_required(set(seen))
    header = Header(number, columns, unknown)
    if unknown:
        header.warnings.append("以下列不属于导入模板，已忽略：" + "、".join(unknown) + " / these columns are not "
                               "in the template and were ignored: " + ", ".join(unknown))
    return header


def _check_required(present: set[str]) -> None:
    missing = [c.label for c in COLUMNS if c.required and c.label not in present]
    groups: dict[str, list[str]] = {}
    for column in COLUMNS:
        if column.one_of:
            groups.setdefault(column.one_of, []).append(column.label)
    either = [labels for labels in groups.values() if not present.intersection(labels)]
    if not missing and not either:
        return
    zh = ["缺少必需的列：" + "、".join(missing)] if missing else []
    en = ["missing required columns: " + ", ".join(missing)] if missing else []
    for labels in either:
        zh.append("至少需要以下列之一：" + "或".join(labels))
        en.append("one of these columns is required: " + " or ".join(labels))
    raise BadUserInput("；".join(zh) + " / " + "; ".join(en))


# --------------------------------------------------------------------------- rows


def _data_rows(header: Header, rows: Iterator[tuple[int, tuple]], owned: IO[bytes] | None):
    try:
        for number, cells in rows:
            raw: RawRow = {}
            for index, (written, _column) in header.columns.items():
                value = cells[index] if index < len(cells) else None
                if isinstance(value, str):
                    value = value.strip()
                if value is not None and value != "":
                    raw[written] = value
            if raw:  # an empty row (or one with text only in unknown columns) is skipped
                yield number, raw
    finally:
        if owned is not None:
            owned.close()
