"""Statistics' arguments in a drill-down: flowed down the tree while executing, and counted ahead.

`mineralTypes { completeness(regionCode: R) { complete } children { completeness { complete } } }`:
the children's completeness is counted in R too, so they add up to their parent's. A tree
node (Region, MineralType: a resolvers/statistics.ScopedNode) carries a `Scoping`: for each
statistic's response key (its alias, else its name), the arguments given to that statistic on
the nodes above it. A statistic's argument left out (or null) takes the value from above; one given replaces it, for this node
and the nodes below (a filter replaces the filter whole; it is not merged field by field).
Matching by response key keeps `a: stats(filter: F) b: stats(filter: G)` apart on the way down.

Which statistics a node selects is known only to the executor (a `children` resolver does not
see its parent's other fields), so `ScopingExecutionContext` (the executor whether fast execution
is on or off; execution/fast_execution.py extends it) hands each node's selected statistics'
arguments to `Scoping.see` before any of the node's fields resolve, whatever their order in the
document (a node reached otherwise than through `children` gets an empty Scoping there first);
`children` then passes `for_children()` to every child, and `scoped` gives a statistic the
arguments it counts with.

Counted ahead: a `region` query names, in its selection, every statistic it will ask for under
it. `prefetch_region_counts` walks that selection with the same `Scoping` (one rule, so it counts
exactly the (statistic, filter) pairs the nodes will ask for) and counts each for the whole subtree
up front — one statement each — so that every node's `stats` answers synchronously instead of each
of thousands of nodes waiting on a DataLoader. Anything the walk misses (an invalid filter, an
unusual shape) still goes through the loaders.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from graphql import FieldNode, FragmentSpreadNode, InlineFragmentNode, Undefined, VariableNode, value_from_ast
from graphql.execution.values import get_argument_values
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from models.errors import MinegraphError
from resolvers.statistics import ScopedNode
from resolvers.stats import completeness, mine_stats, verification

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Mapping

    from graphql import SelectionSetNode
    from strawberry.types import Info

    from models.trees import RegionNode

# The fields whose arguments flow down a tree (a region's and a mineral type's have these names),
# with the count a region's answers from.
_MEASURES = {"stats": mine_stats, "completeness": completeness, "verification": verification}
STATISTICS = frozenset(_MEASURES)


class Scoping:
    __slots__ = ("below", "inherited")

    def __init__(self, inherited: Mapping[str, Mapping[str, Any]] | None = None) -> None:
        self.inherited = inherited or {}
        self.below: dict[str, dict[str, Any]] | None = None  # set by `see`, for the children

    def arguments(self, key: str, given: Mapping[str, Any]) -> dict[str, Any]:
        """The arguments a statistic at response `key` counts with: those given, else those from above."""
        own = {name: value for name, value in given.items() if value is not None}
        above = self.inherited.get(key)
        return {**above, **own} if above else own

    def see(self, selected: Iterable[tuple[str, Mapping[str, Any]]]) -> None:
        """The node's own statistics (response key, arguments as given): what its children inherit."""
        below = dict(self.inherited)
        for key, given in selected:
            below[key] = self.arguments(key, given)
        self.below = below

    def for_children(self) -> Scoping:
        """One Scoping for all the children of one `children` field (they share one selection)."""
        return Scoping(self.below if self.below is not None else self.inherited)


def scoped(source: Any, field_name: str, key: str, arguments: dict[str, Any]) -> dict[str, Any]:
    """The arguments a field of `source` answers with: a tree node's statistic at response `key`
    takes those left out from above; any other field, those given."""
    scoping = getattr(source, "scoping", None)
    if field_name in STATISTICS and isinstance(scoping, Scoping):
        return scoping.arguments(key, arguments)
    return arguments


class ScopingExecutionContext(StrawberryGraphQLCoreExecutionContext):
    """graphql-core's executor, telling each tree node which statistics it selects."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._arguments: dict[int, tuple[Any, dict[str, Any] | None]] = {}

    def execute_fields(self, parent_type, source_value, path, grouped_field_set, position_context):
        self.see_statistics(parent_type, source_value, grouped_field_set)
        return super().execute_fields(parent_type, source_value, path, grouped_field_set, position_context)

    def see_statistics(self, parent_type, source_value, grouped_field_set) -> None:
        """Before any field of a tree node resolves: its `children` hand these down."""
        if type(source_value) is not ScopedNode:
            return  # not a tree node
        scoping = source_value.scoping
        if scoping is None:  # a root, a parent, a mine's region: nothing comes from above
            scoping = source_value.scoping = Scoping()
        elif scoping.below is not None:
            return  # a sibling with the same selection saw them already
        found = []
        for response_name, field_details_list in grouped_field_set.items():
            name = field_details_list[0].node.name.value
            if name in STATISTICS and name in parent_type.fields:
                arguments = self.coerced_arguments(parent_type.fields[name], field_details_list)
                if arguments is not None:  # invalid: the field reports it
                    found.append((response_name, arguments))
        scoping.see(found)

    def coerced_arguments(self, field_def, field_details_list) -> dict[str, Any] | None:
        """A field node's arguments, coerced once per request (None: invalid)."""
        cached = self._arguments.get(id(field_details_list))
        if cached is None:
            first = field_details_list[0]
            try:
                arguments = get_argument_values(field_def, first.node, self.variable_values,
                                                first.fragment_variable_values, self.hide_suggestions)
            except Exception:  # noqa: BLE001 - reported by the normal path
                arguments = None
            # The list is kept with its entry, so its id cannot be reused during the request.
            cached = self._arguments[id(field_details_list)] = (field_details_list, arguments)
        return cached[1]


class _Walk:
    """A `region` field's selection, read before it executes: the statistics it asks for below."""

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
                # get_argument_values, as the executor above uses: it needs the executor's
                # variable values, and a resolver's info holds only their plain dict.)
                value = value_from_ast(argument.value, definition.type, self.info.variable_values)
                if value is Undefined:
                    raise ValueError("invalid filter")
                return value
        return None

    def region(self, selection_set: SelectionSetNode | None, nested: bool, scoping: Scoping) -> bool:
        """Collect (measure, filter) of every statistic under a region, each filter the one the
        node will count with (`scoping`, as while executing); True when some are asked below the
        region itself (a drill-down)."""
        fields = list(self.fields(selection_set))
        selected = []
        for field in fields:
            if field.name.value in _MEASURES:
                try:
                    selected.append((field, {"filter": self.filter_argument(field)}))
                except ValueError:
                    continue  # the field itself will report it
        scoping.see((_response_key(field), given) for field, given in selected)
        for field, _given in selected:
            self.found.append((field.name.value, scoping.below[_response_key(field)].get("filter")))
        deeper = nested and bool(selected)
        for field in fields:
            if field.name.value == "children":
                deeper = self.region(field.selection_set, True, scoping.for_children()) or deeper
        return deeper


def _response_key(field: FieldNode) -> str:
    return field.alias.value if field.alias else field.name.value


async def prefetch_region_counts(info: Info, node: RegionNode) -> None:
    """Count every statistic a `region` field's drill-down asks for, for its whole subtree."""
    walk = _Walk(info)
    if not walk.region(walk.info.field_nodes[0].selection_set, False, Scoping()):
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
