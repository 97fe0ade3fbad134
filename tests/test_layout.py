"""The project's top-level packages come from this repository, never site-packages,
and the checked-in schema.graphql is what the code serves."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("name", ["schema", "models", "auth", "resolvers", "seed", "settings", "app", "cli"])
def test_top_level_module_is_the_repository_one(name):
    module = importlib.import_module(name)
    assert Path(module.__file__).resolve().is_relative_to(ROOT), module.__file__


def test_schema_graphql_is_current():
    from schema import schema

    checked_in = (ROOT / "schema.graphql").read_text(encoding="utf-8")
    assert checked_in == schema.as_str() + "\n", "schema.graphql drifted: run `make schema` and review the diff"
