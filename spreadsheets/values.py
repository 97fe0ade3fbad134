"""One data row of an import → a MineInput-shaped dict, the location, the guarantors, and the
row's errors and warnings. Pure: no database; the importer compares the result with the mine.

An empty cell leaves a value as it is (its key is absent); `清空` clears an optional value (the
key is present with None). docs/import-format.md documents every accepted spelling.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from auth.validation import normalize_name
from models.enums import MineScale, ProductionStatus, SupervisoryBody
from models.errors import BadUserInput
from spreadsheets.cells import (KEEP, CellError, as_written, clean, enum_value, is_clear, number_in, split_quantity,
                                whole_number)
from spreadsheets.columns import BY_KEY
from spreadsheets.groups import contact, guarantor, location
from spreadsheets.lookups import Lookups
from spreadsheets.methods import capacity_unit, development

__all__ = ["KEEP", "ParsedRow", "RowError", "parse_row", "row_code", "REQUIRED_FOR_NEW"]

MAX_MINE_NAME = 100
# The values a new mine (empty 矿山编码) must have; an update may leave any of them empty.
REQUIRED_FOR_NEW = ("name", "regionCode", "mineralCode", "designCapacity", "capacityUnit", "developmentMethod",
                    "maxDepth", "workersPerShift", "productionStatus", "supervisoryBody")
_CODE = re.compile(r"[A-Z0-9][A-Z0-9_-]{0,31}")
_REQUIRED_VALUE = ("填写“清空”只能清除可选项，本列必须有值 / 清空 clears optional values only: this column needs a value")


@dataclass
class RowError:
    column: str | None  # the header label as written in the file
    value: str | None  # the cell as written
    message: str  # Chinese, " / ", English
    code: str = "BAD_USER_INPUT"


@dataclass
class ParsedRow:
    row_number: int
    code: str | None = None  # None: a new mine
    fields: dict[str, Any] = field(default_factory=dict)  # MineInput field names; absent = unchanged
    location: Any = KEEP  # KEEP, None (清空) or {"lat", "lng", "datum": "WGS84" | "GCJ02"}
    guarantors: dict[str, dict | None] = field(default_factory=dict)  # level → person or None (清空)
    version: int | None = None  # None: no version check
    errors: list[RowError] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    # Field name → the header label as written, for errors the importer finds later.
    columns: dict[str, str] = field(default_factory=dict)


# Cells read afresh on every row: their values are (nearly) all different, so remembering them
# would cost more than it saves. Every other column's reading depends on its value alone (and
# on the importer's scope, the same for a whole file): each distinct value is read once.
_EVERY_TIME = frozenset({"code", "name"})


def _labels(header) -> dict[str, str]:
    """Column key → the label as written in the file (kept on the header: the same for every row)."""
    found = header.__dict__.get("_labels")
    if found is None:
        found = header.__dict__["_labels"] = {column.key: written for written, column in header.columns.values()}
    return found


class _Cells:
    """The row's cells by column key, and where its errors go."""

    def __init__(self, number: int, raw: dict, header, memo: dict | None, known: frozenset) -> None:
        self.raw = raw
        self.labels = _labels(header)
        self.parsed = ParsedRow(number)
        self.memo = memo
        self.known = known

    def get(self, key: str) -> object | None:
        label = self.labels.get(key)
        return self.raw.get(label) if label is not None else None

    def label(self, key: str) -> str:
        return self.labels.get(key) or BY_KEY[key].label

    def error(self, key: str, value: object, message: str, code: str = "BAD_USER_INPUT") -> None:
        text = as_written(value) if value is not None else None
        self.parsed.errors.append(RowError(self.label(key), text, message, code))

    def once(self, kind: str, value: object, parse) -> tuple:
        """(True, parse(value)) or (False, message, code), remembered per (kind, value) for the file."""
        if self.memo is None:
            return _outcome(parse, value)
        key = (kind, type(value), value)
        found = self.memo.get(key)
        if found is None:
            found = self.memo[key] = _outcome(parse, value)
        return found

    def read(self, key: str, parse, *, clearable: bool = False) -> Any:
        """parse(value) for a filled cell; KEEP for an empty one; None for 清空 where allowed."""
        value = self.get(key)
        if value is None:
            return KEEP
        if is_clear(value):
            if clearable:
                return None
            self.error(key, value, _REQUIRED_VALUE)
            return KEEP
        found = _outcome(parse, value) if key in _EVERY_TIME else self.once(key, value, parse)
        if found[0]:
            return found[1]
        self.error(key, value, found[1], found[2])
        return KEEP

    def put(self, name: str, value: Any, key: str | None = None) -> None:
        if value is not KEEP:
            self.parsed.fields[name] = value
            self.parsed.columns[name] = self.label(key or name)


def _outcome(parse, value: object) -> tuple:
    try:
        return True, parse(value)
    except CellError as error:
        return False, error.message, error.code
    except BadUserInput as error:
        return False, error.message, "BAD_USER_INPUT"


def parse_row(row_number: int, raw: dict, header, trees, scope, memo: dict | None = None,
              known: frozenset = frozenset()) -> ParsedRow:
    """Read one row of `read_sheet` for an importer with `scope` (regions outside it read as
    unknown). Never raises for bad cells: they become `errors`.

    `memo`: one dict for all the rows of a file read with the same trees and scope, where each
    distinct value's reading is kept (a region, a mineral, a status recur on thousands of rows).
    `known`: (part, text) of the people the row's mine already has ("name", "position", "phone"):
    such a cell is the stored value, taken as it is, not checked again (as an unchanged location
    is not: resolvers/import_plan.py)."""
    cells = _Cells(row_number, raw, header, memo, known)
    lookups = Lookups.for_trees(trees)
    parsed = cells.parsed
    code = cells.read("code", _mine_code)
    parsed.code = None if code is KEEP else code
    version = cells.read("version", lambda v: _version(v))
    parsed.version = None if version is KEEP else version
    cells.put("name", cells.read("name", lambda v: normalize_name(as_written(v), "name", MAX_MINE_NAME)))
    _region(cells, lookups, scope)
    cells.put("mineralCode", cells.read("mineralCode", lookups.mineral))
    _capacity(cells)
    _development(cells)
    cells.put("maxDepth", cells.read("maxDepth", _depth))
    cells.put("workersPerShift", cells.read("workersPerShift", _workers))
    cells.put("productionStatus", cells.read("productionStatus", lambda v: enum_value(
        v, ProductionStatus, "productionStatus", ("生产状况", "productionStatus"))))
    cells.put("supervisoryBody", cells.read("supervisoryBody", lambda v: enum_value(
        v, SupervisoryBody, "supervisoryBody", ("日常安全监管主体", "supervisoryBody"))))
    cells.put("scale", cells.read("scale", lambda v: enum_value(v, MineScale, "scale", ("规模", "scale")),
                                  clearable=True))
    cells.put("principal", contact(cells), "principal.name")
    parsed.location = location(cells)
    for level in ("PROVINCE", "CITY", "COUNTY", "ENTERPRISE"):
        person = guarantor(cells, level)
        if person is not KEEP:
            parsed.guarantors[level] = person
    if parsed.code is None:
        _complete_for_new(cells)
    return parsed


def row_code(raw: dict, header) -> str | None:
    """The mine code a row names, as parse_row reads it; None for none or one it would refuse (so
    that the importer can look the row's mine up before the row is parsed)."""
    label = _labels(header).get("code")
    value = raw.get(label) if label is not None else None
    if value is None or is_clear(value):
        return None
    try:
        return _mine_code(value)
    except CellError:
        return None


# --------------------------------------------------------------------------- columns


def _mine_code(value: object) -> str:
    code = re.sub(r"\s+", "", clean(value)).upper()
    if not _CODE.fullmatch(code):
        raise CellError(f"矿山编码只能包含字母、数字、短横线和下划线，最多 32 位（当前为“{as_written(value)}”） / a mine "
                        f"code has up to 32 letters, digits, dashes and underscores (got {as_written(value)!r})")
    return code


def _version(value: object) -> int:
    number = whole_number(number_in(value, (), ("版本", "version")), ("版本", "version"))
    if number < 1:
        raise CellError(f"版本应为正整数（当前为 {number}） / the version is a positive whole number (got {number})")
    return number


def _depth(value: object) -> float:
    depth = number_in(value, ("米", "m"), ("最大开采深度", "maxDepth"))
    if depth < 0:
        # A negative figure is almost always the deepest level's elevation (标高, e.g. -850 m
        # below sea level), not a depth below the surface; abs() would silently store a wrong
        # depth whenever the surface is not at sea level.
        raise CellError(f"最大开采深度是距地表的深度，应为非负数；{depth} 看起来像标高，请换算为深度 / maxDepth is the "
                        f"depth below the surface (>= 0); {depth} looks like an elevation (标高): convert it")
    return float(depth)


def _workers(value: object) -> int:
    number = number_in(value, ("人", "名"), ("单班下井作业人数", "workersPerShift"))
    workers = whole_number(number, ("单班下井作业人数", "workersPerShift"))
    if workers < 0:
        raise CellError(f"单班下井作业人数不能为负数（当前为 {workers}） / workersPerShift must be >= 0 (got {workers})")
    return workers


def _region(cells: _Cells, lookups: Lookups, scope) -> None:
    by_code = cells.read("regionCode", lambda v: lookups.region_by_code(v, scope))
    by_path = cells.read("regionPath", lambda v: lookups.region_by_path(v, scope))
    found = [region for region in (by_code, by_path) if region is not KEEP]
    if len(found) == 2 and by_code.code != by_path.code:
        cells.error("regionPath", cells.get("regionPath"),
                    f"所属行政区域（{by_path.code}）与行政区划代码（{by_code.code}）不一致 / the region name "
                    f"({by_path.code}) and the region code ({by_code.code}) disagree")
        return
    for region in found[:1]:
        cells.put("regionCode", region.code, "regionCode" if by_code is not KEEP else "regionPath")
        cells.parsed.warnings.extend(r.warning for r in found if r.warning)


def _capacity(cells: _Cells) -> None:
    def quantity(value: object) -> tuple[Decimal, str | None]:
        number, unit = split_quantity(value)
        if number <= 0:
            raise CellError(f"设计生产能力应大于 0（当前为 {number}） / designCapacity must be > 0 (got {number})")
        return number, capacity_unit(unit) if unit else None

    given = cells.read("designCapacity", quantity)
    unit = cells.read("capacityUnit", capacity_unit)
    if given is KEEP:
        cells.put("capacityUnit", unit)
        return
    number, inline_unit = given
    if inline_unit and unit is not KEEP and inline_unit != unit:
        cells.error("designCapacity", cells.get("designCapacity"),
                    f"设计生产能力中的单位“{inline_unit}”与生产能力单位“{unit}”不一致 / the unit in designCapacity "
                    f"({inline_unit}) differs from capacityUnit ({unit})")
        return
    cells.put("designCapacity", float(number))
    cells.put("capacityUnit", unit if unit is not KEEP else (inline_unit or KEEP),
              "capacityUnit" if unit is not KEEP else "designCapacity")


def _development(cells: _Cells) -> None:
    given = cells.read("developmentMethod", development)
    if given is not KEEP:
        method, detail = given
        cells.put("developmentMethod", method)
        cells.put("developmentDetail", detail, "developmentMethod")


def _complete_for_new(cells: _Cells) -> None:
    reported = {error.column for error in cells.parsed.errors}
    for name in REQUIRED_FOR_NEW:
        if name in cells.parsed.fields:
            continue
        key = name if name != "regionCode" or "regionCode" in cells.labels else "regionPath"
        if cells.label(key) in reported or (name == "regionCode" and cells.label("regionPath") in reported):
            continue
        cells.error(key, None, "新增矿山（矿山编码为空）必须填写此项 / a new mine (empty 矿山编码) needs this value")

