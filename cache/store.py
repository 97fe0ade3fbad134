"""A per-process store of answered queries, valid for one data version, and of the answers being
computed for it (a single-flight cache).

Keys carry the database's data version (raised by triggers on every change) as their last
element, so an entry can only ever be served while the data it was computed from is unchanged —
in this process or any other instance on the same database. An entry is either the encoded JSON
of `data` or, while one request computes it, the future of that answer: a request that finds the
future waits for it instead of computing the same answer again (after a write, a burst of the same
dashboard or drill-down costs one execution). The finished answer replaces its future; a leader
that ends without a storable answer (an error, the time limit) removes it, and its waiters compute
the answer themselves. The answers are bounded in bytes, and the store holds one version only.
"""

from __future__ import annotations

import asyncio
import threading
from collections import OrderedDict


class ResponseStore:
    """Answers (and answers under way) of the newest data version seen; keys end with that version.

    The data version only ever rises, so once a request of version V arrives every entry of an
    older version is dead weight: the store drops them all at once. Without that, a steady stream
    of writes would fill the byte budget with answers no request can ask for again (seen in the
    soak as memory rising for 10 minutes). A computation of an older version dropped so still
    hands its answer to the requests already waiting for it (they hold its future).
    """

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._entries: OrderedDict[tuple, bytes | asyncio.Future[bytes | None]] = OrderedDict()
        self._bytes = 0  # of the answers; a future weighs nothing
        self._version: int | None = None
        self._lock = threading.Lock()

    def _move_to(self, version: int) -> bool:
        """Whether `version` is the store's (newer: it becomes so, emptied). Under the lock."""
        if self._version is None or version > self._version:
            self._entries.clear()
            self._bytes = 0
            self._version = version
        return version == self._version

    def get(self, key: tuple) -> bytes | asyncio.Future[bytes | None] | None:
        """The stored answer, the future of the answer a request is computing now, or None."""
        with self._lock:
            value = self._entries.get(key) if self._move_to(key[-1]) else None
            if value is not None:
                self._entries.move_to_end(key)
            return value

    def lead(self, key: tuple) -> asyncio.Future[bytes | None] | None:
        """The future the caller now computes `key` under, for the requests that come meanwhile;
        None when another request leads already (this one's own leader failed: it just computes)
        or the key's version is superseded. The caller ends it with `settle`, whatever happens."""
        with self._lock:
            if not self._move_to(key[-1]) or key in self._entries:
                return None
            computing = self._entries[key] = asyncio.get_running_loop().create_future()
            return computing

    def settle(self, key: tuple, answer: bytes | None,
               computing: asyncio.Future[bytes | None] | None = None) -> None:
        """A computation of `key` ended: its answer (None: none to share) goes to the requests
        waiting on `computing`, the future it led under (None: it led none), and into the store."""
        with self._lock:
            if answer is None or not self._put(key, answer):
                if computing is not None and self._entries.get(key) is computing:
                    del self._entries[key]  # nothing stored: the next request computes it
        if computing is not None:
            computing.set_result(answer)

    def _put(self, key: tuple, value: bytes) -> bool:
        """Store an answer (replacing its future); False when it is not kept. Under the lock."""
        if len(value) > self.max_bytes // 4:
            return False  # one answer must not evict most of the others
        if not self._move_to(key[-1]):
            return False  # computed for a version already superseded
        old = self._entries.pop(key, None)
        if isinstance(old, bytes):
            self._bytes -= len(old)
        self._entries[key] = value
        self._bytes += len(value)
        while self._bytes > self.max_bytes:
            # The least recently used answer; futures stay, their leaders replace them soon.
            oldest = next(k for k, v in self._entries.items() if isinstance(v, bytes))
            self._bytes -= len(self._entries.pop(oldest))
        return True

    async def shared(self, computing: asyncio.Future[bytes | None]) -> bytes | None:
        """The answer another request is computing, once it has it; None if it ends without one."""
        return await _outcome(computing)

    def __len__(self) -> int:
        return len(self._entries)


async def _outcome(computing: asyncio.Future[bytes | None]) -> bytes | None:
    """Shielded: a waiter that gives up (its time limit) must not cancel the leader."""
    try:
        return await asyncio.shield(computing)
    except asyncio.CancelledError:
        if computing.done():  # the leader was cancelled, not this waiter
            return None
        raise
