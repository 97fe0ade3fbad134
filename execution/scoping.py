"""Arguments that scope a statistic apply to the subtree below it.

`mineralTypes { completeness(regionCode: R) { complete } children { completeness { complete } } }`:
the children's completeness is counted in R too, so they add up to their parent's. A tree
node (Region, MineralType) carries a `Scoping`: for each statistic's response key (its alias,
else its name), the arguments given to that statistic on the nodes above it. A statistic's
argument left out (or null) takes the value from above; one given replaces it, for this node
and the nodes below (a filter replaces the filter whole; it is not merged field by field).
Matching by response key keeps `a: stats(filter: F) b: stats(filter: G)` apart on the way down.

Which statistics a node selects is known only to the executor (a `children` resolver does not
see its parent's other fields), so execution/fast_execution.py hands each node's selected
statistics' arguments to `Scoping.see` before any of the node's fields resolve, whatever their
order in the document; `children` then passes `for_children()` to every child.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from resolvers.filters import parse_filter

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from web.context import Context
    from resolvers.filters import FilterSpec

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


def filter_spec(ctx: Context, value: Any) -> FilterSpec:
    """A MineFilter from a resolver (the input object) or from above (graphql-core's coerced dict)."""
    if isinstance(value, dict):
        return ctx.coerced_filter(value)
    return parse_filter(value, ctx.scope, ctx.trees)
