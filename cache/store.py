"""A per-process store of answered queries, valid for one data version.

Keys carry the database's data version (raised by triggers on every change) as
their last element, so an entry can only ever be served while the data it was
computed from is unchanged — in this process or any other instance on the same
database. Values are the encoded JSON of `data`; the store is bounded in bytes
and holds one version only.
"""

from __future__ import annotations

import threading
from collections import OrderedDict


class ResponseStore:
    """Answers of the newest data version seen; keys end with that version.

    The data version only ever rises, so once an answer for version V arrives every
    entry of an older version is dead weight: the store drops them all at once.
    Without that, a steady stream of writes would fill the byte budget with answers
    no request can ask for again (seen in the soak as memory rising for 10 minutes).
    """

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._entries: OrderedDict[tuple, bytes] = OrderedDict()
        self._bytes = 0
        self._version: int | None = None
        self._lock = threading.Lock()

    def _move_to(self, version: int) -> bool:
        """Whether `version` is the store's (newer: it becomes so, emptied). Under the lock."""
        if self._version is None or version > self._version:
            self._entries.clear()
            self._bytes = 0
            self._version = version
        return version == self._version

    def get(self, key: tuple) -> bytes | None:
        with self._lock:
            value = self._entries.get(key) if self._move_to(key[-1]) else None
            if value is not None:
                self._entries.move_to_end(key)
            return value

    def put(self, key: tuple, value: bytes) -> None:
        if len(value) > self.max_bytes // 4:
            return  # one answer must not evict most of the others
        with self._lock:
            if not self._move_to(key[-1]):
                return  # computed for a version already superseded
            old = self._entries.pop(key, None)
            if old is not None:
                self._bytes -= len(old)
            self._entries[key] = value
            self._bytes += len(value)
            while self._bytes > self.max_bytes:
                _, evicted = self._entries.popitem(last=False)
                self._bytes -= len(evicted)

    def __len__(self) -> int:
        return len(self._entries)

