"""The statements the service runs are served by its indexes.

A mines page after a deep cursor seeks straight to its position (no OFFSET, no sort, no
pass over the rows before it; in a county's scope SQLite passes over that county's earlier
rows in the index), so its cost does not grow with depth; the grouped counts of
a drill-down read an index in the county order they group by, so they need no sort either.

Each statement is captured as the service sends it, with its parameters (StatementCounter),
and explained through the service's own engine. SQLite: `EXPLAIN QUERY PLAN`. PostgreSQL:
`EXPLAIN` with sequential and bitmap scans, sorts and hash aggregation disabled for that
transaction — on a table of a few thousand rows (without fresh statistics) its planner may
rightly prefer those, so the question asked is whether an index *can* serve the statement:
a Sort that is still planned means none can.
"""

from __future__ import annotations

import re

import pytest

from support import sqldb
from support.queries import DRILL_DOWN, MINES, REGION_STATS
from resolvers.cursors import encode_cursor
from support.statements import StatementCounter, uncached_document

PAGE = uncached_document(MINES, "MinesPlanned")
POSTGRESQL_INDEXES_ONLY = ("enable_seqscan", "enable_bitmapscan", "enable_sort", "enable_hashagg")


async def _explain(app, statement: str, parameters) -> str:
    """The plan of `statement` with the very parameters it ran with."""
    async with app.state.engine.connect() as conn:  # rolled back on leaving, and SET LOCAL with it
        if sqldb.POSTGRESQL:
            for setting in POSTGRESQL_INDEXES_ONLY:
                await conn.exec_driver_sql(f"SET LOCAL {setting} = off")
            return "\n".join(row[0] for row in (await conn.exec_driver_sql("EXPLAIN " + statement, parameters)).all())
        rows = (await conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)).all()
        return "\n".join(row[-1] for row in rows)  # (id, parent, notused, detail)


def _only(executed: list[tuple[str, object]], pattern: str) -> tuple[str, object]:
    found = [(s, p) for s, p in executed if re.search(pattern, s, re.S)]
    assert len(found) == 1, [s for s, _ in executed]
    return found[0]


def _skips_no_rows(statement: str, parameters) -> bool:
    """No OFFSET, or one bound to 0 (SQLAlchemy's SQLite dialect writes `LIMIT ? OFFSET ?`
    under every LIMIT)."""
    found = re.search(r"\bOFFSET\s+(\?|\$\d+|\d+)", statement)
    if found is None:
        return not re.search(r"\bOFFSET\b", statement)
    placeholder = found.group(1)
    if placeholder.isdigit():
        return int(placeholder) == 0
    index = int(placeholder[1:]) - 1 if placeholder.startswith("$") else statement[:found.start(1)].count("?")
    return list(parameters)[index] == 0


SCOPE_COLUMN = {"NATIONAL": None, "PROVINCE": "province_code", "CITY": "city_code", "COUNTY": "county_code"}


@pytest.mark.parametrize("tier", list(SCOPE_COLUMN))
async def test_a_page_after_a_deep_cursor_seeks_by_a_keyset_index(app, gql, callers, mines, settings, tier):
    caller, column = callers[tier], SCOPE_COLUMN[tier]
    ordered = sorted((m["county_code"], m["code"]) for m in mines if column is None or m[column] == caller.region_code)
    depth = len(ordered) * 4 // 5  # 80 % down the list: everything before it must be skipped, not read
    after = encode_cursor(settings.resolved_secret_key(), *ordered[depth])  # as the service issues it
    with StatementCounter.of(app) as counter:
        result = await gql(PAGE, {"first": 5, "after": after}, caller.token)
    assert result.errors is None and result.cache == "miss", result.errors
    edges = result.data["mines"]["edges"]
    assert [(e["node"]["region"]["code"], e["node"]["code"]) for e in edges] == ordered[depth + 1:depth + 6]

    statement, parameters = _only(counter.executed, r"ORDER BY mine\.county_code, mine\.code")
    assert _skips_no_rows(statement, parameters), (statement, parameters)
    plan = await _explain(app, statement, parameters)
    if sqldb.POSTGRESQL:
        assert not re.search(r"\bSort\b|Seq Scan", plan), plan
        # Entered at the cursor: the row comparison is a condition of the index scan itself.
        seek = r"Index (Only )?Scan using \w+ on mine.*\n.*Index Cond: .*ROW\(.*county_code.*code.*\) > ROW\("
        assert re.search(seek, plan), plan
        return
    assert "USE TEMP B-TREE" not in plan, plan  # read in index order, not collected and sorted
    if tier == "COUNTY":
        # The row value cannot seek past the county equality on the same column: the index is
        # entered at the county and its own rows before the cursor are skipped in the index
        # (at most the county's mines, whatever the depth in the whole list).
        seek = r"SEARCH mine USING (COVERING )?INDEX ix_mine_county_code_code \(county_code=\?"
    else:
        scope = f"{column}=\\? AND " if column else ""
        seek = rf"SEARCH mine USING (COVERING )?INDEX \w+ \({scope}\(county_code,code\)>\(\?,\?\)\)"
    assert re.search(seek, plan), plan


GROUPED = [
    # Filtered on a column of the covering index: the mines themselves, by county.
    pytest.param("NATIONAL", DRILL_DOWN, {"filter": {"depthMin": 123.5}}, "mine",
                 r"SCAN mine USING COVERING INDEX ix_mine_statistics$", id="mine-national"),
    pytest.param("PROVINCE", REGION_STATS, {"code": None, "filter": {"depthMin": 123.5}}, "mine",
                 r"SEARCH mine USING (COVERING )?INDEX \w+ \(province_code=\?\)$", id="mine-province"),
    # Unfiltered: the tally's rows summed over every status, contiguous in its primary key.
    pytest.param("NATIONAL", DRILL_DOWN, {}, "mine_tally",
                 r"SEARCH mine_tally USING (PRIMARY KEY|INDEX sqlite_autoindex_mine_tally_1) \(production_status=\?\)$",
                 id="tally-national"),
    pytest.param("PROVINCE", REGION_STATS, {"code": None}, "mine_tally",
                 r"SEARCH mine_tally USING (PRIMARY KEY|(COVERING )?INDEX \w+) \(\w+=\?\)$", id="tally-province"),
]


@pytest.mark.parametrize(("tier", "query", "variables", "table", "sqlite_plan"), GROUPED)
async def test_a_drill_down_groups_by_county_along_an_index(app, gql, callers, tier, query, variables, table,
                                                            sqlite_plan):
    unique = uncached_document(query, f"GroupedPlanned{tier.title()}{table.title()}")
    with StatementCounter.of(app) as counter:
        result = await gql(unique, variables, callers[tier].token)
    assert result.errors is None and result.cache == "miss", result.errors
    statement, parameters = _only(counter.executed, rf"FROM {table}\b.*GROUP BY {table}\.county_code")
    plan = await _explain(app, statement, parameters)
    if sqldb.POSTGRESQL:
        assert not re.search(r"\bSort\b|Seq Scan|HashAggregate", plan), plan
        assert re.search(rf"GroupAggregate.*Index (Only )?Scan using \w+ on {table}\b", plan, re.S), plan
    else:
        assert "USE TEMP B-TREE FOR GROUP BY" not in plan, plan  # the index is already in county order
        assert re.search(sqlite_plan, plan, re.M), plan
