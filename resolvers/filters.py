"""Mine filters: validated once into a hashable spec, then turned into SQL.

The spec doubles as the DataLoader key, so two fields asking for the same
filter share one statement.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from sqlalchemy import exists, false, or_

from models.enums import GuarantorLevel
from models.errors import BadUserInput, NotFound, quoted
from models.mine import Guarantor, Mine

if TYPE_CHECKING:
    from sqlalchemy.sql.elements import ColumnElement

    from auth.scope import Scope
    from models.trees import Trees
    from settings import Settings

# (input field, mine column) for the inclusive numeric ranges.
_RANGES = (
    ("design_capacity", "designCapacity", Mine.design_capacity),
    ("depth", "depth", Mine.max_depth),
    ("workers_per_shift", "workersPerShift", Mine.workers_per_shift),
)
# (input field, mine column) for the enum lists.
_ENUM_LISTS = (
    ("scales", "scale"),
    ("production_statuses", "production_status"),
    ("development_methods", "development_method"),
    ("supervisory_bodies", "supervisory_body"),
    ("verification", "verification_state"),  # not in the mine tally: tally_filters refuses it
)
MAX_NAME_LENGTH = 100


@dataclass(frozen=True)
class FilterSpec:
    # Every listed region must contain the mine (a filter's regionCode, plus
    # the region a Region.mines or Region.stats field is asked on).
    region_codes: tuple[str, ...] = ()
    name_contains: str | None = None
    mineral_codes: tuple[str, ...] | None = None
    scales: tuple[str, ...] | None = None
    production_statuses: tuple[str, ...] | None = None
    development_methods: tuple[str, ...] | None = None
    supervisory_bodies: tuple[str, ...] | None = None
    verification: tuple[str, ...] | None = None
    design_capacity_min: float | None = None
    design_capacity_max: float | None = None
    depth_min: float | None = None
    depth_max: float | None = None
    workers_per_shift_min: int | None = None
    workers_per_shift_max: int | None = None
    over30_workers: bool | None = None
    over800m_depth: bool | None = None
    missing_location: bool | None = None
    missing_guarantor_level: str | None = None

    def within(self, code: str) -> FilterSpec:
        """The same filter, restricted to one more region."""
        if code in self.region_codes:
            return self
        return replace(self, region_codes=tuple(sorted((*self.region_codes, code))))


EMPTY = FilterSpec()


def _enum_values(items) -> tuple[str, ...] | None:
    if items is None:
        return None
    return tuple(sorted({getattr(i, "value", i) for i in items}))


# Each MineFilter field: its Python name (the input object's attribute, schema/inputs.py) and its
# GraphQL name (the key of graphql-core's coerced dict). tests/api/test_fast_execution_differential.py
# checks this against the schema's MineFilter.
GRAPHQL_NAMES = {
    "region_code": "regionCode",
    "name_contains": "nameContains",
    "mineral_codes": "mineralCodes",
    "scales": "scales",
    "production_statuses": "productionStatuses",
    "development_methods": "developmentMethods",
    "supervisory_bodies": "supervisoryBodies",
    "verification": "verification",
    "design_capacity_min": "designCapacityMin",
    "design_capacity_max": "designCapacityMax",
    "depth_min": "depthMin",
    "depth_max": "depthMax",
    "workers_per_shift_min": "workersPerShiftMin",
    "workers_per_shift_max": "workersPerShiftMax",
    "over30_workers": "over30Workers",
    "over800m_depth": "over800mDepth",
    "missing_location": "missingLocation",
    "missing_guarantor_level": "missingGuarantorLevel",
}


def _reader(raw: Any) -> Callable[[str], Any]:
    """Reads a MineFilter field by its Python name, from graphql-core's coerced dict (GraphQL
    names: a field argument, a value from above in a tree, /export's JSON) or from the input object."""
    if isinstance(raw, Mapping):
        return lambda name: raw.get(GRAPHQL_NAMES[name])
    return lambda name: getattr(raw, name, None)


def _number(value, label: str):
    if value is not None and isinstance(value, float) and not math.isfinite(value):
        raise BadUserInput(f"筛选条件 {label} 必须是有限数值 / {label} must be a finite number")
    return value


def parse_filter(raw: Any, scope: Scope | None, trees: Trees) -> FilterSpec:
    """Validate a MineFilter (graphql-core's coerced dict or the input object; None: no filter)
    into a spec: the one conversion of a filter, wherever it comes from."""
    if raw is None:
        return EMPTY
    given = _reader(raw)
    values: dict[str, Any] = {}
    region_code = given("region_code")
    if region_code is not None:
        node = trees.regions.get(region_code)
        if node is None or scope is None or not scope.covers(node):
            raise NotFound(f"未找到行政区划 {quoted(region_code)} / region {quoted(region_code)} not found")
        values["region_codes"] = (region_code,)
    name = given("name_contains")
    if name is not None:
        name = name.strip()
        if len(name) > MAX_NAME_LENGTH:
            raise BadUserInput(f"矿山名称关键词最多 {MAX_NAME_LENGTH} 个字符 / nameContains is limited to "
                               f"{MAX_NAME_LENGTH} characters")
        if any(ord(ch) < 32 for ch in name):
            raise BadUserInput("矿山名称关键词不能包含控制字符 / nameContains must not contain control characters")
        values["name_contains"] = name or None
    codes = given("mineral_codes")
    if codes is not None:
        unknown = [c for c in codes if c not in trees.minerals]
        if unknown:
            named = ", ".join(map(quoted, unknown[:5]))
            raise BadUserInput(f"未知的矿种代码 {named} / unknown mineral code(s): {named}")
        values["mineral_codes"] = tuple(sorted(set(codes)))
    for name, _column in _ENUM_LISTS:
        values[name] = _enum_values(given(name))
    for field_name, label, _column in _RANGES:
        low = _number(given(f"{field_name}_min"), f"{label}Min")
        high = _number(given(f"{field_name}_max"), f"{label}Max")
        if low is not None and high is not None and low > high:
            raise BadUserInput(f"筛选条件 {label}Min（{low}）大于 {label}Max（{high}） / "
                               f"{label}Min ({low}) is greater than {label}Max ({high})")
        values[f"{field_name}_min"], values[f"{field_name}_max"] = low, high
    values["over30_workers"] = given("over30_workers")
    values["over800m_depth"] = given("over800m_depth")
    values["missing_location"] = given("missing_location")
    level = given("missing_guarantor_level")
    values["missing_guarantor_level"] = getattr(level, "value", level)
    return FilterSpec(**values)


def _region_clause(code: str, trees: Trees, table: Any = Mine) -> ColumnElement[bool] | None:
    node = trees.regions[code]
    return None if node.column is None else getattr(table, node.column) == code


def tally_filters(spec: FilterSpec, trees: Trees) -> bool:
    """Whether the spec restricts only what the mine tally (models/tally.py) is keyed
    by: regions, mineral categories and production statuses."""
    rest = replace(spec, region_codes=(), mineral_codes=None, production_statuses=None)
    categories = all(trees.minerals[code].column == "category_code" for code in spec.mineral_codes or ())
    return rest == EMPTY and categories


def filter_clauses(spec: FilterSpec, trees: Trees, settings: Settings, table: Any = Mine) -> list[ColumnElement[bool]]:
    """SQL conditions for a spec (AND-ed by the caller); thresholds from settings.
    `table` is `Mine`, or the mine tally for a spec that `tally_filters` accepts."""
    clauses: list[ColumnElement[bool]] = []
    for code in spec.region_codes:
        clause = _region_clause(code, trees, table)
        if clause is not None:
            clauses.append(clause)
    if spec.name_contains:
        clauses.append(Mine.name.contains(spec.name_contains, autoescape=True))
    if spec.mineral_codes is not None:
        by_column: dict[str, list[str]] = {}
        for code in spec.mineral_codes:
            by_column.setdefault(trees.minerals[code].column, []).append(code)
        parts = [getattr(table, column).in_(codes) for column, codes in by_column.items()]
        clauses.append(or_(*parts) if parts else false())
    for name, column in _ENUM_LISTS:
        values = getattr(spec, name)
        if values is not None:
            clauses.append(getattr(table, column).in_(values) if values else false())
    for field_name, _label, column in _RANGES:
        low, high = getattr(spec, f"{field_name}_min"), getattr(spec, f"{field_name}_max")
        if low is not None:
            clauses.append(column >= low)
        if high is not None:
            clauses.append(column <= high)
    if spec.over30_workers is not None:
        above = Mine.workers_per_shift > settings.workers_threshold
        clauses.append(above if spec.over30_workers else ~above)
    if spec.over800m_depth is not None:
        deep = Mine.max_depth > settings.depth_threshold_m
        clauses.append(deep if spec.over800m_depth else ~deep)
    if spec.missing_location is not None:
        clauses.append(Mine.lat.is_(None) if spec.missing_location else Mine.lat.is_not(None))
    if spec.missing_guarantor_level is not None:
        level = GuarantorLevel(spec.missing_guarantor_level)
        clauses.append(~exists().where(Guarantor.mine_id == Mine.id, Guarantor.level == level.value))
        if level is GuarantorLevel.CITY:
            clauses.append(Mine.city_code.is_not(None))  # no CITY level to miss elsewhere
    return clauses
