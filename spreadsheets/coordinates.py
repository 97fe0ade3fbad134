"""The location columns: 经度, 纬度 in decimal degrees or 度分秒, and 坐标系.

Values are returned in the datum they were written in (the importer converts with
models.geo.to_wgs84), so that an export writes back exactly what was imported.
"""

from __future__ import annotations

import re
from decimal import Decimal

from spreadsheets.cells import CellError, aliases, as_written, clean, compact_key, split_quantity

# Marks people use for degrees, minutes and seconds, after NFKC (which turns ″ into ′′).
_MARKS = (("度", "°"), ("º", "°"), ("˚", "°"), ("分", "'"), ("秒", '"'), ("′′", '"'), ("″", '"'),
          ("′", "'"), ("’’", '"'), ("''", '"'), ("‘", "'"), ("’", "'"), ("“", '"'), ("”", '"'))
_HEMISPHERES = {"东经": "E", "西经": "W", "北纬": "N", "南纬": "S"}
_DMS = re.compile(r"([NSEW])?(\d+(?:\.\d+)?)°(?:(\d+(?:\.\d+)?)')?(?:(\d+(?:\.\d+)?)\")?([NSEW])?")
SWAPPED = "经纬度可能填反了 / latitude and longitude look swapped"
# China spans about 3.8–53.6° N and 73.5–135.1° E: a latitude above 60 that fits as a Chinese
# longitude, beside a longitude that fits as a Chinese latitude, was written in the wrong column.
_CHINA_LAT = (Decimal(3), Decimal(54))
_CHINA_LNG = (Decimal(73), Decimal(136))


def degrees(value: object, axis: str) -> Decimal:
    """Decimal degrees from "102.7125", 102.7125, "102°42'45\"", "102度42分45秒", "E102°42.75'".
    `axis` is "lat" or "lng": a hemisphere letter of the other axis means swapped columns."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        number, _ = split_quantity(value)
        return number
    text = clean(value).upper()
    for word, letter in _HEMISPHERES.items():
        text = text.replace(word, letter)
    for mark, ascii_mark in _MARKS:
        text = text.replace(mark, ascii_mark)
    text = re.sub(r"\s+", "", text)
    match = _DMS.fullmatch(text)
    if match is None:
        try:
            number, unit = split_quantity(text.rstrip("°"))
        except CellError:
            number, unit = None, "?"
        if unit or number is None:
            raise CellError(f"无法识别的坐标“{as_written(value)}”，请填写十进制度数（如 102.7125）或度分秒"
                            f"（如 102°42'45\"） / not a coordinate: {as_written(value)!r}; write decimal degrees "
                            "(e.g. 102.7125) or degrees, minutes and seconds (e.g. 102°42'45\")")
        return number
    before, deg, minutes, seconds, after = match.groups()
    if before and after:
        raise CellError(f"坐标“{as_written(value)}”写了两个方向字母 / {as_written(value)!r} names two hemispheres")
    hemisphere = before or after
    if hemisphere and (hemisphere in "NS") != (axis == "lat"):
        raise CellError(SWAPPED)
    result = Decimal(deg)
    for part, scale, name in ((minutes, 60, ("分", "minutes")), (seconds, 3600, ("秒", "seconds"))):
        if part is None:
            continue
        if Decimal(part) >= 60:
            raise CellError(f"坐标“{as_written(value)}”的{name[0]}应小于 60 / {as_written(value)!r}: the "
                            f"{name[1]} must be below 60")
        result += Decimal(part) / scale
    return -result if hemisphere in ("S", "W") else result


def datum(value: object) -> str:
    """WGS84 or GCJ02 from how people name them (WGS-84, GCJ-02, 国测局, 火星坐标 …)."""
    found = aliases()["datum"].get(compact_key(value))
    if found is None:
        raise CellError(f"坐标系“{as_written(value)}”无法识别，请填写 WGS-84 或 GCJ-02 / unknown datum "
                        f"{as_written(value)!r}: write WGS-84 or GCJ-02")
    return found


def looks_swapped(lat: Decimal, lng: Decimal) -> bool:
    return (lat > 60 and _CHINA_LNG[0] <= lat <= _CHINA_LNG[1]
            and _CHINA_LAT[0] <= lng <= _CHINA_LAT[1])
