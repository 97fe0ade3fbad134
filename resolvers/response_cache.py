"""A per-process store of answered queries, valid for one data version.

Keys carry the database's data version (raised by triggers on every change),
so an entry can only ever be served while the data it was computed from is
unchanged — in this process or any other instance on the same database.
Values are the encoded JSON of `data`; the store is bounded in bytes.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import TYPE_CHECKING

from sqlalchemy import select

from models.data_version import DataVersion

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine


class ResponseStore:
    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._entries: OrderedDict[tuple, bytes] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def get(self, key: tuple) -> bytes | None:
        with self._lock:
            value = self._entries.get(key)
            if value is None:
                self.misses += 1
                return None
            self._entries.move_to_end(key)
            self.hits += 1
            return value

    def put(self, key: tuple, value: bytes) -> None:
        if len(value) > self.max_bytes // 4:
            return  # one answer must not evict most of the others
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._bytes -= len(old)
            self._entries[key] = value
            self._bytes += len(value)
            while self._bytes > self.max_bytes:
                _, evicted = self._entries.popitem(last=False)
                self._bytes -= len(evicted)


async def data_version(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return (await conn.execute(select(DataVersion.version).where(DataVersion.id == 1))).scalar_one()
