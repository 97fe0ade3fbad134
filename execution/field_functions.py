"""How a field's one function is called, and how a field opts into the fast executor.

A hot field's logic is one plain function in resolvers/ of (source, context, arguments), where
`arguments` are by GraphQL name and, for a statistic of a tree node, already merged with those the
same statistic has on the nodes above (execution/drill_down.py). Its Strawberry resolver calls it
through `resolve` below; a field that also carries `metadata=fast(fn)` (the explicit opt-in) is
answered by execution/fast_execution.py calling the same `fn` with the same arguments, when fast
execution is on (settings.fast_execution). Nothing else computes that field's answer.

    @strawberry.field(metadata=fast(statistics.node_stats))
    def stats(self, info: Info, filter: MineFilterInput | None = None) -> MineStatsType:
        return resolve(statistics.node_stats, self, info, filter=filter)

The function answers synchronously when it can, else returns an awaitable (graphql-core completes
it either way).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from execution.drill_down import scoped

if TYPE_CHECKING:
    from collections.abc import Callable

    from strawberry.types import Info

    FieldFunction = Callable[[Any, Any, dict[str, Any]], Any]

FAST = "minegraph.fast"  # the Strawberry field metadata key of the opt-in


def fast(fn: FieldFunction) -> dict[str, Any]:
    """Strawberry field metadata: the fast executor answers the field by calling `fn`, the same
    function the field's resolver calls."""
    return {FAST: fn}


def resolve(fn: FieldFunction, source: Any, info: Info, **arguments: Any) -> Any:
    """A Strawberry resolver's call of its field function; `arguments` by their GraphQL names."""
    return fn(source, info.context, scoped(source, info.field_name, info.path.key, arguments))
