"""One spreadsheet row against the registry: what applying it would change, or why it cannot.

A plan is computed for every row before anything is written (that is the dry run); applying
writes the plans of a file in one transaction. Basic fields are planned by the same function as
`updateMine` (resolvers/mine_edits.py), guarantors and the location by the same rules as
`setGuarantor` and `updateMineLocation`, so an import can do nothing those could not.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

from auth.permissions import require_guarantor_editor
from models import geo
from models.enums import Datum, GuarantorLevel, ImportAction
from models.errors import MinegraphError
from resolvers.location_history import location_value
from resolvers.mine_edits import plan_mine_changes
from resolvers.mine_writes import checked_point
from spreadsheets.cells import KEEP

if TYPE_CHECKING:
    from spreadsheets.values import ParsedRow

# Equal after normalising (docs/import-format.md): coordinates within 1e-6 degrees.
COORDINATE_TOLERANCE = 1e-6
IMPORTED_NOTE = "导入 / imported"
CLEAR = {"clear": True}  # 清空 in the location columns
PERSON_PARTS = ("name", "position", "phone")
# A change's field (FieldChange.field) → the audit field that records it, for the version check.
_AUDITED = {"location": "location"}


@dataclass
class RowPlan:
    """A row's report (ImportRow, as JSON) and, unless rejected, the writes that apply it."""

    report: dict[str, Any]
    mine_id: int | None = None  # None: a new mine
    seen_version: int | None = None  # the mine's version when planned; applying checks it again
    columns: dict[str, Any] = field(default_factory=dict)  # mine columns (resolvers/mine_edits.py)
    basic_changes: list[dict] = field(default_factory=list)
    point: dict | None = None  # a checked location (resolvers/mine_writes.checked_point), or CLEAR
    guarantors: dict[GuarantorLevel, dict | None] = field(default_factory=dict)

    @property
    def action(self) -> ImportAction:
        return ImportAction(self.report["action"])

    def reject(self, column: str | None, value: Any, message: str, code: str) -> None:
        self.report["errors"].append({"column": column, "value": None if value is None else str(value),
                                      "message": message, "code": code})
        self.report["action"] = ImportAction.REJECTED.value
        self.report["changes"] = []


def new_report(parsed: ParsedRow) -> RowPlan:
    report = {"rowNumber": parsed.row_number, "code": parsed.code or None, "action": ImportAction.REJECTED.value,
              "changes": [], "errors": [], "warnings": list(parsed.warnings)}
    plan = RowPlan(report)
    for error in parsed.errors:
        plan.reject(error.column, error.value, error.message, error.code)
    return plan


def unknown_code(plan: RowPlan, column: str | None, code: str) -> None:
    # The same words whether the code does not exist or lies outside the importer's jurisdiction.
    plan.reject(column, code, f"没有编码为 {code} 的矿山 / no mine with code {code}", "NOT_FOUND")


def plan_row(ctx, parsed: ParsedRow, mine, guarantors: list, labels: dict[str, str]) -> RowPlan:
    """Plan one parsed row against `mine` (None: create) and its guarantor rows.
    `labels`: template key → the header label as written in this file (for RowError.column)."""
    plan = new_report(parsed)
    if plan.report["errors"]:
        return plan
    try:
        fields = _scale_as_imported(ctx, dict(parsed.fields), mine, plan)
        basic = plan_mine_changes(mine, fields, ctx.trees, scope=ctx.scope)
    except MinegraphError as error:
        field_name = getattr(error, "field", None)
        column = parsed.columns.get(field_name) if field_name else None
        plan.reject(column, None if field_name is None else fields.get(field_name), error.message, error.code)
        return plan
    plan.columns, plan.basic_changes = basic.columns, basic.changes
    changes = list(basic.changes)
    plan.report["warnings"].extend(basic.warnings)
    target = mine if mine is not None else SimpleNamespace(id=None, **_ancestry(ctx, basic.columns))
    changes += _location(ctx, plan, parsed, mine, target, labels)
    changes += _guarantors(ctx, plan, parsed, guarantors, target, labels)
    if plan.report["errors"]:
        plan.report["action"] = ImportAction.REJECTED.value
        return plan
    plan.mine_id = None if mine is None else mine.id
    plan.seen_version = None if mine is None else mine.version
    plan.report["changes"] = changes
    if mine is None:
        plan.report["action"] = ImportAction.CREATE.value
    else:
        plan.report["action"] = (ImportAction.UPDATE if changes else ImportAction.UNCHANGED).value
    return plan


def _ancestry(ctx, columns: dict) -> dict:
    node = ctx.trees.regions[columns["county_code"]]
    return {"province_code": node.province_code, "city_code": node.city_code, "county_code": node.code}


def _scale_as_imported(ctx, fields: dict, mine, plan: RowPlan) -> dict:
    """规模 in a sheet: a value equal to the derived scale is no override; another one is kept as an
    override noted as imported, with a warning (the licensing authority's classification decides)."""
    if "scale" not in fields or "scaleNote" in fields or fields["scale"] is None:
        return fields  # empty: as it is; 清空 (None): the override goes, the table decides
    wanted = str(getattr(fields["scale"], "value", fields["scale"]))
    override = mine.scale if mine is not None and mine.scale_override_note is not None else None
    if wanted == override:
        fields.pop("scale")  # the override it already has
        return fields
    # What the table derives for the row's values, as if there were no override.
    base = {k: v for k, v in fields.items() if k != "scale"} | ({"scale": None} if override else {})
    try:
        derived = plan_mine_changes(mine, base, ctx.trees).columns.get("scale", mine.scale if mine else None)
    except MinegraphError:
        derived = None  # e.g. a unit the table does not use: the given scale is all there is
    if wanted == derived:
        if override is None:
            fields.pop("scale")
        else:
            fields["scale"] = None  # back to the derived scale
        return fields
    fields["scaleNote"] = IMPORTED_NOTE
    shown = derived or "-"
    plan.report["warnings"].append(f"规模 {wanted} 与按设计生产能力推算的 {shown} 不同，按填写的规模保存 / "
                                   f"scale {wanted} differs from the derived {shown}: kept as an override")
    return fields


def _location(ctx, plan: RowPlan, parsed: ParsedRow, mine, target, labels) -> list[dict]:
    sent = parsed.location
    if sent is KEEP:
        return []
    old = None if mine is None or mine.lat is None else location_value(
        mine.lat, mine.lng, mine.source_datum, mine.inside_county)
    if sent is None:  # 清空
        if old is None:
            return []
        plan.point = CLEAR
        return [{"field": "location", "old": old, "new": None}]
    lat, lng, datum = sent["lat"], sent["lng"], sent["datum"]
    if mine is not None and mine.lat is not None and (mine.source_datum or geo.WGS84) == datum:
        now_lat, now_lng = (mine.lat, mine.lng) if datum == geo.WGS84 else geo.to_gcj02(mine.lat, mine.lng)
        if abs(now_lat - lat) <= COORDINATE_TOLERANCE and abs(now_lng - lng) <= COORDINATE_TOLERANCE:
            return []  # the stored point, as exported: unchanged, whatever a check would say of it now
    try:
        point = checked_point(ctx, target.county_code, lat, lng, Datum(datum))
    except MinegraphError as error:
        plan.reject(labels.get("location.lng"), f"{lng}, {lat}", error.message, error.code)
        return []
    plan.point = point
    new = location_value(point["lat"], point["lng"], datum, point["inside_county"], sent=(lat, lng))
    return [{"field": "location", "old": old, "new": new}]


def _guarantors(ctx, plan: RowPlan, parsed: ParsedRow, rows: list, target, labels) -> list[dict]:
    current = {GuarantorLevel(g.level): {p: getattr(g, p) for p in PERSON_PARTS} for g in rows}
    changes: list[dict] = []
    for level_name, person in parsed.guarantors.items():
        level = GuarantorLevel(level_name)
        before = current.get(level)
        parts = [p for p in PERSON_PARTS if (before or {}).get(p) != (person or {}).get(p)]
        if not parts:
            continue  # unchanged values are fine whoever imports them
        try:
            require_guarantor_editor(ctx.user, target, level)
        except MinegraphError as error:
            key = f"guarantors.{level.value}.{parts[0]}"
            plan.reject(labels.get(key), (person or {}).get(parts[0]), error.message, error.code)
            continue
        plan.guarantors[level] = person
        changes += [{"field": f"guarantors.{level.value}.{p}", "old": (before or {}).get(p),
                     "new": (person or {}).get(p)} for p in parts]
    return changes


def audited_field(change_field: str) -> str:
    """The audit record's `field` for a change (guarantors.COUNTY.phone → guarantor.COUNTY)."""
    if change_field.startswith("guarantors."):
        return "guarantor." + change_field.split(".")[1]
    return _AUDITED.get(change_field, change_field.split(".")[0])
