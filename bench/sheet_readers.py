"""Peak memory and time of the XLSX readers on a template-shaped file (docs/import-format.md,
"Reading"): `python -m bench.sheet_readers [ROWS]`.

Writes ROWS mines × the template's 33 columns with xlsxwriter, then runs each reader in a
fresh process (so that each peak RSS is its own) and prints rows, seconds and peak RSS.
"""

from __future__ import annotations

import resource
import subprocess
import sys
import time
from pathlib import Path

from bench.common import DATA, PYTHON, ROOT

READERS = ("calamine", "openpyxl", "read_sheet", "read_sheet+parse_row")


def write(path: Path, rows: int) -> None:
    import xlsxwriter

    from spreadsheets.columns import COLUMNS

    book = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    sheet = book.add_worksheet("矿山")
    sheet.write_row(0, 0, [c.label for c in COLUMNS])
    for i in range(1, rows + 1):
        sheet.write_row(i, 0, [f"C53010200{i:05d}", f"测试矿山{i}", "530102", "", "金", 12.5, "万吨/年", "竖井",
                               850.0, 30, "正常生产", "县级", "张三", "13800138000", 102.71, 25.04, "WGS-84",
                               *["李四", "副县长", "13900139000"] * 4, "", i % 7 + 1, "2024-01-01", "未核实"])
    book.close()


def measure(reader: str, path: Path) -> str:
    started, count = time.perf_counter(), 0
    if reader == "calamine":
        from python_calamine import CalamineWorkbook

        for _ in CalamineWorkbook.from_path(str(path)).get_sheet_by_name("矿山").iter_rows():
            count += 1
    elif reader == "openpyxl":
        import openpyxl

        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
        for _ in book["矿山"].iter_rows(values_only=True):
            count += 1
        book.close()
    else:
        from types import SimpleNamespace

        from auth.scope import Scope
        from models.enums import UserTier
        from models.trees import build_trees
        from seed.reference import mineral_rows, region_rows
        from spreadsheets.reading import read_sheet
        from spreadsheets.values import parse_row

        trees = build_trees([SimpleNamespace(**r) for r in region_rows()],
                            [SimpleNamespace(**r) for r in mineral_rows()])
        scope = Scope(UserTier.NATIONAL, "000000")
        header, rows = read_sheet(path)
        for number, raw in rows:
            if reader.endswith("parse_row"):
                parse_row(number, raw, header, trees, scope)
            count += 1
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return f"{reader:22} rows={count:7} seconds={time.perf_counter() - started:6.1f} peak_rss_mb={peak:5.0f}"


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] in READERS:
        print(measure(sys.argv[1], Path(sys.argv[2])), flush=True)
        return
    rows = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    DATA.mkdir(exist_ok=True)
    path = DATA / f"sheet_{rows}.xlsx"
    if not path.exists():
        write(path, rows)
    for reader in READERS:
        subprocess.run([PYTHON, "-m", "bench.sheet_readers", reader, str(path)], cwd=ROOT, check=True)


if __name__ == "__main__":
    main()
