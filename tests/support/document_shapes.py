"""Documents for the pre-execution work tests: the fragment fan-out, generated documents with
fragments spread many times over, token counts, and the plain (exponential) expansion the
linear measure must agree with."""

from __future__ import annotations

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    Lexer,
    OperationDefinitionNode,
    Source,
    TokenKind,
)
from hypothesis import strategies as st


def fan_out(levels: int, leaf: str = "me { username }") -> str:
    """`query { ...F0 }` where every fragment spreads the next one twice: 2^levels leaves once written out."""
    fragments = " ".join(f"fragment F{i} on Query {{ ...F{i + 1} ...F{i + 1} }}" for i in range(levels))
    return f"query {{ ...F0 }} {fragments} fragment F{levels} on Query {{ {leaf} }}"


def tokens(text: str) -> int:
    lexer, count = Lexer(Source(text)), 0
    while lexer.advance().kind is not TokenKind.EOF:
        count += 1
    return count


def expanded(document) -> dict[str, tuple[int, int, int]]:
    """(depth, aliases, fields) per operation, by writing every spread out (as Strawberry's
    limiters did): exponential, for small documents only."""
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}

    def walk(selection_set, level, introspective, seen):
        depth, aliases, fields = -1, 0, 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                fields += 1
                aliases += selection.alias is not None
                depth = depth if introspective else max(depth, level)
                if selection.selection_set:
                    inside = introspective or selection.name.value.startswith("__")
                    d, a, f = walk(selection.selection_set, level + 1, inside, seen)
                    depth, aliases, fields = max(depth, d), aliases + a, fields + f
            elif isinstance(selection, InlineFragmentNode):
                d, a, f = walk(selection.selection_set, level, introspective, seen)
                depth, aliases, fields = max(depth, d), aliases + a, fields + f
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                if name in fragments and name not in seen:
                    d, a, f = walk(fragments[name].selection_set, level, introspective, seen | {name})
                    depth, aliases, fields = max(depth, d), aliases + a, fields + f
        return depth, aliases, fields

    return {
        (d.name.value if d.name else ""): walk(d.selection_set, 0, False, frozenset())
        for d in document.definitions if isinstance(d, OperationDefinitionNode)
    }


# Selections of a Region that may hold more: children and parent move along the tree,
# stats and mines are objects of other types.
_REGION_LEAVES = ["code", "name", "level", "__typename", "c: code", "n: name"]


@st.composite
def region_documents(draw, max_fragments: int = 12) -> str:
    """An operation on `region` and fragments on Region that spread later fragments (sometimes
    earlier ones or unknown ones too: cycles and unknown names must cost nothing extra), at
    several nesting levels, several times over."""
    count = draw(st.integers(1, max_fragments))

    def selection_set(index: int, budget: int) -> str:
        items = []
        for _ in range(draw(st.integers(1, 5))):
            kind = draw(st.sampled_from(["leaf", "leaf", "spread", "spread", "spread", "children", "parent",
                                         "inline", "stats", "odd"]))
            later = list(range(index + 1, count))
            if kind == "spread" and later:
                items.append(f"...F{draw(st.sampled_from(later))}")
            elif kind in ("children", "parent", "inline") and budget > 0:
                inner = selection_set(index, budget - 1)
                items.append(f"... on Region {{ {inner} }}" if kind == "inline" else f"{kind} {{ {inner} }}")
            elif kind == "stats":
                items.append(draw(st.sampled_from(["stats { total }", "s: stats { total byCategory { count } }"])))
            elif kind == "odd":
                items.append(draw(st.sampled_from([f"...F{max(index, 0)}", "...Nowhere", "...F0"])))
            else:
                items.append(draw(st.sampled_from(_REGION_LEAVES)))
        return " ".join(items)

    fragments = " ".join(f"fragment F{i} on Region {{ {selection_set(i, 3)} }}" for i in range(count))
    return f"query Generated {{ region {{ ...F0 {selection_set(-1, 2)} }} }} {fragments}"
