"""Count a whole drill-down before it is walked.

A `region` query names, in its selection, every statistic it will ask for under
it. Counting each (statistic, filter) for the whole subtree up front — one
statement each — lets every node's `stats` answer synchronously, instead of
each of thousands of nodes waiting on a DataLoader. Anything this misses
(an invalid filter, an unusual shape) still goes through the loaders.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from strawberry.types.nodes import FragmentSpread, InlineFragment, SelectedField

from models.errors import MinegraphError
from resolvers.filters import parse_filter
from resolvers.stats import completeness, mine_stats

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

    from strawberry.types import Info

    from models.trees import RegionNode

_MEASURES = {"stats": mine_stats, "completeness": completeness}


class _FilterArgs:
    """A MineFilter argument as a mapping, read like the input object (snake_case)."""

    def __init__(self, raw: dict[str, Any]) -> None:
        self._raw = raw

    def __getattr__(self, name: str) -> Any:
        head, *rest = name.split("_")
        return self._raw.get(head + "".join(part.title() for part in rest))


def _fields(selections: Iterable) -> Iterator[SelectedField]:
    for selection in selections:
        if isinstance(selection, SelectedField):
            yield selection
        elif isinstance(selection, (FragmentSpread, InlineFragment)):
            yield from _fields(selection.selections)


def _wanted(field: SelectedField, found: list, nested: bool) -> bool:
    """Collect (measure name, filter) of every statistic under a region field;
    True when some are asked below the region itself (a drill-down)."""
    deeper = False
    for child in _fields(field.selections):
        if child.name in _MEASURES:
            found.append((child.name, child.arguments.get("filter")))
            deeper = deeper or nested
        elif child.name == "children":
            deeper = _wanted(child, found, True) or deeper
    return deeper


async def prefetch_region_counts(info: Info, node: RegionNode) -> None:
    found: list[tuple[str, dict | None]] = []
    if not _wanted(info.selected_fields[0], found, False):
        return  # the region alone: its own field counts it, no rollup needed
    ctx = info.context
    seen = set()
    for name, raw in found:
        try:
            spec = parse_filter(None if raw is None else _FilterArgs(raw), ctx.scope, ctx.trees)
        except MinegraphError:
            continue  # the field itself will report it
        if (name, spec) not in seen:
            seen.add((name, spec))
            await ctx.loaders.prefetch_region_rollup(_MEASURES[name], spec, node)
