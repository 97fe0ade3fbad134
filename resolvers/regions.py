"""Region lookups on the in-memory tree, limited by the caller's scope."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sqlalchemy import func, select

from auth.scope import jurisdiction
from models.enums import UserTier
from models.errors import NotFound, quoted
from models.mine import Mine

if TYPE_CHECKING:
    from models.trees import RegionNode
    from web.context import Context


def root_region(ctx: Context) -> RegionNode:
    return ctx.trees.regions[ctx.scope.region_code]


def get_region(ctx: Context, code: str | None) -> RegionNode:
    if code is None:
        return root_region(ctx)
    node = ctx.trees.regions.get(code)
    if node is None or not ctx.scope.covers(node):
        raise NotFound(f"未找到行政区划 {quoted(code)} / region {quoted(code)} not found")
    return node


def region_children(ctx: Context, node: RegionNode) -> list[RegionNode]:
    if ctx.scope.tier is UserTier.ENTERPRISE:
        return []  # an enterprise sees its county, never the counties around it
    return [child for child in node.children if ctx.scope.covers(child)]


def region_parent(ctx: Context, node: RegionNode) -> RegionNode | None:
    if node.parent_code is None or node.code == ctx.scope.region_code:
        return None  # nothing above the caller's root is shown
    parent = ctx.trees.regions[node.parent_code]
    return parent if ctx.scope.covers(parent) else None


async def latest_update(ctx: Context) -> datetime:
    """Latest change to any mine in scope (the request time when there is none)."""
    statement = select(func.max(Mine.updated_at)).where(jurisdiction(ctx.scope))
    async with ctx.engine.connect() as conn:
        latest = (await conn.execute(statement)).scalar()
    return latest or datetime.now(UTC)
