"""Mine lists (keyset pages) and single mines, always inside the caller's scope."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import and_, select, tuple_

from auth.scope import jurisdiction
from models.errors import BadUserInput, NotFound, quoted
from models.mine import Mine
from resolvers.cursors import decode_cursor, encode_cursor
from resolvers.filters import filter_clauses

if TYPE_CHECKING:
    from web.context import Context
    from resolvers.filters import FilterSpec


@dataclass
class MinePage:
    spec: FilterSpec
    rows: list  # Mine rows of this page
    cursors: list[str]
    has_next_page: bool
    after: tuple[str, str] | None = None  # the keyset position the page starts after, if any


def page_size(ctx: Context, first: int | None) -> int:
    """A page's `first` (default 20), checked against MAX_PAGE_SIZE."""
    limit = ctx.settings.max_page_size
    first = 20 if first is None else first
    if not 0 <= first <= limit:
        raise BadUserInput(f"每页条数 first 必须在 0 到 {limit} 之间（当前为 {first}） / "
                           f"first must be between 0 and {limit} (got {first})")
    return first


async def mine_page(ctx: Context, spec: FilterSpec, first: int | None, after: str | None) -> MinePage:
    first = page_size(ctx, first)
    secret = ctx.settings.resolved_secret_key()
    conditions = _listed(ctx, spec)
    position = None if after is None else decode_cursor(secret, after)
    if position is not None:
        # Keyset: strictly after the last row seen; cost does not grow with depth.
        conditions.append(tuple_(Mine.county_code, Mine.code) > tuple_(*position))
    statement = (
        select(Mine).where(and_(*conditions)).order_by(Mine.county_code, Mine.code).limit(first + 1)
    )
    async with ctx.engine.connect() as conn:
        rows = (await conn.execute(statement)).all()
    page = rows[:first]
    cursors = [encode_cursor(secret, r.county_code, r.code) for r in page]
    return MinePage(spec, page, cursors, len(rows) > first, position)


def _listed(ctx: Context, spec: FilterSpec) -> list:
    """What makes a mine part of the list: the caller's jurisdiction and the filter."""
    return [jurisdiction(ctx.scope), *filter_clauses(spec, ctx.trees, ctx.settings)]


async def has_previous_page(ctx: Context, page: MinePage) -> bool:
    """Whether the list holds mines before this page: only a page asked for `after` a cursor
    can (forward pagination from the start has nothing before it). The cursor's own mine
    counts, if it is still listed; asked only when a client selects the field."""
    if page.after is None:
        return False
    before = tuple_(Mine.county_code, Mine.code) <= tuple_(*page.after)
    statement = select(Mine.id).where(and_(*_listed(ctx, page.spec), before)).limit(1)
    async with ctx.engine.connect() as conn:
        return (await conn.execute(statement)).first() is not None


def parse_mine_id(raw: str) -> int:
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 18:
        raise NotFound(f"未找到矿山 {quoted(raw)} / mine {quoted(raw)} not found")
    return int(raw)


async def get_mine(ctx: Context, raw_id: str):
    row = await ctx.loaders.mine.load(parse_mine_id(raw_id))
    if row is None:
        raise NotFound(f"未找到矿山 {quoted(raw_id)} / mine {quoted(raw_id)} not found")
    return row
