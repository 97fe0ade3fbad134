"""Which queries the response cache may answer, and the digest of their normalised document.

A key is (this digest, the variables, the caller's scope key, the data version): cache/lookup.py
puts it together; the digest is computed once per distinct text and operation name, and kept in
the text's record (execution/documents.py). The document is printed back before hashing, so that
spacing and comments do not matter.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

from graphql import FieldNode, OperationType, get_operation_ast, print_ast

if TYPE_CHECKING:
    from graphql import DocumentNode

# Root fields whose answers depend only on the caller's scope and the data, never
# on who the caller is (`me` and `guarantorSuggestions` do; mutations change data).
CACHEABLE_ROOTS = frozenset({"dashboard", "region", "mine", "mines", "mineralTypes", "minesNear", "options"})


def document_digest(document: DocumentNode, operation_name: str | None) -> str | None:
    """A digest of the normalised operation, or None when its answer must not be cached
    (a mutation, a subscription, or a root field that depends on the caller)."""
    operation = get_operation_ast(document, operation_name)
    if operation is None or operation.operation is not OperationType.QUERY:
        return None
    for selection in operation.selection_set.selections:
        if not isinstance(selection, FieldNode) or selection.name.value not in CACHEABLE_ROOTS:
            return None
    normalised = f"{operation_name or ''}\n{print_ast(document)}"
    return hashlib.sha256(normalised.encode()).hexdigest()
