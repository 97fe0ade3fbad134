"""Persisted operations: the client's documents, known to the server by sha256.

The mini-program's screens send `extensions.persistedQuery.sha256Hash` (the
Apollo convention) instead of the text. In production that is the only way in:
a document the server does not hold is refused, so a stolen token cannot be
used to run arbitrary queries. Development accepts both.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from models.errors import BadUserInput

OPERATIONS_DIR = Path(__file__).resolve().parent / "operations"


@dataclass(frozen=True)
class Operation:
    name: str
    sha256: str
    document: str


@lru_cache
def registry() -> dict[str, Operation]:
    """Every document under schema/operations/, by the sha256 of its exact bytes."""
    found = {}
    for path in sorted(OPERATIONS_DIR.glob("*.graphql")):
        text = path.read_text(encoding="utf-8")
        digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
        found[digest] = Operation(path.stem, digest, text)
    return found


def persisted_hash(extensions: dict | None) -> str | None:
    persisted = (extensions or {}).get("persistedQuery")
    if not isinstance(persisted, dict):
        return None
    digest = persisted.get("sha256Hash")
    if not isinstance(digest, str):
        raise BadUserInput("持久化操作的 sha256Hash 必须是字符串 / extensions.persistedQuery.sha256Hash must be a string")
    return digest.lower()


def resolve_document(query: str | None, extensions: dict | None, production: bool) -> str | None:
    """The document to run for a request, or BadUserInput."""
    digest = persisted_hash(extensions)
    if digest is None:
        if production:
            raise BadUserInput(
                "本服务只执行已登记的持久化操作 / this server runs only its persisted operations: "
                "send extensions.persistedQuery.sha256Hash (see `minegraph operations`)"
            )
        return query
    operation = registry().get(digest)
    if operation is None:
        raise BadUserInput(f"未知的持久化操作 {digest[:16]}… / unknown persisted operation {digest[:16]}…: "
                           "see `minegraph operations`")
    if query is not None and hashlib.sha256(query.encode("utf-8")).hexdigest() != digest:
        raise BadUserInput("查询文本与 sha256Hash 不符 / the query text does not match its sha256Hash")
    return operation.document
