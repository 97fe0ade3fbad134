"""What the README (and docs/) tell a user to paste must work as pasted.

Every ```graphql block, and every inline `...{ ... }` snippet in the text and tables, parses and
validates against the checked-in schema.graphql
(test_layout.py keeps that file equal to the served schema), and the accounts, region
and mineral codes the text names exist in the dataset `make run` seeds.
"""

from __future__ import annotations

import inspect
import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from graphql import (
    GraphQLObjectType,
    GraphQLSyntaxError,
    NoUnusedFragmentsRule,
    build_schema,
    parse,
    specified_rules,
    validate,
)

ROOT = Path(__file__).resolve().parents[2]
MARKDOWN = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
SCHEMA = build_schema((ROOT / "schema.graphql").read_text(encoding="utf-8"))
FENCE = re.compile(r"^```(\S*)\s*$")


@dataclass(frozen=True)
class Block:
    path: Path
    line: int  # of the opening fence, 1-based
    heading: str
    text: str

    def __str__(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line} in section {self.heading}"


def graphql_blocks(path: Path) -> list[Block]:
    blocks, heading, opened, body = [], "(top)", None, []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        fence = FENCE.match(line.strip())
        if opened is None:
            if fence:
                opened, body = (number, fence.group(1).lower()), []
            elif line.startswith("#"):
                heading = line.lstrip("#").strip()
        elif fence and not fence.group(1):
            if opened[1] == "graphql":
                blocks.append(Block(path, opened[0], heading, "\n".join(body)))
            opened = None
        else:
            body.append(line)
    assert opened is None, f"{path.name}:{opened[0]}: a fenced block is never closed"
    return blocks


BLOCKS = [block for path in MARKDOWN for block in graphql_blocks(path)]


def test_the_readme_has_its_examples():
    # Guards the test below against passing vacuously (a fence renamed, the parser broken).
    readme = [b for b in BLOCKS if b.path.name == "README.md"]
    assert len(readme) >= 5, [str(b) for b in readme]
    assert any("mutation" in b.text for b in readme) and any("query" in b.text for b in readme)


@pytest.mark.parametrize("block", BLOCKS, ids=str)
def test_graphql_block_is_valid_against_the_schema(block):
    try:
        document = parse(block.text)
    except GraphQLSyntaxError as error:
        pytest.fail(f"{block}: does not parse: {error.message} (line {error.locations[0].line} of the block)")
    errors = validate(SCHEMA, document)
    assert not errors, f"{block}: invalid against schema.graphql:\n" + "\n".join(e.message for e in errors)


# --------------------------------------------------------------------------- inline snippets

# An inline code span (single backticks, outside fenced blocks, possibly across lines) is a GraphQL
# snippet when it holds a selection set: a `{`. Spans starting `{"` are JSON values (a history value's
# shape), not documents. Argument-name notation without a selection (`mines(first:)`) names a field, it is
# not something to paste, and is left out.
INLINE = re.compile(r"(?<!`)`([^`]+)`(?!`)")
ALL_BUT_UNUSED_FRAGMENTS = [rule for rule in specified_rules if rule is not NoUnusedFragmentsRule]


def inline_snippets(path: Path) -> list[Block]:
    lines, fenced, heading, headings = [], False, "(top)", []
    for line in path.read_text(encoding="utf-8").splitlines():
        if FENCE.match(line.strip()):
            fenced = not fenced
            line = ""
        elif fenced:
            line = ""
        elif line.startswith("#"):
            heading = line.lstrip("#").strip()
        lines.append(line)
        headings.append(heading)
    text = "\n".join(lines)
    found = []
    for match in INLINE.finditer(text):
        span = match.group(1)
        if "{" in span and not span.lstrip().startswith('{"'):
            line = text.count("\n", 0, match.start()) + 1
            found.append(Block(path, line, headings[line - 1], " ".join(span.split())))
    return found


SNIPPETS = [snippet for path in MARKDOWN for snippet in inline_snippets(path)]


def _wrappings(snippet: str):
    """The snippet as a document: itself when it is one, else its fields under Query or Mutation, else a
    fragment on the object type its fields belong to (variables then come from an operation around it)."""
    if re.match(r"\s*(query|mutation|subscription|fragment)\b|\s*\{", snippet):
        yield snippet, specified_rules
        return
    yield f"{{ {snippet} }}", specified_rules
    yield f"mutation {{ {snippet} }}", specified_rules
    for name, type_ in SCHEMA.type_map.items():
        if isinstance(type_, GraphQLObjectType) and not name.startswith("__"):
            yield f"fragment Snippet on {name} {{ {snippet} }}", ALL_BUT_UNUSED_FRAGMENTS


def test_the_readme_has_inline_snippets():
    readme = [s for s in SNIPPETS if s.path.name == "README.md"]
    assert len(readme) >= 5 and any("mineralTypes" in s.text for s in readme), [str(s) for s in readme]


@pytest.mark.parametrize("snippet", SNIPPETS, ids=str)
def test_inline_snippet_is_valid_against_the_schema(snippet):
    first_errors = None
    for document, rules in _wrappings(snippet.text):
        try:
            parsed = parse(document)
        except GraphQLSyntaxError as error:
            pytest.fail(f"{snippet}: `{snippet.text}` does not parse: {error.message}")
        errors = validate(SCHEMA, parsed, rules)
        if not errors:
            return
        first_errors = first_errors or errors
    pytest.fail(f"{snippet}: `{snippet.text}` is valid nowhere in schema.graphql:\n"
                + "\n".join(e.message for e in first_errors))


# --------------------------------------------------------------------------- names in the text


def _default_dataset() -> tuple[int, int]:
    """--mines and --seed as `minegraph seed --demo` (so `make run`) uses them without options."""
    from cli import main as cli

    parameters = inspect.signature(cli.seed).parameters
    return parameters["mines"].default.default, parameters["seed"].default.default


@pytest.fixture(scope="module")
def demo_usernames() -> set[str]:
    """Every account of the default demo dataset, from the seed's generator (no database needed)."""
    from seed.generate import ACCOUNT_COLUMNS, DemoGenerator

    mines, seed = _default_dataset()
    generator = DemoGenerator(mines=mines, seed=seed, password_hash="-", stamp=lambda seconds: seconds)
    username = ACCOUNT_COLUMNS.index("username")
    names = {row[username] for row in generator.regulator_accounts}
    names |= {row[username] for batch in generator.batches(10_000) for row in batch.accounts}
    assert len(names) == len(generator.regulator_accounts) + mines
    return names


def _readme() -> str:
    return (ROOT / "README.md").read_text(encoding="utf-8")


def test_the_default_dataset_is_the_one_the_readme_describes():
    mines, _ = _default_dataset()
    assert f"about {mines:,} mines" in _readme()


def test_named_accounts_exist_in_the_default_demo_dataset(demo_usernames):
    named = set(re.findall(r"\b(?:\d{6}-\d{3}|C\d{10,})\b", _readme()))
    assert {"000000-001", "C5301020001"} <= named  # the pattern still finds what the README names
    assert sorted(named - demo_usernames) == []


def test_named_regions_carry_the_names_given():
    from seed.reference import region_rows

    regions = {r["code"]: r["name"] for r in region_rows()}
    named = re.findall(r"`(\d{6})-\d{3}` \(([^)]+)\)", _readme())
    assert named, "the README no longer names an example region"
    assert [(code, regions.get(code)) for code, _ in named] == named


def test_named_password_and_mineral_codes_are_real():
    from seed.reference import mineral_rows
    from settings import Settings

    text = _readme()
    assert f"**`{Settings().demo_password}`**" in text
    minerals = {m["code"] for m in mineral_rows()}
    named = re.findall(r'mineralCodes: \[([^]]*)\]', text)
    codes = {code for group in named for code in re.findall(r'"(\w+)"', group)}
    assert codes and codes <= minerals, codes - minerals


def test_every_setting_is_documented():
    """Each variable settings.py reads is named in README's settings table or docs/security.md
    (the login and audit settings), so an operator can find what it does."""
    from settings import Settings

    documented = (ROOT / "README.md").read_text(encoding="utf-8") + (ROOT / "docs" / "security.md").read_text(
        encoding="utf-8")
    names = [(field.alias or name).upper() for name, field in Settings.model_fields.items()]
    assert len(names) > 30  # the discovery is not vacuous
    assert [n for n in names if not re.search(rf"`{n}`", documented)] == []
