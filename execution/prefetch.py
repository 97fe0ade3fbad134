"""Count a whole drill-down before it is walked.

A `region` query names, in its selection, every statistic it will ask for under
it. Counting each (statistic, filter) for the whole subtree up front — one
statement each — lets every node's `stats` answer synchronously, instead of
each of thousands of nodes waiting on a DataLoader. Anything this misses
(an invalid filter, an unusual shape) still goes through the loaders.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from graphql import FieldNode, FragmentSpreadNode, InlineFragmentNode, Undefined, VariableNode, value_from_ast

from models.errors import MinegraphError
from resolvers.stats import completeness, mine_stats, verification

if TYPE_CHECKING:
    from collections.abc import Iterator

    from graphql import SelectionSetNode
    from strawberry.types import Info

    from models.trees import RegionNode

_MEASURES = {"stats": mine_stats, "completeness": completeness, "verification": verification}


class _Walk:
    def __init__(self, info: Info) -> None:
        self.info = info._raw_info  # graphql-core's: the field's AST, fragments, variables
        self.region_type = self.info.schema.get_type("Region")
        self.found: list[tuple[str, Any]] = []

    def fields(self, selection_set: SelectionSetNode | None, visited: set[str] | None = None) -> Iterator[FieldNode]:
        """The fields of one selection set, each fragment taken once (as graphql-core collects
        them): a document that spreads a fragment many times over is not walked as written out."""
        visited = set() if visited is None else visited
        for selection in selection_set.selections if selection_set else ():
            if isinstance(selection, FieldNode):
                yield selection
            elif isinstance(selection, InlineFragmentNode):
                yield from self.fields(selection.selection_set, visited)
            elif isinstance(selection, FragmentSpreadNode) and selection.name.value not in visited:
                visited.add(selection.name.value)
                fragment = self.info.fragments.get(selection.name.value)
                if fragment is not None:
                    yield from self.fields(fragment.selection_set, visited)

    def filter_argument(self, field: FieldNode) -> Any:
        definition = self.region_type.fields[field.name.value].args["filter"]
        for argument in field.arguments or ():
            if argument.name.value == "filter":
                if isinstance(argument.value, VariableNode) and argument.value.name.value not in self.info.variable_values:
                    return None  # `$filter` declared but not sent: the field gets no filter either
                # The schema's own coercion: literals and variables both come out typed. (Not
                # get_argument_values, as execution/fast_execution.py uses: it needs the executor's
                # variable values, and a resolver's info holds only their plain dict.)
                value = value_from_ast(argument.value, definition.type, self.info.variable_values)
                if value is Undefined:
                    raise ValueError("invalid filter")
                return value
        return None

    def region(self, selection_set: SelectionSetNode | None, nested: bool, above: dict[str, Any] | None = None) -> bool:
        """Collect (measure, filter) of every statistic under a region; True when some
        are asked below the region itself (a drill-down). A statistic without a filter counts
        with the one the same response key has above it (execution/scoping.py)."""
        deeper, above, own = False, above or {}, {}
        fields = list(self.fields(selection_set))
        for field in fields:
            name = field.name.value
            if name in _MEASURES:
                key = field.alias.value if field.alias else name
                try:
                    value = self.filter_argument(field)
                except ValueError:
                    continue  # the field itself will report it
                own[key] = above.get(key) if value is None else value
                self.found.append((name, own[key]))
                deeper = deeper or nested
        for field in fields:
            if field.name.value == "children":
                deeper = self.region(field.selection_set, True, {**above, **own}) or deeper
        return deeper


async def prefetch_region_counts(info: Info, node: RegionNode) -> None:
    walk = _Walk(info)
    if not walk.region(walk.info.field_nodes[0].selection_set, False):
        return  # the region alone: its own field counts it, no rollup needed
    ctx = info.context
    seen = set()
    for name, raw in walk.found:
        try:
            spec = ctx.filter_spec(raw)  # the coerced dict, as fast fields parse it
        except MinegraphError:
            continue  # the field itself will report it
        if (name, spec) not in seen:
            seen.add((name, spec))
            await ctx.loaders.counts.count_subtree(_MEASURES[name], spec, node)
