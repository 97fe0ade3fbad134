"""The project's top-level packages come from this repository, never site-packages,
and the checked-in schema.graphql is what the code serves."""

from __future__ import annotations

import importlib
import importlib.metadata
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TESTS = ROOT / "tests"

# The repository's importable top level: its root modules and packages, found on disk so
# that a new one is covered without editing this list.
MODULES = sorted({p.stem for p in ROOT.glob("*.py")} | {p.parent.name for p in ROOT.glob("*/__init__.py")})
# Names that are ours without being imported from the root: `migrations` (loaded by path by
# Alembic), `tests` (`tests.queries` is imported as a namespace package, which any installed
# `tests` package would replace) and the tests' own modules (pytest puts tests/ on sys.path).
OTHER_NAMES = sorted({"migrations", "tests"} | {p.stem for p in TESTS.glob("*.py")})


@cache
def _providers() -> dict[str, list[str]]:
    return importlib.metadata.packages_distributions()


def test_the_top_level_is_found():
    """The discovery above is not vacuous: it finds what README's layout table names."""
    assert {"schema", "models", "auth", "resolvers", "seed", "bench", "settings", "app", "cli",
            "graphql_view"} <= set(MODULES)
    assert {"conftest", "queries", "sqldb"} <= set(OTHER_NAMES)


def _assert_no_distribution_provides(name: str) -> None:
    providers = sorted(set(_providers().get(name, ())))
    assert not providers, (
        f"installed distribution(s) {', '.join(providers)} also provide the top-level name {name!r}, "
        "which this repository uses: whichever comes first on sys.path shadows the other"
    )


@pytest.mark.parametrize("name", MODULES)
def test_top_level_module_is_the_repository_one(name):
    _assert_no_distribution_provides(name)
    module = importlib.import_module(name)
    assert Path(module.__file__).resolve().is_relative_to(ROOT), module.__file__


@pytest.mark.parametrize("name", OTHER_NAMES)
def test_no_distribution_provides_our_other_top_level_names(name):
    _assert_no_distribution_provides(name)


def test_schema_graphql_is_current():
    from schema import schema

    checked_in = (ROOT / "schema.graphql").read_text(encoding="utf-8")
    assert checked_in == schema.as_str() + "\n", "schema.graphql drifted: run `make schema` and review the diff"
