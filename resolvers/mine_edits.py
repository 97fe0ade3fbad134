"""Planning an edit of a mine's basic data (MineInput): the proposed values checked, normalised and
compared with the mine's own, for the GraphQL mutations, the approval of change requests and the
spreadsheet import. Pure: nothing here touches the database; resolvers/mine_apply.py writes a plan.

- `plan_mine_changes(current, values, trees, *, scope=None) -> Plan` — `current`: the mine row
  (anything with the Mine columns as attributes) or None for a new mine. `values`: a dict in
  MineInput shape, GraphQL field names → python values (enums as NAME strings or enum members,
  `principal` as {"name", "phone"} or None to clear it, `scale: None` clears an override); a key
  left out means "unchanged". `scope` (auth.scope.Scope), when given, must cover `regionCode`.
  Returns Plan(columns, changes, warnings): the mine columns to write, the FieldChange dicts
  {"field", "old", "new"} (values as the API shows them: enum names, numbers) and bilingual
  warnings. Raises BadUserInput (bilingual, naming the field) for any invalid or missing value,
  NotFound for a regionCode outside `scope`. A value equal to the mine's own (and of its type) is
  taken as it is, not checked again.
- `shown(row)` — a mine's MineInput fields as the API shows them (the "old" side of a change).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from auth.validation import normalize_name, normalize_phone
from models.enums import DevelopmentMethod, MineScale, ProductionStatus, SupervisoryBody
from models.errors import BadUserInput, NotFound, quoted
from seed.reference import capacity_unit, derive_scale

if TYPE_CHECKING:
    from auth.scope import Scope
    from models.trees import Trees

# MineInput field → (mine column, Chinese label). regionCode, mineralCode and principal also set
# the columns derived from them.
FIELDS: dict[str, tuple[str, str]] = {
    "name": ("name", "矿山名称"),
    "regionCode": ("county_code", "所在县级行政区"),
    "mineralCode": ("mineral_code", "矿种"),
    "designCapacity": ("design_capacity", "设计生产能力"),
    "capacityUnit": ("capacity_unit", "生产能力单位"),
    "developmentMethod": ("development_method", "开拓方式"),
    "developmentDetail": ("development_detail", "联合开拓组合"),
    "maxDepth": ("max_depth", "最大开采深度"),
    "workersPerShift": ("workers_per_shift", "单班下井人数"),
    "productionStatus": ("production_status", "生产状态"),
    "supervisoryBody": ("supervisory_body", "监管主体"),
    "principal": ("principal_name", "主要负责人"),
    "scale": ("scale", "生产规模"),
    "scaleNote": ("scale_override_note", "规模认定说明"),
}
REQUIRED = ("name", "regionCode", "mineralCode", "designCapacity", "capacityUnit", "developmentMethod",
            "maxDepth", "workersPerShift", "productionStatus", "supervisoryBody")
_ENUMS = {"developmentMethod": DevelopmentMethod, "productionStatus": ProductionStatus,
          "supervisoryBody": SupervisoryBody, "scale": MineScale}


@dataclass
class Plan:
    columns: dict[str, Any] = field(default_factory=dict)
    changes: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def _bad(name: str, zh: str, en: str) -> BadUserInput:
    error = BadUserInput(f"{FIELDS[name][1]}{zh} / {name}: {en}")
    error.field = name  # the MineInput field, for an import's RowError.column
    return error


def shown(row) -> dict[str, Any]:
    """The mine's MineInput fields as the API shows them."""
    principal = None
    if row.principal_name and row.principal_phone:
        principal = {"name": row.principal_name, "phone": row.principal_phone}
    return {
        "name": row.name, "regionCode": row.county_code, "mineralCode": row.mineral_code,
        "designCapacity": row.design_capacity, "capacityUnit": row.capacity_unit,
        "developmentMethod": row.development_method, "developmentDetail": row.development_detail,
        "maxDepth": row.max_depth, "workersPerShift": row.workers_per_shift,
        "productionStatus": row.production_status, "supervisoryBody": row.supervisory_body,
        "principal": principal, "scale": row.scale, "scaleNote": row.scale_override_note,
    }


def _number(name: str, value: Any, *, integer: bool = False, positive: bool = False) -> float | int:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _bad(name, "必须是数值", "must be a number")
    if not math.isfinite(value):
        raise _bad(name, "必须是有限数值", "must be a finite number")
    if integer and value != int(value):
        raise _bad(name, "必须是整数", "must be a whole number")
    if value < 0 or (positive and value == 0):
        raise _bad(name, "必须大于 0" if positive else "不能为负数", "must be greater than 0" if positive
                   else "must not be negative")
    return int(value) if integer else float(value)


def _normalised(name: str, value: Any, trees: Trees, scope: Scope | None) -> Any:
    """One MineInput value, checked and in the API's shape (enum names, floats)."""
    if value is None:
        return None
    if name in _ENUMS:
        value = getattr(value, "value", value)
        if value not in _ENUMS[name].__members__:
            raise _bad(name, f"取值 {quoted(value)} 无效", f"unknown value {quoted(value)}")
        return value
    if name == "name":
        return normalize_name(value, field="name", max_length=100, label=FIELDS[name][1])
    if name in ("capacityUnit", "developmentDetail", "scaleNote"):
        return normalize_name(value, field=name, max_length=16 if name == "capacityUnit" else 200,
                              label=FIELDS[name][1])
    if name == "regionCode":
        node = trees.regions.get(value) if isinstance(value, str) else None
        if node is not None and scope is not None and not scope.covers(node):
            node = None  # outside the caller's jurisdiction: as unknown, nothing leaks
        if node is None:
            raise NotFound(f"未找到行政区划 {quoted(value)} / region {quoted(value)} not found")
        if node.county_code != node.code:
            raise _bad(name, "必须是县级行政区划代码", f"{quoted(value)} is not a county-level region")
        return value
    if name == "mineralCode":
        node = trees.minerals.get(value) if isinstance(value, str) else None
        if node is None or node.level != 3:
            raise _bad(name, f"{quoted(value)} 不是矿种表的末级代码", f"{quoted(value)} is not a leaf of the mineral tree")
        return value
    if name == "designCapacity":
        return _number(name, value, positive=True)
    if name == "maxDepth":
        return _number(name, value)
    if name == "workersPerShift":
        return _number(name, value, integer=True)
    if name == "principal":
        if not isinstance(value, dict):
            raise _bad(name, "必须包含姓名和电话", "must be {name, phone}")
        try:
            return {"name": normalize_name(value.get("name"), field="name"),
                    "phone": normalize_phone(value.get("phone"))}
        except BadUserInput as error:  # named: which of the mine's fields it is about
            zh, _, en = error.message.partition(" / ")
            raise BadUserInput(f"{FIELDS[name][1]}：{zh} / principal: {en}") from None
    raise BadUserInput(f"未知的字段 {quoted(name)} / unknown MineInput field {quoted(name)}")


def _scale(current: dict | None, merged: dict, values: dict, trees: Trees, plan: Plan) -> None:
    """The scale in effect: an override (scale with scaleNote) or the table's derivation."""
    if "scale" in values:
        if merged["scale"] is None:  # scale: null clears the override
            if values.get("scaleNote") is not None:
                raise _bad("scaleNote", "在取消规模认定时必须为空", "must be null when scale is null")
            merged["scaleNote"] = None
        elif merged["scaleNote"] is None or "scaleNote" not in values:
            raise _bad("scaleNote", "指定生产规模时必须说明依据", "give a non-empty scaleNote with scale")
        else:
            return  # overridden
    elif "scaleNote" in values:
        if current is None or current["scaleNote"] is None or merged["scaleNote"] is None:
            raise _bad("scaleNote", "只能与 scale 一起设置", "set it together with scale (scale: null clears both)")
        return  # the override's note changes, the scale stays
    elif current is not None and current["scaleNote"] is not None:
        return  # still overridden
    basis = ("mineralCode", "designCapacity", "capacityUnit")
    if current is not None and "scale" not in values and all(merged[k] == current[k] for k in basis):
        return  # nothing the derivation reads has changed
    row_id = trees.minerals[merged["mineralCode"]].scale_row
    unit = capacity_unit(row_id)
    if merged["capacityUnit"] == unit:
        merged["scale"] = derive_scale(row_id, merged["designCapacity"]).value
        return
    # The table compares capacities in its own unit; no conversion is guessed.
    if current is None or current["scale"] is None:
        raise _bad("scale", f"生产能力单位与规模划分标准的单位（{unit}）不同，请给出 scale 和 scaleNote",
                   f"capacityUnit differs from the scale table's unit ({unit}): give scale and scaleNote")
    merged["scale"] = current["scale"]
    plan.warnings.append(f"生产能力单位与规模划分标准的单位（{unit}）不同，生产规模未重新计算 / capacityUnit differs "
                         f"from the scale table's unit ({unit}): the scale was kept, not derived")


def plan_mine_changes(current, values: dict[str, Any], trees: Trees, *, scope: Scope | None = None) -> Plan:
    """Validate a MineInput-shaped dict against the current mine (None: a new one); see the module."""
    plan = Plan()
    unknown = [k for k in values if k not in FIELDS]
    if unknown:
        raise BadUserInput(f"未知的字段 {', '.join(map(quoted, unknown))} / unknown MineInput field(s)")
    before = None if current is None else shown(current)
    # A value the mine already has (same type, equal) is taken as it is, not checked again: it was
    # stored after these checks, and an import of an export repeats thousands of them.
    given = {name: value if before is not None and type(value) is type(before[name]) and value == before[name]
             else _normalised(name, value, trees, scope) for name, value in values.items()}
    merged = dict(before or dict.fromkeys(FIELDS))
    merged.update(given)
    missing = [name for name in REQUIRED if merged[name] is None]
    if missing:
        labels = "、".join(FIELDS[n][1] for n in missing)
        verb = "不能为空" if current is not None else "为必填项"
        raise BadUserInput(f"{labels}{verb} / required: {', '.join(missing)}")
    if merged["developmentMethod"] != DevelopmentMethod.COMBINED.value:
        if given.get("developmentDetail") is not None:
            raise _bad("developmentDetail", "仅适用于联合开拓", "only for developmentMethod COMBINED")
        merged["developmentDetail"] = None  # the combination means nothing for another method
    county = trees.regions[merged["regionCode"]]
    if merged["supervisoryBody"] == SupervisoryBody.CITY.value and county.city_code is None:
        raise _bad("supervisoryBody", "：该县由省直管，没有市级监管部门", "this county has no city level above it")
    _scale(before, merged, values, trees, plan)
    for name in FIELDS:
        old = None if before is None else before[name]
        if before is None or merged[name] != old:
            plan.changes.append({"field": name, "old": old, "new": merged[name]})
            plan.columns.update(_columns(name, merged[name], trees))
    return plan


def _columns(name: str, value: Any, trees: Trees) -> dict[str, Any]:
    if name == "regionCode":
        node = trees.regions[value]
        return {"county_code": node.code, "city_code": node.city_code, "province_code": node.province_code}
    if name == "mineralCode":
        group = trees.minerals[trees.minerals[value].parent_code]
        return {"mineral_code": value, "group_code": group.code, "category_code": group.parent_code}
    if name == "principal":
        return {"principal_name": value and value["name"], "principal_phone": value and value["phone"]}
    return {FIELDS[name][0]: value}
