"""One cell as people type it → a value: text, numbers with separators and units, enum labels.

Each function takes the raw cell (str from a CSV; str, int, float, datetime or bool from an
XLSX) and returns the value, or raises CellError with a bilingual message; spreadsheets.values
turns that into a row error naming the column.
"""

from __future__ import annotations

import json
import re
import unicodedata
from decimal import Decimal, InvalidOperation
from functools import lru_cache

from seed.reference import DATA_DIR
from spreadsheets.columns import CLEAR


class _Keep:
    """The value of an empty cell: leave the field as it is."""

    def __repr__(self) -> str:
        return "KEEP"


KEEP = _Keep()


class CellError(ValueError):
    """A cell that cannot be read; `code` is the RowError code."""

    def __init__(self, message: str, code: str = "BAD_USER_INPUT") -> None:
        super().__init__(message)
        self.message = message
        self.code = code


def as_written(value: object) -> str:
    """The cell as the person sees it in Excel: 30.0 shows as 30, text as typed."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip() if value is not None else ""


def clean(value: object) -> str:
    """NFKC text without surrounding spaces: full-width digits, letters and punctuation become
    ASCII (３０ → 30, （ → (, ， → ,), the ideographic space a plain one."""
    return unicodedata.normalize("NFKC", as_written(value)).strip()


def is_clear(value: object) -> bool:
    # A number, a date or ASCII text never reads as 清空 (NFKC keeps ASCII as it is): not normalised.
    if not isinstance(value, str) or value.isascii():
        return False
    return clean(value) == CLEAR


def compact_key(value: object) -> str:
    """The form alias tables are keyed on: NFKC, no spaces at all, Latin letters upper-cased."""
    return re.sub(r"\s+", "", clean(value)).upper()


# --------------------------------------------------------------------------- numbers

# A number as typed: digits with optional thousands separators (1,200 or 1 200) and decimals.
_NUMBER = re.compile(r"([+-]?)((?:\d{1,3}(?:[, ]\d{3})+|\d+)(?:\.\d+)?|\.\d+)\s*(.*)")


def split_quantity(value: object) -> tuple[Decimal, str]:
    """(number, the unit written after it, "" if none): "1,200" → (1200, ""), "850米" → (850, "米"),
    "12万吨/年" → (12, "万吨/年"). Excel numbers come exact through repr (850.5 stays 850.5)."""
    if isinstance(value, bool):
        raise CellError("应填写数字，而不是 TRUE/FALSE / expected a number, not TRUE/FALSE")
    if isinstance(value, (int, float)):
        number = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
        if not number.is_finite():
            raise CellError("应填写有限的数字 / expected a finite number")
        return number, ""
    text = clean(value)
    match = _NUMBER.fullmatch(text)
    if match is None:
        raise CellError(f"无法识别的数字“{text}” / not a number: {text!r}")
    sign, digits, unit = match.groups()
    if unit[:1] in set("0123456789,."):  # "1,2" or "1,20,0": not a thousands separator
        raise CellError(f"无法识别的数字“{text}”，千位分隔符应每三位一个 / not a number: {text!r} (thousands "
                        "separators go every three digits)")
    try:
        number = Decimal(sign + digits.replace(",", "").replace(" ", ""))
    except InvalidOperation:  # pragma: no cover - the pattern admits only valid decimals
        raise CellError(f"无法识别的数字“{text}” / not a number: {text!r}") from None
    return number, unit.strip()


def number_in(value: object, units: tuple[str, ...], label: tuple[str, str]) -> Decimal:
    """A number whose unit, if written, is one of `units` (compared upper-cased): "850米", "850m"."""
    number, unit = split_quantity(value)
    if unit and unit.upper() not in {u.upper() for u in units}:
        zh, en = label
        raise CellError(f"{zh}的单位应为{'或'.join(units)}，而不是“{unit}” / {en}: the unit must be "
                        f"{' or '.join(units)}, not {unit!r}")
    return number


def whole_number(number: Decimal, label: tuple[str, str]) -> int:
    if number != number.to_integral_value():
        zh, en = label
        raise CellError(f"{zh}应为整数（当前为 {number}） / {en} must be a whole number (got {number})")
    return int(number)


# --------------------------------------------------------------------------- alias tables


@lru_cache
def aliases() -> dict:
    with (DATA_DIR / "import_aliases.json").open(encoding="utf-8") as handle:
        return json.load(handle)


@lru_cache
def _spellings(enum: type) -> dict[str, str]:
    """compact_key of each member's label, and each member's name → the name (the first member
    that has it, in the enum's order)."""
    found: dict[str, str] = {}
    for member in enum:
        found.setdefault(compact_key(member.label), member.value)
        found.setdefault(member.value, member.value)
    return found


def enum_value(value: object, enum: type, table: str, label: tuple[str, str]) -> str:
    """The enum name a cell means: a label (正常生产), a name (NORMAL), or a spelling from
    seed/data/import_aliases.json[table] (生产)."""
    key = compact_key(value)
    found = _spellings(enum).get(key)
    if found is None:
        found = aliases().get(table, {}).get(key)
    if found is not None:
        return found
    zh, en = label
    allowed = "、".join(member.label for member in enum)
    raise CellError(f"{zh}“{as_written(value)}”无法识别，可填：{allowed} / {en}: {as_written(value)!r} is not "
                    f"one of {', '.join(member.label for member in enum)}")
