"""Estimate, before execution, how many objects a query may return, and refuse
the ones above the limit.

Lists are bounded by what they can hold: `children` by the region tree (at most
the number of regions at the next level), connections by `first`, fixed lists
by their size. A national drill-down with every county's statistics is a few
thousand objects; every county with its mines is hundreds of thousands, and is
refused with a message saying what to narrow. execution/documents.py asks once per
(document, operation, variables, caller's region) and remembers the verdict with the document.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    Undefined,
    get_operation_ast,
    value_from_ast,
)
from graphql.type import get_named_type, is_list_type, is_object_type, is_non_null_type

if TYPE_CHECKING:
    from graphql import GraphQLObjectType, SelectionSetNode

    from models.trees import Trees

DEFAULT_LIST = 10  # a list with no better bound (options, and the like)
FIXED = {("MineStats", "byCategory"): 4, ("Mine", "guarantors"): 4}
PAGED = {("Query", "mines"): 20, ("Region", "mines"): 20, ("Query", "minesNear"): 20, ("Mine", "history"): 20}


def _levels(trees: Trees, tree: str) -> tuple[list[int], list[int]]:
    """Per tree depth: how many nodes there are, and the most children any has
    (computed once per loaded tree: the trees never change)."""
    cached = trees.__dict__.setdefault("_cost_levels", {})
    if tree not in cached:
        cached[tree] = _measure([trees.nation] if tree == "regions" else trees.categories)
    return cached[tree]


def _measure(roots: list) -> tuple[list[int], list[int]]:
    totals, widest, level = [], [], list(roots)
    while level:
        totals.append(len(level))
        widest.append(max(len(n.children) for n in level))
        level = [child for n in level for child in n.children]
    return totals, widest


class _Estimator:
    def __init__(self, document, variables: dict[str, Any], trees: Trees, root_depth: int, limit: int) -> None:
        self.variables, self.trees = variables, trees
        self.fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
        self.regions = _levels(trees, "regions")
        self.minerals = _levels(trees, "minerals")
        self.root_depth = root_depth
        self.limit = limit
        self.visits = 0  # selections looked at: bounded by the document's size (tests/transport/test_document_limits.py)
        self.total = 0  # objects counted so far, across the whole operation
        self.memo: dict[tuple[str, str, int, int], int] = {}
        self.in_progress: set[str] = set()

    def depth_of(self, node) -> int:
        return len(self.trees.region_ancestors(node)) - 1

    def argument(self, field: FieldNode, definition, name: str, default):
        for arg in field.arguments or ():
            if arg.name.value == name:
                value = value_from_ast(arg.value, definition.args[name].type, self.variables)
                return default if value is None or value is Undefined else value
        return default

    def tree_count(self, tree: tuple[list[int], list[int]], depth: int, parents: int) -> tuple[int, int]:
        totals, widest = tree
        if depth + 1 >= len(totals):
            return 0, depth + 1
        return min(parents * widest[depth], totals[depth + 1]), depth + 1

    def cost(self, parent: GraphQLObjectType, selection_set: SelectionSetNode | None, count: int, depth: int) -> int:
        """Objects below `count` parents of type `parent` at tree depth `depth`. A fragment spread
        under the same (type, count, depth) is costed once: a document that spreads fragments
        many times over is estimated in time linear in its size, not in its expansion."""
        total = 0
        for selection in selection_set.selections if selection_set and count else ():
            self.visits += 1
            if self.total > self.limit:
                break  # refused anyway: the rest need not be looked at
            if isinstance(selection, InlineFragmentNode):
                total += self.cost(parent, selection.selection_set, count, depth)
            elif isinstance(selection, FragmentSpreadNode):
                total += self.spread(parent, selection.name.value, count, depth)
            else:
                total += self.field(parent, selection, count, depth)
        return total

    def spread(self, parent: GraphQLObjectType, name: str, count: int, depth: int) -> int:
        fragment = self.fragments.get(name)
        key = (name, parent.name, count, depth)
        if fragment is None or name in self.in_progress:
            return 0  # unknown, or a cycle: refused by validation, which runs first
        if key not in self.memo:
            self.in_progress.add(name)
            self.memo[key] = self.cost(parent, fragment.selection_set, count, depth)
            self.in_progress.discard(name)
        else:
            self.total += self.memo[key]  # counted once more, as execution would return it again
        return self.memo[key]

    def field(self, parent: GraphQLObjectType, field: FieldNode, count: int, depth: int) -> int:
        name = field.name.value
        definition = parent.fields.get(name)
        if definition is None:
            return 0
        named = get_named_type(definition.type)
        if not is_object_type(named):
            return 0
        key = (parent.name, name)
        inner = definition.type.of_type if is_non_null_type(definition.type) else definition.type
        child_depth = depth
        if name == "children" and parent.name in ("Region", "MineralType"):
            tree = self.regions if parent.name == "Region" else self.minerals
            items, child_depth = self.tree_count(tree, depth, count)
        elif key == ("Query", "region"):
            node = self.trees.regions.get(self.argument(field, definition, "code", None) or "")
            items, child_depth = count, self.root_depth if node is None else self.depth_of(node)
        elif key == ("Region", "parent"):
            items, child_depth = count, max(depth - 1, 0)
        elif named.name == "Region":
            # A mine's county, or the caller's own region.
            is_county = parent.name == "Mine"
            items, child_depth = count, len(self.regions[0]) - 1 if is_county else self.root_depth
        elif key == ("Query", "mineralTypes"):
            parent_node = self.trees.minerals.get(self.argument(field, definition, "parentCode", None) or "")
            if parent_node is None:
                items, child_depth = len(self.trees.categories) * count, 0
            else:
                items, child_depth = len(parent_node.children) * count, parent_node.level
        elif key in PAGED:
            first = self.argument(field, definition, "first", PAGED[key])
            if not isinstance(first, int) or isinstance(first, bool):
                first = PAGED[key]  # a variable of the wrong type: execution refuses it anyway
            items = count * max(0, min(first, 100))
        elif key in FIXED:
            items = count * FIXED[key]
        elif is_list_type(inner):
            items = count * DEFAULT_LIST
        else:
            items = count
        self.total += items
        return items + self.cost(named, field.selection_set, items, child_depth)


def walk(schema, document, operation_name: str | None, variables: dict | None, trees: Trees, root_depth: int,
         limit: int) -> _Estimator:
    """The estimator after walking the operation: `total` objects (past `limit` it stops
    early: the query is refused either way) and the selections it `visits`."""
    estimator = _Estimator(document, variables or {}, trees, root_depth, limit)
    operation = get_operation_ast(document, operation_name)
    if operation is not None:
        estimator.cost(schema.get_root_type(operation.operation), operation.selection_set, 1, 0)
    return estimator


def refusal(schema, document, operation_name: str | None, variables: dict | None, trees: Trees,
            region_code: str | None, limit: int) -> str | None:
    """The message refusing an operation whose estimated result exceeds `limit`, or None to run it.
    `region_code` is the caller's root region (None: anonymous, the nation). execution/documents.py
    remembers the verdict: it depends on nothing else, and the trees never change while the process runs."""
    root = trees.regions[region_code] if region_code is not None else trees.nation
    cost = walk(schema, document, operation_name, variables, trees, len(trees.region_ancestors(root)) - 1, limit).total
    if cost <= limit:
        return None
    return (f"查询过大 / this query could return at least {cost:,} objects, more than the {limit:,} "
            "allowed: ask for fewer levels, a narrower region or filter, or smaller pages (first)")
