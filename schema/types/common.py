"""Small helpers shared by the GraphQL types."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    from resolvers.context import Context


@lru_cache
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def local_time(ctx: Context, value: datetime) -> datetime:
    """Stored UTC (naive or aware) presented in the configured zone, with its offset."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(_zone(ctx.settings.timezone))


def context(info: Info) -> Context:
    return info.context
