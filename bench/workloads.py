"""The workloads: GraphQL documents, and the counts each answer carries, hashed.

Every contender's answer to a workload is reduced to the same canonical counts, whose
SHA-256 must agree across contenders (the PostGraphile answers are mapped from its own
shape; the floor answers in minegraph's shape).
"""

from __future__ import annotations

import hashlib
import json

STATS = "total large medium small over30Workers over800mDepth"
FILTER = {"mineralCodes": ["10"], "productionStatuses": ["NORMAL"]}  # 有色金属, 正常生产
LIST_FIRST = 20
LIST_DEPTH = 5_000
NATIONAL_USER = "000000-001"

WORKLOADS = {
    "dashboard": "home dashboard (national): totals, scales, key-supervision counts, by category, update time",
    "drilldown": "national 3-level drill-down: nation → provinces → cities / province-administered counties → "
                 "counties, every node with total, scale counts, over30Workers, over800mDepth",
    "drilldown_filtered": "the same drill-down under a filter: category 10 (有色金属) and status NORMAL",
    "list_1": f"mine list, first page ({LIST_FIRST} rows, keyset order region code, mine code)",
    "list_5000": f"mine list, the page after {LIST_DEPTH:,} rows (cursor obtained by paging once beforehand)",
    "login": "login mutation (argon2id verification, new session)",
}

DRILL_DOWN = f"""query DrillDown($filter: MineFilter) {{
  region {{
    code stats(filter: $filter) {{ {STATS} }}
    children {{
      code stats(filter: $filter) {{ {STATS} }}
      children {{
        code stats(filter: $filter) {{ {STATS} }}
        children {{ code stats(filter: $filter) {{ {STATS} }} }}
      }}
    }}
  }}
}}"""

DASHBOARD = f"""query Dashboard {{
  dashboard {{ updatedAt stats {{ {STATS} byCategory {{ mineral {{ code }} count }} }} }}
}}"""

MINES = """query Mines($first: Int, $after: String) {
  mines(first: $first, after: $after) {
    totalCount edges { cursor node { id code name } } pageInfo { endCursor hasNextPage }
  }
}"""

LOGIN = """mutation Login($u: String!, $p: String!) { login(username: $u, password: $p) { token } }"""

SET_GUARANTOR = """mutation Write($id: ID!, $name: String!) {
  setGuarantor(mineId: $id, level: COUNTY, input: { name: $name, position: "副县长", phone: "13912345678" }) {
    version
  }
}"""

HELLO = "query Hello { hello }"

# ---------------------------------------------------------------------------- PostGraphile

PG_STATS = ("totalCount aggregates { sum { isLarge isMedium isSmall over30Workers over800MDepth } }")
# Computed columns the aggregates sum (bench-only, created in the run copy of the database).
PG_COMPUTED_COLUMNS = """
CREATE OR REPLACE FUNCTION mine_is_large(m mine) RETURNS int LANGUAGE sql IMMUTABLE AS $$ SELECT (m.scale = 'LARGE')::int $$;
CREATE OR REPLACE FUNCTION mine_is_medium(m mine) RETURNS int LANGUAGE sql IMMUTABLE AS $$ SELECT (m.scale = 'MEDIUM')::int $$;
CREATE OR REPLACE FUNCTION mine_is_small(m mine) RETURNS int LANGUAGE sql IMMUTABLE AS $$ SELECT (m.scale = 'SMALL')::int $$;
CREATE OR REPLACE FUNCTION mine_over30_workers(m mine) RETURNS int LANGUAGE sql IMMUTABLE AS $$ SELECT (m.workers_per_shift > 30)::int $$;
CREATE OR REPLACE FUNCTION mine_over800m_depth(m mine) RETURNS int LANGUAGE sql IMMUTABLE AS $$ SELECT (m.max_depth > 800)::int $$;
"""
PG_FILTER = {"categoryCode": "10", "productionStatus": "NORMAL"}

PG_DRILL_DOWN = f"""fragment S on MinesConnection {{ {PG_STATS} }}
query DrillDown($c: MineCondition) {{
  allMines(condition: $c) {{ ...S }}
  regionByCode(code: "000000") {{
    code
    regionsByParentCode {{
      nodes {{
        code
        minesByProvinceCode(condition: $c) {{ ...S }}
        cities: regionsByParentCode(condition: {{ level: "CITY" }}) {{
          nodes {{
            code
            minesByCityCode(condition: $c) {{ ...S }}
            regionsByParentCode {{ nodes {{ code minesByCountyCode(condition: $c) {{ ...S }} }} }}
          }}
        }}
        counties: regionsByParentCode(condition: {{ level: "COUNTY" }}) {{
          nodes {{ code minesByCountyCode(condition: $c) {{ ...S }} }}
        }}
      }}
    }}
  }}
}}"""

PG_DASHBOARD = f"""query Dashboard {{
  allMines {{ {PG_STATS} groupedAggregates(groupBy: [CATEGORY_CODE]) {{ keys distinctCount {{ id }} }} }}
  latest: allMines(orderBy: [UPDATED_AT_DESC], first: 1) {{ nodes {{ updatedAt }} }}
}}"""

PG_MINES = """query Mines($first: Int, $after: Cursor) {
  allMines(first: $first, after: $after, orderBy: [COUNTY_CODE_ASC, CODE_ASC]) {
    totalCount edges { cursor node { id code name } } pageInfo { endCursor hasNextPage }
  }
}"""


# ---------------------------------------------------------------------------- canonical counts


def digest(canonical: object) -> str:
    return hashlib.sha256(json.dumps(canonical, sort_keys=True, separators=(",", ":")).encode()).hexdigest()[:16]


def _stats(s: dict) -> list[int]:
    return [int(s[k]) for k in ("total", "large", "medium", "small", "over30Workers", "over800mDepth")]


def canonical(workload: str, body: dict) -> object:
    """minegraph-shaped answers (minegraph, naive, floor) → the canonical counts."""
    if body.get("errors") or not body.get("data"):
        raise ValueError(f"error answer: {json.dumps(body, ensure_ascii=False)[:300]}")
    data = body["data"]
    if workload in ("drilldown", "drilldown_filtered"):
        out: dict[str, list[int]] = {}

        def walk(node: dict) -> None:
            out[node["code"]] = _stats(node["stats"])
            for child in node.get("children") or ():
                walk(child)

        walk(data["region"])
        return out
    if workload == "dashboard":
        s = data["dashboard"]["stats"]
        return {"stats": _stats(s), "byCategory": {c["mineral"]["code"]: int(c["count"]) for c in s["byCategory"]}}
    if workload.startswith("list"):
        m = data["mines"]
        return {"totalCount": m["totalCount"], "codes": [e["node"]["code"] for e in m["edges"]],
                "hasNextPage": m["pageInfo"]["hasNextPage"]}
    if workload == "login":
        return {"token": bool(data["login"]["token"])}
    if workload == "hello":
        return data
    raise KeyError(workload)


def _pg_stats(conn: dict) -> list[int]:
    s = conn["aggregates"]["sum"]
    return [int(conn["totalCount"]), int(s["isLarge"] or 0), int(s["isMedium"] or 0), int(s["isSmall"] or 0),
            int(s["over30Workers"] or 0), int(s["over800MDepth"] or 0)]


def canonical_postgraphile(workload: str, body: dict) -> object:
    if body.get("errors") or not body.get("data"):
        raise ValueError(f"error answer: {json.dumps(body, ensure_ascii=False)[:300]}")
    data = body["data"]
    if workload in ("drilldown", "drilldown_filtered"):
        nation = data["regionByCode"]
        out = {nation["code"]: _pg_stats(data["allMines"])}
        for province in nation["regionsByParentCode"]["nodes"]:
            out[province["code"]] = _pg_stats(province["minesByProvinceCode"])
            for city in province["cities"]["nodes"]:
                out[city["code"]] = _pg_stats(city["minesByCityCode"])
                for county in city["regionsByParentCode"]["nodes"]:
                    out[county["code"]] = _pg_stats(county["minesByCountyCode"])
            for county in province["counties"]["nodes"]:
                out[county["code"]] = _pg_stats(county["minesByCountyCode"])
        return out
    if workload == "dashboard":
        m = data["allMines"]
        by_category = {"10": 0, "20": 0, "30": 0, "40": 0}
        for group in m["groupedAggregates"]:
            by_category[group["keys"][0]] = int(group["distinctCount"]["id"])
        return {"stats": _pg_stats(m), "byCategory": by_category}
    if workload.startswith("list"):
        m = data["allMines"]
        return {"totalCount": m["totalCount"], "codes": [e["node"]["code"] for e in m["edges"]],
                "hasNextPage": m["pageInfo"]["hasNextPage"]}
    raise KeyError(workload)


def count_fields(value: object) -> int:
    """Fields in a JSON answer (every key of every object): what GraphQL execution resolved."""
    if isinstance(value, dict):
        return len(value) + sum(count_fields(v) for v in value.values())
    if isinstance(value, list):
        return sum(count_fields(v) for v in value)
    return 0
