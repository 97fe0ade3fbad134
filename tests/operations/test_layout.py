"""The project's top-level packages come from this repository, never site-packages,
and the checked-in schema.graphql is what the code serves."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import importlib
import importlib.metadata
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TESTS = ROOT / "tests"

# The repository's importable top level: its root modules and packages, found on disk so
# that a new one is covered without editing this list.
MODULES = sorted({p.stem for p in ROOT.glob("*.py")} | {p.parent.name for p in ROOT.glob("*/__init__.py")})
# Names that are ours without being imported from the root: `migrations` (loaded by path by
# Alembic), `tests`, the tests' own top level (pytest puts tests/ on sys.path: conftest and the
# `support` package of shared helpers) and the area folders' test modules (each folder is put on
# sys.path too, so their names must be unique and nobody else's).
OTHER_NAMES = sorted({"migrations", "tests"} | {p.stem for p in TESTS.glob("*.py")}
                     | {p.parent.name for p in TESTS.glob("*/__init__.py")}
                     | {p.stem for p in TESTS.glob("*/test_*.py")})


@cache
def _providers() -> dict[str, list[str]]:
    return importlib.metadata.packages_distributions()


def test_the_top_level_is_found():
    """The discovery above is not vacuous: it finds what README's layout table names."""
    assert {"schema", "models", "auth", "admin", "resolvers", "execution", "cache", "web", "cli", "seed",
            "spreadsheets", "bench", "settings"} <= set(MODULES)
    assert {"conftest", "support", "test_layout"} <= set(OTHER_NAMES)


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
    from schema.build import build_schema
    from settings import Settings

    schema = build_schema(Settings())

    checked_in = (ROOT / "schema.graphql").read_text(encoding="utf-8")
    assert checked_in == schema.as_str() + "\n", "schema.graphql drifted: run `make schema` and review the diff"


# The one-way order of the code's imports, lowest first: a package imports only from its own layer
# and the ones below it (imports for type checking only are exempt: they run nowhere).
LAYERS = [{"settings", "models"}, {"auth", "spreadsheets", "seed"}, {"admin"}, {"resolvers"},
          {"execution", "cache"}, {"schema"}, {"web"}, {"cli"}]
RANK = {name: i for i, layer in enumerate(LAYERS) for name in layer}


def _runtime_imports(tree: ast.AST):
    checking_only = {id(sub) for node in ast.walk(tree)
                     if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
                     for sub in ast.walk(node)}
    for node in ast.walk(tree):
        if id(node) in checking_only:
            continue
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module.split(".")[0], node.lineno
        elif isinstance(node, ast.Import):
            yield from ((alias.name.split(".")[0], node.lineno) for alias in node.names)


def test_layers_cover_the_code():
    assert set(MODULES) - {"bench"} == set(RANK), "a new top-level package needs its place in LAYERS"


@pytest.mark.parametrize("top", sorted(RANK))
def test_imports_point_one_way(top):
    files = [ROOT / f"{top}.py"] if (ROOT / f"{top}.py").is_file() else sorted((ROOT / top).rglob("*.py"))
    upward = [f"{path.relative_to(ROOT)}:{line} imports {name}"
              for path in files for name, line in _runtime_imports(ast.parse(path.read_text(encoding="utf-8")))
              if RANK.get(name, -1) > RANK[top]]
    assert not upward, upward


def test_importing_a_package_does_no_work():
    """`import schema` builds no schema (not even its types), `import auth` installs no log filter:
    the app factory and the CLI do both, when they run."""
    probe = (
        "import sys, logging\n"
        "factory = logging.getLogRecordFactory()\n"
        "import schema, auth, auth.sessions\n"
        "from auth import log_redaction\n"
        "print(sorted(m for m in sys.modules if m.startswith(('schema.', 'strawberry.schema'))))\n"
        "print(log_redaction.is_installed(), logging.getLogRecordFactory() is factory)\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stderr
    modules, logging_state = done.stdout.splitlines()
    assert modules == "[]", modules
    assert logging_state == "False True"
