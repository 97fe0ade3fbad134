"""Hypothesis strategies of the jurisdiction properties' values: callers, region codes (inside the
caller's scope, just outside it, unknown), name fragments, MineFilters with every field, page sizes."""

from __future__ import annotations

from hypothesis import strategies as st

from support.jurisdiction_world import TIERS, Setup
from support.reference_props import GUARANTOR_LEVELS, PAGE_LIMIT, Who

BOGUS_REGIONS = ["999999", "", "abc", "11010", "1101011", "11010x", " 110101", "110101 ", "000000-001", "１１００００"]
BOGUS_MINERALS = ["99", "", "1001x", "10 ", "999999", "金"]
BOGUS_MINE_IDS = ["abc", "1.5", "-3", "", "1e3", " 12", "１２", "12 ", "0x10", "99999999999999999999999"]

_STRATEGIES: dict = {}


def cached(function):
    """Build a strategy once per (function, arguments): sampled_from over thousands of codes is not free."""
    def wrapper(*args):
        key = (function.__name__, *(id(a) if isinstance(a, Setup) else a for a in args))
        if key not in _STRATEGIES:
            _STRATEGIES[key] = function(*args)
        return _STRATEGIES[key]
    return wrapper


@cached
def callers(s: Setup) -> st.SearchStrategy:
    """A tier first (each equally likely), then one of the pool's accounts of that tier."""
    by_tier = {t: [u for u in s.pool if s.world.accounts[u]["tier"] == t] for t in TIERS}
    return st.sampled_from(TIERS).flatmap(lambda tier: st.sampled_from(by_tier[tier]))


def draw_caller(data: st.DataObject, s: Setup) -> tuple[str, Who, str]:
    """A caller from the pool: its username, who it is, and its session token."""
    username = data.draw(callers(s), label="caller")
    return username, s.world.who(username), s.tokens[username]


@cached
def region_code_values(s: Setup, username: str) -> st.SearchStrategy:
    options = [st.sampled_from(s.inside[username]), st.sampled_from(s.inside[username]),
               st.sampled_from(sorted(s.world.regions)), st.sampled_from(BOGUS_REGIONS)]
    if s.outside_near[username]:
        options.append(st.sampled_from(s.outside_near[username]))
    return st.one_of(options)


@cached
def name_values(s: Setup) -> st.SearchStrategy:
    @st.composite
    def substring(draw):
        name = draw(st.sampled_from(s.names))
        start = draw(st.integers(0, len(name) - 1))
        end = draw(st.integers(start + 1, min(len(name), start + 4)))
        pad = draw(st.sampled_from(["", " ", "  ", "\u3000"]))  # \u3000: the full-width space
        return pad + name[start:end] + draw(st.sampled_from(["", " ", pad]))

    return st.one_of(
        substring(), substring(),
        st.sampled_from(["", "   ", "%", "_", "金%", "%金", "矿_", "\\", "'", "金矿", "有限公司"]),
        st.text(alphabet=st.sampled_from("金铁铜矿山有限公司银铅锌 aZ%_"), max_size=6),
        st.integers(95, 106).map(lambda n: "矿" * n),  # the 100-character limit, after trimming
        st.integers(95, 106).map(lambda n: "  " + "a" * n + "  "),
    )


def float_bound(s: Setup, column: str, low: float, high: float) -> st.SearchStrategy:
    return st.one_of(st.sampled_from(s.values[column]), st.floats(low, high, allow_nan=False),
                     st.integers(int(low), int(high)))


def range_pair(s: Setup, column: str, low: float, high: float, integer: bool = False):
    bound = st.integers(int(low), int(high)) | st.sampled_from(s.values[column]) if integer else float_bound(s, column, low, high)

    @st.composite
    def pair(draw):
        kind = draw(st.sampled_from(["min", "max", "both", "both", "inverted"]))
        a = draw(bound)
        if kind == "min":
            return a, None
        if kind == "max":
            return None, a
        b = draw(bound)
        lo, hi = min(a, b), max(a, b)
        return (hi, lo) if kind == "inverted" else (lo, hi)

    return pair()


def enum_list(values) -> st.SearchStrategy:
    return st.lists(st.sampled_from(values), max_size=len(values), unique=True)


RANGES = {"designCapacity": ("design_capacity", -5, 320, False), "depth": ("max_depth", -10, 1600, False),
          "workersPerShift": ("workers_per_shift", -5, 420, True)}
ENUMS = {
    "scales": ["LARGE", "MEDIUM", "SMALL"],
    "productionStatuses": ["NORMAL", "TRIAL", "CONSTRUCTION", "RECTIFICATION", "SUSPENDED", "LONG_SUSPENDED", "CLOSED"],
    "developmentMethods": ["ADIT", "INCLINE", "SHAFT", "RAMP", "COMBINED"],
    "supervisoryBodies": ["PROVINCE", "CITY", "COUNTY", "XPCC"],
}
FILTER_KEYS = ["regionCode", "nameContains", "mineralCodes", *ENUMS, *RANGES, "over30Workers", "over800mDepth",
               "missingLocation", "missingGuarantorLevel"]


@cached
def mine_filters(s: Setup, username: str) -> st.SearchStrategy:
    mineral_codes = sorted(s.world.minerals)

    @st.composite
    def build(draw):
        if draw(st.integers(0, 7)) == 0:
            return None
        size = draw(st.sampled_from([0, 1, 1, 2, 2, 3, 4]))
        keys = draw(st.lists(st.sampled_from(FILTER_KEYS), min_size=size, max_size=size, unique=True))
        spec: dict = {}
        for key in keys:
            if key == "regionCode":
                spec[key] = draw(region_code_values(s, username))
            elif key == "nameContains":
                spec[key] = draw(name_values(s))
            elif key == "mineralCodes":
                spec[key] = draw(st.lists(st.sampled_from(mineral_codes) | st.sampled_from(BOGUS_MINERALS)
                                          if draw(st.integers(0, 5)) == 0 else st.sampled_from(mineral_codes),
                                          max_size=3))
            elif key in ENUMS:
                spec[key] = draw(enum_list(ENUMS[key]))
            elif key in RANGES:
                column, low, high, integer = RANGES[key]
                lo, hi = draw(range_pair(s, column, low, high, integer))
                if lo is not None:
                    spec[f"{key}Min"] = lo
                if hi is not None:
                    spec[f"{key}Max"] = hi
            elif key == "missingGuarantorLevel":
                spec[key] = draw(st.sampled_from(GUARANTOR_LEVELS) | st.none())
            else:
                spec[key] = draw(st.booleans() | st.none())
        return spec

    return build()


def page_sizes() -> st.SearchStrategy:
    return st.one_of(st.sampled_from([0, 1, 2, 5, 20, 100]), st.integers(0, PAGE_LIMIT),
                     st.sampled_from([-1, -100, 101, 150, 1000]))
