"""Columns read together: the principal (name, phone), each guarantor level (name, position,
phone) and the location (经度, 纬度, 坐标系).

A group is all or nothing: every part filled (a change), every part empty (no change), or
`清空` (clears the whole group; its other cells empty or 清空 too). A partial group is an
error naming what is missing, so a half-typed person never overwrites a whole one.
Each function takes the row's cells (spreadsheets.values._Cells) and returns KEEP, None or
the value.
"""

from __future__ import annotations

from typing import Any

from auth.validation import normalize_name, normalize_phone
from spreadsheets.cells import KEEP, CellError, as_written, is_clear
from spreadsheets.coordinates import SWAPPED, datum, degrees, looks_swapped

_CLEAR_ALL = ("填写“清空”会清除整组信息，同组的其他列请留空或同样填写“清空” / 清空 clears the whole group: leave "
              "its other columns empty or write 清空 there too")
_PERSON_PARTS = (("name", "姓名"), ("position", "职务"), ("phone", "电话"))


def _group(cells, keys: dict[str, str]) -> tuple[Any, dict[str, object]]:
    """(KEEP | None | "filled", the filled cells by part) after the all-or-nothing rule;
    errors go to the row (then KEEP)."""
    given = {part: cells.get(key) for part, key in keys.items() if cells.get(key) is not None}
    if not given:
        return KEEP, {}
    cleared = [part for part, value in given.items() if is_clear(value)]
    if cleared:
        others = [part for part in given if part not in cleared]
        for part in others:
            cells.error(keys[part], given[part], _CLEAR_ALL)
        return (KEEP if others else None), {}
    missing = [part for part in keys if part not in given]
    if missing:
        first = next(iter(given))
        labels = [cells.label(keys[part]) for part in missing]
        cells.error(keys[first], given[first], "同组信息需填写完整，缺少：" + "、".join(labels) + " / this group "
                    "must be complete (or 清空): missing " + ", ".join(labels))
        return KEEP, {}
    return "filled", given


_NORMALIZERS = {"name": lambda v: normalize_name(as_written(v), "name"),
                "position": lambda v: normalize_name(as_written(v), "position"),
                "phone": lambda v: normalize_phone(as_written(v))}


def _normalized(cells, key: str, part: str, value: object) -> Any:
    if isinstance(value, str) and (part, value) in cells.known:
        return value  # what the mine has: stored after these same checks
    found = cells.once(f"person.{part}", value, _NORMALIZERS[part])
    if found[0]:
        return found[1]
    cells.error(key, value, found[1])
    return KEEP


def _person(cells, keys: dict[str, str]) -> Any:
    state, given = _group(cells, keys)
    if state != "filled":
        return state
    person = {part: _normalized(cells, keys[part], part, value) for part, value in given.items()}
    return KEEP if KEEP in person.values() else person


def contact(cells) -> Any:
    """主要负责人 and 主要负责人电话 → ContactInput {name, phone}, None (清空) or KEEP."""
    return _person(cells, {"name": "principal.name", "phone": "principal.phone"})


def guarantor(cells, level: str) -> Any:
    """One level's three columns → {name, position, phone}, None (清空) or KEEP. A level whose
    columns are all absent from the file is KEEP."""
    keys = {part: f"guarantors.{level}.{part}" for part, _ in _PERSON_PARTS}
    return _person(cells, keys)


def location(cells) -> Any:
    """经度, 纬度, 坐标系 → {"lat", "lng", "datum"} in the datum written, None (清空) or KEEP."""
    keys = ("location.lng", "location.lat", "location.datum")
    given = {key: cells.get(key) for key in keys if cells.get(key) is not None}
    if not given:
        return KEEP
    cleared = [key for key, value in given.items() if is_clear(value)]
    if cleared:
        for key in given.keys() - set(cleared):
            cells.error(key, given[key], _CLEAR_ALL)
        return KEEP if len(cleared) < len(given) else None
    lng, lat, written_datum = (given.get(key) for key in keys)
    if lng is None and lat is None:
        cells.parsed.warnings.append("填写了坐标系但没有经纬度，已忽略 / a datum without coordinates was ignored")
        return KEEP
    if lng is None or lat is None:
        present, missing = ("location.lat", "location.lng") if lng is None else ("location.lng", "location.lat")
        cells.error(present, given[present], f"经度和纬度需同时填写，缺少：{cells.label(missing)} / give both "
                    f"longitude and latitude: missing {cells.label(missing)}")
    if written_datum is None:
        cells.error("location.datum", None, "填写坐标时必须填写坐标系（WGS-84 或 GCJ-02） / coordinates need a "
                    "datum (WGS-84 or GCJ-02)")
    if lng is None or lat is None or written_datum is None:
        return KEEP
    values: dict[str, Any] = {}
    for axis, key, value in (("lng", "location.lng", lng), ("lat", "location.lat", lat)):
        try:
            values[axis] = degrees(value, axis)
        except CellError as error:
            cells.error(key, value, error.message)
    try:
        values["datum"] = datum(written_datum)
    except CellError as error:
        cells.error("location.datum", written_datum, error.message)
    if len(values) < 3:
        return KEEP
    if looks_swapped(values["lat"], values["lng"]):
        zh, _, en = SWAPPED.partition(" / ")
        cells.error("location.lat", lat, f"{zh}：纬度 {values['lat']}，经度 {values['lng']} / {en}: "
                    f"latitude {values['lat']}, longitude {values['lng']}")
        return KEEP
    # Whether the point lies in China is checked when the row is planned (resolvers/import_plan.py),
    # after comparing it with the stored point: an unchanged point is never refused.
    return {"lat": float(values["lat"]), "lng": float(values["lng"]), "datum": values["datum"]}
