"""The mineral tree (not scoped: it is the same catalogue for everyone)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from models.errors import NotFound, quoted

if TYPE_CHECKING:
    from models.trees import MineralNode
    from web.context import Context


def mineral_types(ctx: Context, parent_code: str | None) -> list[MineralNode]:
    if parent_code is None:
        return ctx.trees.categories
    parent = ctx.trees.minerals.get(parent_code)
    if parent is None:
        raise NotFound(f"未找到矿种 {quoted(parent_code)} / mineral type {quoted(parent_code)} not found")
    return parent.children
