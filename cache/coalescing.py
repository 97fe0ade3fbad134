"""Identical misses computed once: a request that finds its key being computed by another
waits for that answer instead of computing it again (after a write, a burst of the same
dashboard or drill-down costs one execution). A waiter whose leader ends without a storable
answer (an error, the time limit) computes it itself."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable


class Coalescing:
    def __init__(self) -> None:
        self._computing: dict[tuple, asyncio.Future[bytes | None]] = {}

    async def shared(self, key: tuple) -> bytes | None:
        """The answer of the request computing `key` now, once it has it; None when no request
        is computing it, or when that one ended without an answer."""
        leader = self._computing.get(key)
        return None if leader is None else await _outcome(leader)

    async def compute(self, key: tuple, compute: Callable[[], Awaitable[tuple[object, bytes | None]]]):
        """compute() -> (result, answer), with the requests for `key` meanwhile waiting for the
        answer (None: they compute it themselves). A request that arrives while another one
        leads (its own leader failed) simply computes."""
        if key in self._computing:
            return await compute()
        mine = self._computing[key] = asyncio.get_running_loop().create_future()
        answer = None
        try:
            result, answer = await compute()
            return result, answer
        finally:
            del self._computing[key]
            mine.set_result(answer)


async def _outcome(leader: asyncio.Future) -> bytes | None:
    """The answer another request is computing; None if it ends without one.
    Shielded: a waiter that gives up (its time limit) must not cancel the leader."""
    try:
        return await asyncio.shield(leader)
    except asyncio.CancelledError:
        if leader.done():  # the leader was cancelled, not this waiter
            return None
        raise
