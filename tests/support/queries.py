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

# The same three levels reached through `dashboard`, not Query.region: nothing counts the
# subtree ahead (execution/drill_down.py), every node's stats waits on the DataLoader.
DASHBOARD_DRILL_DOWN = f"""
query DashboardDrillDown($filter: MineFilter) {{
  dashboard {{
    region {{
      code
      children {{
        code level stats(filter: $filter) {{ {STATS_FIELDS} }}
        children {{
          code level stats(filter: $filter) {{ {STATS_FIELDS} }}
          children {{ code level stats(filter: $filter) {{ {STATS_FIELDS} }} }}
        }}
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

SET_GUARANTOR = """
mutation Set($id: ID!, $level: GuarantorLevel!, $input: GuarantorInput!, $v: Int) {
  setGuarantor(mineId: $id, level: $level, input: $input, expectedVersion: $v) {
    id version updatedAt guarantors { level name position phone updatedAt }
  }
}
"""

UPDATE_LOCATION = """
mutation Locate($id: ID!, $lat: Float!, $lng: Float!, $datum: Datum!, $v: Int) {
  updateMineLocation(mineId: $id, lat: $lat, lng: $lng, datum: $datum, expectedVersion: $v) {
    id version location { wgs84 { lat lng } gcj02 { lat lng } sourceDatum insideCounty updatedAt }
  }
}
"""

HISTORY = """
query History($id: ID!) { mine(id: $id) { version history { at username field oldValue newValue } } }
"""

SUGGESTIONS = """
query Suggest($level: GuarantorLevel!) { guarantorSuggestions(level: $level) { name position phone lastUsedAt } }
"""

COMPLETENESS_FIELDS = """total withLocation cityLevelApplicable withProvinceGuarantor withCityGuarantor
  withCountyGuarantor withEnterpriseGuarantor withAllGuarantors complete"""

COMPLETENESS = f"""
query Progress($filter: MineFilter) {{
  dashboard {{ completeness {{ {COMPLETENESS_FIELDS} }} }}
  region {{
    code completeness(filter: $filter) {{ {COMPLETENESS_FIELDS} }}
    children {{ code completeness(filter: $filter) {{ {COMPLETENESS_FIELDS} }}
      children {{ code completeness(filter: $filter) {{ {COMPLETENESS_FIELDS} }} }} }}
  }}
}}
"""

MINERAL_COMPLETENESS = f"""
query MineralProgress($regionCode: String, $filter: MineFilter) {{
  mineralTypes {{
    code level completeness(regionCode: $regionCode, filter: $filter) {{ {COMPLETENESS_FIELDS} }}
    children {{
      code level completeness(regionCode: $regionCode, filter: $filter) {{ {COMPLETENESS_FIELDS} }}
      children {{ code level completeness(regionCode: $regionCode, filter: $filter) {{ {COMPLETENESS_FIELDS} }} }}
    }}
  }}
}}
"""

MINES_NEAR = """
query Near($lat: Float!, $lng: Float!, $datum: Datum!, $r: Float!, $first: Int!) {
  minesNear(lat: $lat, lng: $lng, datum: $datum, radiusKm: $r, first: $first) {
    distanceKm mine { id code location { wgs84 { lat lng } } }
  }
}
"""

WECHAT_LOGIN = """
mutation WeChat($code: String!) { wechatLogin(code: $code) { token user { username tier } } }
"""

LOGIN_WITH_CODE = """
mutation Login($u: String!, $p: String!, $code: String) {
  login(username: $u, password: $p, wechatCode: $code) { token user { username } }
}
"""

LOGOUT = "mutation { logout }"

CHANGE_PASSWORD = """
mutation Change($old: String!, $new: String!, $confirm: String!) {
  changePassword(oldPassword: $old, newPassword: $new, confirmPassword: $confirm)
}
"""

UPDATE_PROFILE = """
mutation Profile($input: ProfileInput!) { updateProfile(input: $input) { username name phone email } }
"""

# --------------------------------------------------------------------------- basic data and verification

MINE_EDIT_FIELDS = """id code name version scale designCapacity capacityUnit developmentMethod developmentDetail
    maxDepth workersPerShift productionStatus supervisoryBody principal { name phone } region { code }
    mineral { code } scaleOverride { scale note } verification { verifiedAt verifiedBy note current }"""

CREATE_MINE = f"""
mutation Create($input: MineInput!) {{ createMine(input: $input) {{ {MINE_EDIT_FIELDS} initialPassword }} }}
"""

UPDATE_MINE = f"""
mutation Update($id: ID!, $input: MineInput!, $v: Int) {{
  updateMine(mineId: $id, input: $input, expectedVersion: $v) {{ {MINE_EDIT_FIELDS} initialPassword }}
}}
"""

REVOKE_MINE = """
mutation Revoke($id: ID!, $reason: String!) { revokeMine(mineId: $id, reason: $reason) { id code version } }
"""

VERIFY_MINE = f"""
mutation Verify($id: ID!, $v: Int!, $note: String) {{
  verifyMine(mineId: $id, expectedVersion: $v, note: $note) {{ {MINE_EDIT_FIELDS} }}
}}
"""

MINE_EDIT = f"""
query MineEdit($id: ID!) {{ mine(id: $id) {{ {MINE_EDIT_FIELDS} initialPassword
  history(first: 50) {{ field oldValue newValue username importId }} }} }}
"""

CHANGE_REQUEST_FIELDS = """id status note proposedBy proposedAt reviewedBy reviewedAt reviewNote
    mine { id version } changes { field old new }"""

PROPOSE_CHANGE = f"""
mutation Propose($id: ID!, $input: MineInput!, $note: String) {{
  proposeMineChange(mineId: $id, input: $input, note: $note) {{ {CHANGE_REQUEST_FIELDS} }}
}}
"""

REVIEW_CHANGE = f"""
mutation Review($id: ID!, $approve: Boolean!, $note: String) {{
  reviewMineChange(id: $id, approve: $approve, note: $note) {{ {CHANGE_REQUEST_FIELDS} }}
}}
"""

CHANGE_REQUESTS = f"""
query Requests($status: ChangeRequestStatus, $first: Int, $after: String) {{
  mineChangeRequests(status: $status, first: $first, after: $after) {{
    totalCount edges {{ cursor node {{ {CHANGE_REQUEST_FIELDS} }} }} pageInfo {{ hasNextPage endCursor }}
  }}
}}
"""

VERIFICATION_FIELDS = "total verified stale unverified"

VERIFICATION_DRILL_DOWN = f"""
query VerificationDrillDown($filter: MineFilter) {{
  dashboard {{ pendingChangeRequests verification {{ {VERIFICATION_FIELDS} }} stats {{ total }} }}
  region {{
    code verification(filter: $filter) {{ {VERIFICATION_FIELDS} }} stats(filter: $filter) {{ total }}
    children {{
      code verification {{ {VERIFICATION_FIELDS} }} stats {{ total }}
      children {{
        code verification {{ {VERIFICATION_FIELDS} }}
        children {{ code verification {{ {VERIFICATION_FIELDS} }} }}
      }}
    }}
  }}
  mineralTypes {{ code verification(filter: $filter) {{ {VERIFICATION_FIELDS} }}
    children {{ code verification {{ {VERIFICATION_FIELDS} }} }} }}
  mines(filter: $filter, first: 1) {{ totalCount }}
}}
"""

VERIFICATION_HOME = """
query VerificationHome { dashboard { pendingChangeRequests verification { total verified stale unverified } } }
"""
