"""Estimate, before execution, how many objects a query may return, and refuse
the ones above the limit.

Lists are bounded by what they can hold: `children` by the region tree (at most
the number of regions at the next level), connections by `first`, fixed lists
by their size. A national drill-down with every county's statistics is a few
thousand objects; every county with its mines is hundreds of thousands, and is
refused with a message saying what to narrow.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    Undefined,
    get_operation_ast,
    value_from_ast,
)
from graphql.type import get_named_type, is_list_type, is_object_type, is_non_null_type
from strawberry.extensions import SchemaExtension
from strawberry.types import ExecutionResult

from models.errors import BadUserInput

if TYPE_CHECKING:
    from collections.abc import Iterator

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
    def __init__(self, document, variables: dict[str, Any], trees: Trees, root_depth: int) -> None:
        self.variables, self.trees = variables, trees
        self.fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
        self.regions = _levels(trees, "regions")
        self.minerals = _levels(trees, "minerals")
        self.root_depth = root_depth

    def depth_of(self, node) -> int:
        return len(self.trees.region_ancestors(node)) - 1

    def argument(self, field: FieldNode, definition, name: str, default):
        for arg in field.arguments or ():
            if arg.name.value == name:
                value = value_from_ast(arg.value, definition.args[name].type, self.variables)
                return default if value is None or value is Undefined else value
        return default

    def fields(self, selection_set: SelectionSetNode | None) -> Iterator[FieldNode]:
        for selection in selection_set.selections if selection_set else ():
            if isinstance(selection, FieldNode):
                yield selection
            elif isinstance(selection, InlineFragmentNode):
                yield from self.fields(selection.selection_set)
            elif isinstance(selection, FragmentSpreadNode) and selection.name.value in self.fragments:
                yield from self.fields(self.fragments[selection.name.value].selection_set)

    def tree_count(self, tree: tuple[list[int], list[int]], depth: int, parents: int) -> tuple[int, int]:
        totals, widest = tree
        if depth + 1 >= len(totals):
            return 0, depth + 1
        return min(parents * widest[depth], totals[depth + 1]), depth + 1

    def cost(self, parent: GraphQLObjectType, selection_set, count: int, depth: int) -> int:
        total = 0
        for field in self.fields(selection_set):
            name = field.name.value
            definition = parent.fields.get(name)
            if definition is None or count == 0:
                continue
            named = get_named_type(definition.type)
            if not is_object_type(named):
                continue
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
            total += items + self.cost(named, field.selection_set, items, child_depth)
        return total


def estimate(schema, document, operation_name: str | None, variables: dict | None, trees: Trees, root_depth: int) -> int:
    operation = get_operation_ast(document, operation_name)
    if operation is None:
        return 0
    root = schema.get_root_type(operation.operation)
    estimator = _Estimator(document, variables or {}, trees, root_depth)
    return estimator.cost(root, operation.selection_set, 1, 0)


class CostLimit(SchemaExtension):
    """Refuse an operation whose estimated result exceeds the limit, before running it."""

    def __init__(self, max_cost: int) -> None:
        self.max_cost = max_cost

    def on_execute(self) -> Iterator[None]:
        execution = self.execution_context
        ctx = execution.context
        if execution.graphql_document is not None and ctx is not None and execution.result is None:
            root = ctx.trees.regions[ctx.scope.region_code] if ctx.scope is not None else ctx.trees.nation
            cost = estimate(execution.schema._schema, execution.graphql_document, execution.operation_name,
                            execution.variables, ctx.trees, len(ctx.trees.region_ancestors(root)) - 1)
            if cost > self.max_cost:
                error = BadUserInput(
                    f"查询过大 / this query could return about {cost:,} objects, more than the {self.max_cost:,} "
                    "allowed: ask for fewer levels, a narrower region or filter, or smaller pages (first)"
                )
                execution.result = ExecutionResult(
                    data=None,
                    errors=[GraphQLError(error.message, original_error=error, extensions={"code": error.code})],
                )
        yield
