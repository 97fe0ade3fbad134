"""Depth, alias and size limits of a document, in one pass that visits each node once.

Strawberry's QueryDepthLimiter and MaxAliasesLimiter walk every path through the
fragments without remembering the ones already walked: `query { ...F0 }` where each
fragment spreads the next one twice costs 2^levels steps (22 levels stalled the process
for ~24 s). Here every definition (operation or fragment) is walked once, and a spread
adds the summary of its fragment, computed once, in dependency order. The limits mean
what they meant before (depth counts levels of fields, introspection subtrees excluded;
aliases and fields count every use, as if each spread were written out), and the size
of a document once its fragments are written out is a limit of its own: the fan-out
above is refused in linear time because it expands to billions of fields.

Unknown fragments and fragment cycles count as nothing: graphql-core's own rules
(KnownFragmentNames, NoFragmentCycles) report them in the same validation pass.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    ValidationRule,
)

if TYPE_CHECKING:
    from graphql import DocumentNode, ValidationContext


@dataclass
class Shape:
    """A selection set as if its fragments were written out."""

    depth: int = -1  # the deepest level of a field, the top level being 0 (-1: no field at all)
    aliases: int = 0
    fields: int = 0


@dataclass
class _Definition:
    """What one definition holds itself, and where it spreads which fragment."""

    own: Shape = field(default_factory=Shape)
    spreads: list[tuple[str, int, bool]] = field(default_factory=list)  # (fragment, level, in introspection)


@dataclass
class Measure:
    """The shape of every operation of a document, and the nodes visited to find them."""

    operations: dict[OperationDefinitionNode, Shape]
    visits: int


def _walk(definition: OperationDefinitionNode | FragmentDefinitionNode) -> tuple[_Definition, int]:
    """One definition's own fields and spreads (iteratively: nesting is as deep as the parser
    allowed, and Python's recursion limit is lower). Returns it and the nodes visited."""
    found, visits = _Definition(), 0
    stack = [(definition.selection_set, 0, False)]
    while stack:
        selection_set, level, introspective = stack.pop()
        for selection in selection_set.selections:
            visits += 1
            if isinstance(selection, FieldNode):
                found.own.fields += 1
                found.own.aliases += selection.alias is not None
                if not introspective:
                    found.own.depth = max(found.own.depth, level)
                if selection.selection_set is not None:
                    inside = introspective or selection.name.value.startswith("__")
                    stack.append((selection.selection_set, level + 1, inside))
            elif isinstance(selection, InlineFragmentNode):
                stack.append((selection.selection_set, level, introspective))
            elif isinstance(selection, FragmentSpreadNode):
                found.spreads.append((selection.name.value, level, introspective))
    return found, visits


def _combine(own: Shape, spreads: list[tuple[str, int, bool]], shapes: dict[str, Shape]) -> Shape:
    total = Shape(own.depth, own.aliases, own.fields)
    for name, level, introspective in spreads:
        inner = shapes.get(name)
        if inner is None:
            continue  # unknown, or a cycle's back edge: reported by graphql-core
        total.aliases += inner.aliases
        total.fields += inner.fields
        if not introspective and inner.depth >= 0:
            total.depth = max(total.depth, level + inner.depth)
    return total


def measure(document: DocumentNode) -> Measure:
    """Every operation's shape, each fragment summarised once (post-order, iteratively)."""
    walked: dict[str, _Definition] = {}
    operations: list[tuple[OperationDefinitionNode, _Definition]] = []
    visits = 0
    for definition in document.definitions:
        if isinstance(definition, (FragmentDefinitionNode, OperationDefinitionNode)):
            found, seen = _walk(definition)
            visits += seen
            if isinstance(definition, FragmentDefinitionNode):
                walked.setdefault(definition.name.value, found)  # a duplicate name is reported by graphql-core
            else:
                operations.append((definition, found))
    shapes: dict[str, Shape] = {}
    in_progress: set[str] = set()
    for root in walked:
        stack = [root]
        while stack:
            name = stack[-1]
            if name in shapes:
                stack.pop()
            elif name not in in_progress:  # first visit: its fragments first
                in_progress.add(name)
                visits += len(walked[name].spreads)
                stack.extend(s for s, _, _ in walked[name].spreads if s in walked and s not in shapes and s not in in_progress)
            else:  # back again: every fragment it spreads is summarised (or is on a cycle)
                in_progress.discard(name)
                shapes[name] = _combine(walked[name].own, walked[name].spreads, shapes)
                stack.pop()
    result = {}
    for operation, found in operations:
        visits += len(found.spreads)
        result[operation] = _combine(found.own, found.spreads, shapes)
    return Measure(result, visits)


def document_limits(max_depth: int, max_aliases: int, max_fields: int) -> type[ValidationRule]:
    """A validation rule class for these limits (one class for every request, so that
    validation results can be cached by document text)."""

    class DocumentLimits(ValidationRule):
        def __init__(self, context: ValidationContext) -> None:
            super().__init__(context)
            for operation, shape in measure(context.document).operations.items():
                name = operation.name.value if operation.name else "anonymous"
                if shape.depth > max_depth:
                    context.report_error(GraphQLError(
                        f"查询嵌套过深 / '{name}' exceeds maximum operation depth of {max_depth}", operation))
                if shape.aliases > max_aliases:
                    context.report_error(GraphQLError(
                        f"别名过多 / '{name}' uses {shape.aliases:,} aliases. Allowed: {max_aliases}", operation))
                if shape.fields > max_fields:
                    context.report_error(GraphQLError(
                        f"查询展开后过大 / '{name}' holds {shape.fields:,} fields once its fragments are written "
                        f"out, more than the {max_fields:,} allowed: spread each fragment fewer times", operation))

    return DocumentLimits
