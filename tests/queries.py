"""GraphQL documents the tests send, as constants (the way clients send them)."""

LOGIN = """
mutation Login($u: String!, $p: String!) {
  login(username: $u, password: $p) { token user { username tier guarantorLevel region { code } } }
}
"""

STATS_FIELDS = "total large medium small over30Workers over800mDepth byCategory { mineral { code } count }"

DASHBOARD = f"""
query {{ dashboard {{ updatedAt region {{ code name level }} stats {{ {STATS_FIELDS} }} }} }}
"""

REGION_STATS = f"""
query Region($code: String, $filter: MineFilter) {{
  region(code: $code) {{
    code name level parent {{ code }}
    stats(filter: $filter) {{ {STATS_FIELDS} }}
    children {{ code level stats(filter: $filter) {{ {STATS_FIELDS} }} }}
  }}
}}
"""

DRILL_DOWN = f"""
query DrillDown($filter: MineFilter) {{
  region {{
    code stats(filter: $filter) {{ {STATS_FIELDS} }}
    children {{
      code level stats(filter: $filter) {{ {STATS_FIELDS} }}
      children {{
        code level stats(filter: $filter) {{ {STATS_FIELDS} }}
        children {{ code level stats(filter: $filter) {{ {STATS_FIELDS} }} }}
      }}
    }}
  }}
}}
"""

MINERAL_STATS = f"""
query Minerals($regionCode: String, $filter: MineFilter) {{
  mineralTypes {{
    code name level
    stats(regionCode: $regionCode, filter: $filter) {{ {STATS_FIELDS} }}
    children {{
      code level stats(regionCode: $regionCode, filter: $filter) {{ {STATS_FIELDS} }}
      children {{ code level stats(regionCode: $regionCode, filter: $filter) {{ {STATS_FIELDS} }} }}
    }}
  }}
}}
"""

MINES = """
query Mines($filter: MineFilter, $first: Int, $after: String) {
  mines(filter: $filter, first: $first, after: $after) {
    totalCount
    edges { cursor node { id code name region { code } } }
    pageInfo { hasNextPage endCursor }
  }
}
"""

REGION_MINES = """
query RegionMines($code: String!, $first: Int, $after: String, $filter: MineFilter) {
  region(code: $code) {
    mines(first: $first, after: $after, filter: $filter) {
      totalCount edges { node { id code region { code } } } pageInfo { hasNextPage endCursor }
    }
  }
}
"""

MINE_DETAIL = """
query Mine($id: ID!) {
  mine(id: $id) {
    id code name
    region { code name level parent { code } }
    mineral { code name level parent { code parent { code } } }
    scale designCapacity capacityUnit developmentMethod developmentDetail
    maxDepth workersPerShift productionStatus supervisoryBody
    principal { name phone }
    location { wgs84 { lat lng } gcj02 { lat lng } sourceDatum insideCounty updatedAt }
    guarantors { level name position phone updatedAt }
    updatedAt version
  }
}
"""

ME = """
query { me { username tier name guarantorLevel region { code level parent { code } children { code } } mine { id code } } }
"""

OPTIONS = """
query { options { scales { value label } productionStatuses { value label }
                  developmentMethods { value label } supervisoryBodies { value label } } }
"""
