"""PageInfo as Relay's connection spec has it: hasPreviousPage and startCursor beside
hasNextPage and endCursor, for forward pagination (first/after)."""

from __future__ import annotations

from support.reference import matches
from resolvers.cursors import encode_cursor

PAGE = """
query Page($filter: MineFilter, $first: Int, $after: String) {
  mines(filter: $filter, first: $first, after: $after) {
    edges { cursor node { code region { code } } }
    pageInfo { hasPreviousPage hasNextPage startCursor endCursor }
  }
}
"""

COPPER = {"nameContains": "铜"}


async def _page(gql, token, **variables) -> dict:
    result = await gql(PAGE, variables, token)
    assert result.errors is None, result.errors
    return result.data["mines"]


async def test_every_page_of_a_walk_reports_its_neighbours_and_both_cursors(gql, callers):
    token, after, pages = callers["NATIONAL"].token, None, 0
    while True:
        connection = await _page(gql, token, filter=COPPER, first=7, after=after)
        edges, info = connection["edges"], connection["pageInfo"]
        assert info["startCursor"] == edges[0]["cursor"] and info["endCursor"] == edges[-1]["cursor"]
        assert info["hasPreviousPage"] is (pages > 0)  # a first page has nothing before it
        pages += 1
        if not info["hasNextPage"]:
            break
        after = info["endCursor"]
    assert pages > 2


async def test_an_empty_page_has_no_cursors(gql, callers):
    info = (await _page(gql, callers["NATIONAL"].token, filter={"mineralCodes": []}, first=5))["pageInfo"]
    assert info == {"hasPreviousPage": False, "hasNextPage": False, "startCursor": None, "endCursor": None}
    info = (await _page(gql, callers["NATIONAL"].token, first=0))["pageInfo"]
    assert info["startCursor"] is None and info["endCursor"] is None and info["hasNextPage"] is True


async def test_has_previous_page_counts_only_mines_of_the_list(gql, callers, mines, levels, settings):
    """`after` a position with no listed mine at or before it: false; at the first listed mine: true.
    Listed means in the filter and in the caller's jurisdiction, as the edges are."""
    secret = settings.resolved_secret_key()
    national = callers["NATIONAL"].token
    copper = sorted((m["county_code"], m["code"]) for m in mines if matches(m, COPPER, levels))
    just_before = encode_cursor(secret, copper[0][0], copper[0][1][:-1])  # sorts before the first copper mine
    ahead = await _page(gql, national, filter=COPPER, first=3, after=just_before)
    assert [(e["node"]["region"]["code"], e["node"]["code"]) for e in ahead["edges"]] == copper[:3]
    assert ahead["pageInfo"]["hasPreviousPage"] is False  # other mines lie before it, but none matches
    at_first = await _page(gql, national, filter=COPPER, first=3, after=encode_cursor(secret, *copper[0]))
    assert at_first["pageInfo"]["hasPreviousPage"] is True

    county = callers["COUNTY"]
    own = sorted((m["county_code"], m["code"]) for m in mines if m["county_code"] == county.region_code)
    start_of_county = encode_cursor(secret, county.region_code, "")  # the whole nation before it
    first_page = await _page(gql, county.token, first=2, after=start_of_county)
    assert [(e["node"]["region"]["code"], e["node"]["code"]) for e in first_page["edges"]] == own[:2]
    assert first_page["pageInfo"]["hasPreviousPage"] is False  # mines outside the county are not before it
    second_page = await _page(gql, county.token, first=2, after=first_page["pageInfo"]["endCursor"])
    assert second_page["pageInfo"]["hasPreviousPage"] is True
    assert second_page["pageInfo"]["startCursor"] == second_page["edges"][0]["cursor"]
