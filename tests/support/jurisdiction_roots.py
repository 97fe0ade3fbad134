"""The root fields the jurisdiction property draws, one class a field: how each is written into a
document, the codes it must be refused with for a caller, and how its answer is checked against the
recount. Here the base, the dashboard, region drill-downs, mineral-type statistics, me and guarantor
suggestions; the mine lists (mines, mine, minesNear) are in jurisdiction_mine_roots.py."""

from __future__ import annotations

from dataclasses import dataclass

from support.jurisdiction_checks import Case
from support.jurisdiction_documents import COMPLETENESS, CONNECTION, MINE_BASIC, STATS, Doc
from support.jurisdiction_world import FIGURES
from models.errors import quoted
from support.reference_props import (
    PAGE_LIMIT, as_utc, expected_parent, filter_problems, keyset, region_code_visible, to_milliseconds,
    visible_children,
)


class Root:
    nullable = False  # a non-null root field's error nulls the whole `data`

    def render(self, doc: Doc, alias: str) -> str:
        raise NotImplementedError

    def problems(self, case: Case) -> set[str]:
        """Codes the field must be refused with; empty: it must answer."""
        return set()

    async def check(self, case: Case, value, alias: str) -> None:
        raise NotImplementedError

    def check_refusal(self, case: Case, errors: list[dict], alias: str) -> None:
        """Extra checks of the errors of a refused field (messages)."""


@dataclass
class Dashboard(Root):
    def render(self, doc, alias):
        return (f"{alias}: dashboard {{ updatedAt region {{ code level parent {{ code }} }} stats {{ {STATS} }} "
                f"completeness {{ {COMPLETENESS} }} verification {{ total verified stale unverified }} }}")

    async def check(self, case, value, alias):
        mines = case.tally(None).selected
        case.same(f"{alias}.region", value["region"]["code"], case.who.region_code)
        case.region(value["region"], f"{alias}.region")
        case.same(f"{alias}.region.parent", value["region"]["parent"], None)
        case.stats(value["stats"], mines, f"{alias}.stats")
        case.completeness(value["completeness"], mines, f"{alias}.completeness")
        case.verification(value["verification"], mines, f"{alias}.verification")
        if mines:
            case.same(f"{alias}.updatedAt", as_utc(value["updatedAt"]),
                      to_milliseconds(max(m["updated_at"] for m in mines)))
        else:
            as_utc(value["updatedAt"])


def inherited(chosen: list[tuple | None]) -> list[tuple | None]:
    """Per depth, the arguments a statistic counts with: each one left null takes the value the same
    statistic has above (execution/drill_down.py); None where the depth does not select it."""
    out, above = [], None
    for arguments in chosen:
        if arguments is not None:
            above = tuple(a if a is not None else b for a, b in zip(arguments, above or (None,) * len(arguments)))
        out.append(None if arguments is None else above)
    return out


@dataclass
class RegionLevelSelection:
    stats: tuple | None = None  # (filter,) when selected
    completeness: tuple | None = None
    mines: tuple | None = None  # (filter, first)


@dataclass
class Region(Root):
    code: str | None
    levels: list[RegionLevelSelection]  # levels[0] for the region, [1] its children, ...
    nullable = True

    def render(self, doc, alias):
        code = doc.var("String", self.code)

        def body(depth: int) -> str:
            sel = self.levels[depth]
            parts = ["code name level parent { code }"]
            if sel.stats:
                parts.append(f"stats(filter: {doc.var('MineFilter', sel.stats[0])}) {{ {STATS} }}")
            if sel.completeness:
                parts.append(f"completeness(filter: {doc.var('MineFilter', sel.completeness[0])}) {{ {COMPLETENESS} }}")
            if sel.mines:
                f, n = doc.var("MineFilter", sel.mines[0]), doc.var("Int", sel.mines[1])
                parts.append(f"mines(filter: {f}, first: {n}) {{ {CONNECTION.format(node=MINE_BASIC)} }}")
            if depth + 1 < len(self.levels):
                parts.append(f"children {{ {body(depth + 1)} }}")
            return " ".join(parts)

        return f"{alias}: region(code: {code}) {{ {body(0)} }}"

    def _nodes(self, case: Case):
        """(depth, code) of every region node the answer holds."""
        root = case.who.region_code if self.code is None else self.code
        frontier = [root]
        for depth in range(len(self.levels)):
            for code in frontier:
                yield depth, code
            frontier = [c for code in frontier for c in visible_children(case.world, code, case.who)]

    def problems(self, case):
        if self.code is not None and not region_code_visible(case.world, self.code, case.who):
            return {"NOT_FOUND"}
        found, stats, completeness = set(), *self._counted_with()
        for depth, _code in self._nodes(case):
            sel = self.levels[depth]
            for chosen in (stats[depth], completeness[depth], sel.mines):
                if chosen:
                    found |= filter_problems(chosen[0], case.world, case.who)
            if sel.mines and not 0 <= sel.mines[1] <= PAGE_LIMIT:
                found.add("BAD_USER_INPUT")
        return found

    def _counted_with(self) -> tuple[list, list]:
        return inherited([s.stats for s in self.levels]), inherited([s.completeness for s in self.levels])

    def check_refusal(self, case, errors, alias):
        if self.code is not None and not region_code_visible(case.world, self.code, case.who):
            FIGURES["not_found_checked"] += 1
            for error in errors:
                case.same(f"{alias} NOT_FOUND message", error["message"],
                          f"未找到行政区划 {quoted(self.code)} / region {quoted(self.code)} not found")

    async def check(self, case, value, alias):
        root = case.who.region_code if self.code is None else self.code
        await self._check_node(case, value, root, 0, alias)

    async def _check_node(self, case, value, code, depth, what):
        case.same(f"{what}.code", value["code"], code)
        case.region(value, what)
        region = case.world.regions[code]
        case.same(f"{what}.name", value["name"], region["name"])
        case.same(f"{what}.level", value["level"], region["level"])
        parent = value["parent"]
        case.same(f"{what}.parent", parent and parent["code"], expected_parent(case.world, code, case.who))
        if parent:
            case.region(parent, f"{what}.parent")
        sel, (stats, completeness) = self.levels[depth], self._counted_with()
        if sel.stats:
            case.stats(value["stats"], case.tally(stats[depth][0]).in_region(code), f"{what}.stats")
        if sel.completeness:
            case.completeness(value["completeness"], case.tally(completeness[depth][0]).in_region(code),
                              f"{what}.completeness")
        if sel.mines:
            spec, first = sel.mines
            case.connection(value["mines"], keyset(case.tally(spec).in_region(code)), first, f"{what}.mines", spec)
        if depth + 1 < len(self.levels):
            expected = visible_children(case.world, code, case.who)
            children = value["children"]
            for child in children:
                case.region(child, f"{what}.children")
            case.count(f"{what}.children", sorted(c["code"] for c in children), sorted(expected))
            for child in children:
                if child["code"] in expected:
                    await self._check_node(case, child, child["code"], depth + 1, f"{what}/{child['code']}")


@dataclass
class MineralTypes(Root):
    parent: str | None
    levels: list[tuple | None]  # per depth: (regionCode, filter) when stats are selected

    def render(self, doc, alias):
        parent = doc.var("String", self.parent)

        def body(depth):
            parts = ["code level parent { code }"]
            if self.levels[depth]:
                region, spec = self.levels[depth]
                parts.append(f"stats(regionCode: {doc.var('String', region)}, filter: {doc.var('MineFilter', spec)}) "
                             f"{{ {STATS} }}")
            if depth + 1 < len(self.levels):
                parts.append(f"children {{ {body(depth + 1)} }}")
            return " ".join(parts)

        return f"{alias}: mineralTypes(parentCode: {parent}) {{ {body(0)} }}"

    def _top(self, case) -> list[str]:
        return case.world.categories if self.parent is None else case.world.mineral_children.get(self.parent, [])

    def problems(self, case):
        if self.parent is not None and self.parent not in case.world.minerals:
            return {"NOT_FOUND"}
        found, frontier = set(), self._top(case)
        for depth, chosen in enumerate(inherited(self.levels)):
            if chosen and frontier:
                region, spec = chosen
                if region is not None and not region_code_visible(case.world, region, case.who):
                    found.add("NOT_FOUND")
                found |= filter_problems(spec, case.world, case.who)
            frontier = [c for code in frontier for c in case.world.mineral_children.get(code, [])]
        return found

    async def check(self, case, value, alias):
        case.count(f"{alias} codes", sorted(v["code"] for v in value), sorted(self._top(case)))
        for node in value:
            self._check_node(case, node, 0, f"{alias}/{node['code']}")

    def _check_node(self, case, node, depth, what):
        row = case.world.minerals.get(node["code"])
        if row is None:
            case.fail("wrong", f"{what}: unknown mineral type")
            return
        case.same(f"{what}.level", node["level"], row["level"])
        case.same(f"{what}.parent", node["parent"] and node["parent"]["code"], row["parent_code"])
        if self.levels[depth]:
            region, spec = inherited(self.levels)[depth]
            case.stats(node["stats"], case.tally(spec).in_mineral(node["code"], region), f"{what}.stats")
        if depth + 1 < len(self.levels):
            children = node["children"]
            case.count(f"{what}.children", sorted(c["code"] for c in children),
                       sorted(case.world.mineral_children.get(node["code"], [])))
            for child in children:
                self._check_node(case, child, depth + 1, f"{what}/{child['code']}")


@dataclass
class Me(Root):
    def render(self, doc, alias):
        return (f"{alias}: me {{ username tier guarantorLevel region {{ code parent {{ code }} children {{ code }} }} "
                f"mine {{ id code }} }}")

    async def check(self, case, value, alias):
        who = case.who
        case.same(f"{alias}.username", value["username"], who.username)
        case.same(f"{alias}.tier", value["tier"], who.tier)
        case.same(f"{alias}.guarantorLevel", value["guarantorLevel"], who.guarantor_level)
        case.same(f"{alias}.region.code", value["region"]["code"], who.region_code)
        case.region(value["region"], f"{alias}.region")
        case.same(f"{alias}.region.parent", value["region"]["parent"], None)
        for child in value["region"]["children"]:
            case.region(child, f"{alias}.region.children")
        case.count(f"{alias}.region.children", sorted(c["code"] for c in value["region"]["children"]),
                   visible_children(case.world, who.region_code, who))
        if who.tier == "ENTERPRISE":
            case.mine(value["mine"], f"{alias}.mine")
            case.same(f"{alias}.mine.id", value["mine"]["id"], str(who.mine_id))
        else:
            case.same(f"{alias}.mine", value["mine"], None)


@dataclass
class Suggestions(Root):
    level: str

    def render(self, doc, alias):
        return f"{alias}: guarantorSuggestions(level: {doc.var('GuarantorLevel!', self.level)}) {{ name position phone }}"

    def problems(self, case):
        return set() if case.who.guarantor_level == self.level else {"FORBIDDEN"}

    async def check(self, case, value, alias):
        case.same(f"{alias} is a list", isinstance(value, list), True)
