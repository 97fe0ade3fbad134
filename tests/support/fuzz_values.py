"""Hostile values for the fuzz, as Hypothesis strategies.

Most strategies draw (value, certainly invalid): the tests must see a refusal wherever the
second part is True, and leave the rest to the service (an accepted value is then checked as
written). Huge strings (around and far beyond the request-size limit), control characters,
NUL bytes, lone surrogates, emoji, RTL and zero-width marks, NaN and ±Infinity as JSON number
tokens, integers past 32 and 64 bits (and past Python's 4,300-digit parsing limit), out-of-range
and swapped coordinates, wrong enum values, wrong types, forged and malformed cursors.
"""

from __future__ import annotations

import base64
import json
import unicodedata

from hypothesis import strategies as st

from support.fuzz_requests import Raw

MAX_INT32 = 2**31 - 1

# --------------------------------------------------------------------------- hostile values

SPECIAL_TEXT = [
    "", " ", "   ", "\x00", "a\x00b", "\ud800", "\udfff", "x\ud800y", "\udc00\ud800", "\u202e", "\u200f", "\u200b",
    "\ufeff", "\u2028", "\u2029", "\t", "\n", "\r\n", "\x7f", "\x1b[31m", "😀", "👨‍👩‍👧‍👦", "\U0010ffff", "\ufffe",
    "' OR 1=1 --", "'; DROP TABLE mine; --", "%", "_", "%%", "\\", "\\u0000", "<script>alert(1)</script>",
    "${jndi:ldap://x}", "{{7*7}}", "null", "None", "NaN", "Infinity", "-0", "0x10", "1e999", "__typename",
    "ＡＢＣ１２３", "١٢٣", "ا", "李建国", "副县长", "矿" * 200, "e\u0301", "\u0300",
]


def hostile_text(*, max_size: int = 60) -> st.SearchStrategy[str]:
    """Text a client should never send — and some it may (the checks decide which must be refused)."""
    return st.one_of(
        st.sampled_from(SPECIAL_TEXT),
        st.text(max_size=max_size),
        st.text(st.characters(codec="utf-8", categories=["Cc", "Cf", "Zs", "Zl", "Zp", "So", "Lo", "Mn"]),
                max_size=max_size),
        st.lists(st.integers(0xD800, 0xDFFF).map(chr), min_size=1, max_size=4).map("".join),  # lone surrogates
        st.binary(max_size=40).map(lambda b: b.decode("latin-1")),
        st.sampled_from([1_000, 10_000, 60_000, 99_000, 150_000, 1_000_000]).map(lambda n: "A" * n),  # body limit
        st.sampled_from([400, 3_000, 30_000]).map(lambda n: "中" * n),
    )


def raw_numbers() -> st.SearchStrategy[Raw]:
    return st.sampled_from([Raw("NaN"), Raw("Infinity"), Raw("-Infinity"), Raw("1e999"), Raw("-1e999"),
                            Raw("1" + "0" * 5000), Raw("-" + "9" * 4400), Raw("1" + "0" * 400)])


def hostile_float() -> st.SearchStrategy:
    """(value, certainly invalid as a Float)"""
    return st.one_of(
        raw_numbers().map(lambda r: (r, True)),
        st.floats(allow_nan=False, allow_infinity=False).map(lambda x: (x, False)),
        st.sampled_from([1e308, -1e308, 5e-324, -0.0, 2.0**53 + 1]).map(lambda x: (x, False)),
        st.sampled_from([2**63, -2**63, 2**64, 2**80]).map(lambda x: (x, False)),  # ints are Floats too
        st.sampled_from(["1.5", "NaN", "", True, [], {}, [1.0]]).map(lambda x: (x, True)),
    )


def hostile_int() -> st.SearchStrategy:
    """(value, certainly invalid as an Int)"""
    return st.one_of(
        st.integers(-MAX_INT32 - 1, MAX_INT32).map(lambda n: (n, False)),
        st.sampled_from([2**31, -2**31 - 1, 2**53, 2**63 - 1, 2**63, -2**63, 2**64, 2**80, -2**80, 10**30])
        .map(lambda n: (n, True)),
        raw_numbers().map(lambda r: (r, True)),
        st.sampled_from([1.5, 1e20, "1", "", True, [1], {"n": 1}]).map(lambda x: (x, True)),
    )


def hostile_enum(valid: list[str]) -> st.SearchStrategy:
    wrong = [v.lower() for v in valid] + [v + " " for v in valid] + ["", "null", "WGS-84", "gcj02", "__typename",
                                                                    "LARGE\x00", "ＬＡＲＧＥ", "1"]
    return st.one_of(
        st.sampled_from(valid).map(lambda v: (v, False)),
        st.sampled_from(wrong).map(lambda v: (v, True)),
        hostile_text(max_size=12).filter(lambda t: t not in valid).map(lambda t: (t, True)),
        st.sampled_from([0, 1, True, ["LARGE"], {"v": 1}]).map(lambda v: (v, True)),
    )


def nasty_unicode(text: str) -> bool:
    """Control, surrogate or NUL characters: certainly not part of a name, title or phone.
    Judged as the server receives the text: JSON joins a surrogate pair into one character."""
    received = json.loads(json.dumps(text))
    return any(unicodedata.category(c) in ("Cc", "Cs") for c in received)


# --------------------------------------------------------------------------- filters and cursors

MINE_FILTER_FIELDS = {
    "regionCode": "text", "nameContains": "text", "mineralCodes": "text list",
    "scales": ("enum list", ["LARGE", "MEDIUM", "SMALL"]),
    "productionStatuses": ("enum list", ["NORMAL", "TRIAL", "CONSTRUCTION", "RECTIFICATION", "SUSPENDED",
                                         "LONG_SUSPENDED", "CLOSED"]),
    "developmentMethods": ("enum list", ["ADIT", "INCLINE", "SHAFT", "RAMP", "COMBINED"]),
    "supervisoryBodies": ("enum list", ["PROVINCE", "CITY", "COUNTY", "XPCC"]),
    "designCapacityMin": "float", "designCapacityMax": "float", "depthMin": "float", "depthMax": "float",
    "workersPerShiftMin": "int", "workersPerShiftMax": "int",
    "over30Workers": "bool", "over800mDepth": "bool", "missingLocation": "bool",
    "missingGuarantorLevel": ("enum", ["PROVINCE", "CITY", "COUNTY", "ENTERPRISE"]),
}


@st.composite
def hostile_filter(draw):
    """(MineFilter variable value, certainly invalid)"""
    if draw(st.integers(0, 9)) == 0:
        return draw(st.sampled_from([("not an object", True), ([], True), (5, True), (None, False)]))
    spec, invalid = {}, False
    for key in draw(st.lists(st.sampled_from(sorted(MINE_FILTER_FIELDS)), min_size=1, max_size=4, unique=True)):
        kind = MINE_FILTER_FIELDS[key]
        if kind == "text":
            value = draw(st.one_of(hostile_text(), st.sampled_from(["530000", "000000", "999999", "110101"])))
            bad = nasty_unicode(value) and key == "regionCode"
        elif kind == "text list":
            value = draw(st.lists(st.one_of(hostile_text(max_size=8), st.sampled_from(["10", "1001", "100101"])),
                                  max_size=3))
            bad = any(v not in ("10", "1001", "100101") and nasty_unicode(v) for v in value)
        elif kind == "float":
            value, bad = draw(hostile_float())
        elif kind == "int":
            value, bad = draw(hostile_int())
        elif kind == "bool":
            value, bad = draw(st.one_of(st.booleans().map(lambda b: (b, False)),
                                        st.sampled_from(["true", 1, 0, "", [True]]).map(lambda v: (v, True))))
        elif kind[0] == "enum":
            value, bad = draw(hostile_enum(kind[1]))
        else:
            items = draw(st.lists(hostile_enum(kind[1]), max_size=3))
            value, bad = [v for v, _ in items], any(b for _, b in items)
        spec[key], invalid = value, invalid or bad
    if draw(st.integers(0, 9)) == 0:
        spec[draw(st.sampled_from(["foo", "regioncode", "__proto__", "", "nameContains\x00"]))] = 1
        invalid = True
    return spec, invalid


@st.composite
def hostile_cursor(draw, real: str):
    """(after, certainly invalid): forged, altered and malformed cursors."""
    kind = draw(st.sampled_from(["real", "flip", "cut", "extend", "random b64", "text", "null", "number"]))
    if kind == "real":
        return real, False
    if kind == "null":
        return None, False
    if kind == "number":
        return draw(st.sampled_from([0, 1, 2**80, 1.5])), True
    if kind == "flip":
        raw = bytearray(base64.urlsafe_b64decode(real + "=" * (-len(real) % 4)))
        i = draw(st.integers(0, len(raw) - 1))
        raw[i] ^= 1 << draw(st.integers(0, 7))
        return base64.urlsafe_b64encode(bytes(raw)).decode().rstrip("="), True
    if kind == "cut":
        return real[: draw(st.integers(0, len(real) - 1))], True
    if kind == "extend":
        return real + draw(st.sampled_from(["=", "==", "A", "\x00", "AAAA", real])), True
    if kind == "random b64":
        raw = draw(st.binary(max_size=200))
        return base64.urlsafe_b64encode(raw).decode().rstrip("=" if draw(st.booleans()) else ""), True
    value = draw(hostile_text())
    return value, value != real

# --------------------------------------------------------------------------- coordinates

CITIES = [(25.04, 102.71), (39.91, 116.40), (30.57, 104.07), (34.26, 108.94), (43.82, 87.61), (38.04, 114.51)]


def inside_china(draw):
    """((lat, False), (lng, False)): a point a few km from a provincial capital."""
    lat, lng = draw(st.sampled_from(CITIES))
    return (lat + draw(st.floats(-0.05, 0.05)), False), (lng + draw(st.floats(-0.05, 0.05)), False)


INSIDE_CHINA = st.composite(inside_china)()


@st.composite
def coordinates(draw):
    """((lat, certainly invalid), (lng, certainly invalid))"""
    kind = draw(st.sampled_from(["inside", "china", "swapped", "range", "far", "hostile", "hostile"]))
    if kind == "inside":
        return inside_china(draw)
    if kind == "china":
        return (draw(st.floats(22, 45)), False), (draw(st.floats(80, 125)), False)
    if kind == "swapped":
        return (draw(st.floats(80, 125)), True), (draw(st.floats(22, 45)), True)
    if kind == "range":
        lat = draw(st.one_of(st.floats(90.0001, 1e6), st.floats(-1e6, -90.0001), st.floats(22, 45)))
        lng = draw(st.one_of(st.floats(180.0001, 1e6), st.floats(-1e6, -180.0001), st.floats(80, 125)))
        bad = not (-90 <= lat <= 90 and -180 <= lng <= 180)
        return (lat, bad), (lng, bad)
    if kind == "far":
        lat, lng = draw(st.sampled_from([(48.85, 2.35), (-33.87, 151.21), (0.0, 0.0), (40.7, -74.0), (-90.0, 180.0)]))
        return (lat, True), (lng, True)
    return draw(hostile_float()), draw(hostile_float())


# --------------------------------------------------------------------------- WeChat codes


def wechat_codes() -> st.SearchStrategy:
    # `err-…`, `http-…` and `raw-html` make the fake WeChat fail on its side (which is INTERNAL by design).
    return hostile_text(max_size=80).filter(lambda c: not c.startswith(("err-", "http-", "raw-html")))
