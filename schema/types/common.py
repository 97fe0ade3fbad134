"""Small helpers shared by the GraphQL types."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    from web.context import Context


@lru_cache
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


class MillisecondTime(datetime):
    """A datetime that presents itself to milliseconds, always.

    Strawberry's DateTime scalar serializes with `value.isoformat()`, which prints
    microseconds when there are any and no fraction at all when there are none: seeded
    times read `...:31+08:00`, written ones `...:49.662887+08:00`. Every DateTime a
    client reads goes through `local_time`, so one precision holds everywhere;
    milliseconds keep the order of quick successive writes visible. (Truncated, not
    rounded: a time never moves past a later one.)"""

    __slots__ = ()

    def isoformat(self, sep: str = "T", timespec: str = "milliseconds") -> str:
        return super().isoformat(sep, timespec)


def local_time(ctx: Context, value: datetime) -> MillisecondTime:
    """Stored UTC (naive or aware) presented in the configured zone, with its offset, to milliseconds."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    value = value.astimezone(_zone(ctx.settings.timezone))
    return MillisecondTime.combine(value.date(), value.timetz(), tzinfo=value.tzinfo)


def context(info: Info) -> Context:
    return info.context
