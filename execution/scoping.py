"""Arguments that scope a statistic apply to the subtree below it.

`mineralTypes { completeness(regionCode: R) { complete } children { completeness { complete } } }`:
the children's completeness is counted in R too, so they add up to their parent's. A tree
node (Region, MineralType: a resolvers/statistics.ScopedNode) carries a `Scoping`: for each
statistic's response key (its alias, else its name), the arguments given to that statistic on
the nodes above it. A statistic's
argument left out (or null) takes the value from above; one given replaces it, for this node
and the nodes below (a filter replaces the filter whole; it is not merged field by field).
Matching by response key keeps `a: stats(filter: F) b: stats(filter: G)` apart on the way down.

Which statistics a node selects is known only to the executor (a `children` resolver does not
see its parent's other fields), so `ScopingExecutionContext` (the executor whether fast execution
is on or off; execution/fast_execution.py extends it) hands each node's selected statistics'
arguments to `Scoping.see` before any of the node's fields resolve, whatever their order in the
document (a node reached otherwise than through `children` gets an empty Scoping there first);
`children` then passes `for_children()` to every child, and `scoped` gives a statistic the
arguments it counts with.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from graphql.execution.values import get_argument_values
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from resolvers.statistics import ScopedNode

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

STATISTICS = frozenset({"stats", "completeness", "verification"})  # the fields whose arguments flow down a tree


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
