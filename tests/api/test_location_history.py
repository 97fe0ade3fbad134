"""`Mine.history` of location changes: each datum's numbers under its own name, what the client
sent recognisable as sent, and rows written in the old shape still readable."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import prcoords
import pytest

from support.queries import HISTORY, UPDATE_LOCATION


def _served(location: dict) -> dict:
    """A Location answer as history shows a location (without updatedAt)."""
    return {key: location[key] for key in ("wgs84", "gcj02", "sourceDatum", "insideCounty")}


@pytest.fixture(scope="module")
def located(fresh_env) -> dict:
    return dict(fresh_env.db.execute(
        "SELECT id, code, lat, lng FROM mine WHERE lat IS NOT NULL AND NOT EXISTS "
        "(SELECT 1 FROM audit_log a WHERE a.mine_id = mine.id) ORDER BY id LIMIT 1").fetchone())


async def _history(env, mine_id: int, query: str = HISTORY) -> list[dict]:
    result = await env.gql(query, {"id": str(mine_id)}, await env.token("000000-001"))
    assert result.errors is None, result.errors
    return result.data["mine"]["history"]


async def _locate(env, mine: dict, lat: float, lng: float, datum: str) -> dict:
    result = await env.gql(UPDATE_LOCATION, {"id": str(mine["id"]), "lat": lat, "lng": lng, "datum": datum},
                           await env.token(mine["code"]))
    assert result.errors is None, result.errors
    return result.data["updateMineLocation"]["location"]


async def test_a_gcj02_write_is_recorded_as_sent_and_as_stored_each_under_its_datum(fresh_env, located):
    before = await fresh_env.gql(HISTORY.replace("version history", "version location "
                                                 "{ wgs84 { lat lng } gcj02 { lat lng } sourceDatum insideCounty }"
                                                 " history"), {"id": str(located["id"])},
                                 await fresh_env.token("000000-001"))
    previous = before.data["mine"]["location"]
    sent = prcoords.wgs_gcj(prcoords.Coords(located["lat"] + 0.001, located["lng"] + 0.001), False)

    location = await _locate(fresh_env, located, sent.lat, sent.lon, "GCJ02")
    change = (await _history(fresh_env, located["id"]))[0]
    assert change["field"] == "location"
    assert change["newValue"]["gcj02"] == {"lat": sent.lat, "lng": sent.lon}  # exactly what was sent
    stored = fresh_env.db.execute("SELECT lat, lng FROM mine WHERE id = ?", (located["id"],)).fetchone()
    assert change["newValue"]["wgs84"] == {"lat": stored["lat"], "lng": stored["lng"]} == location["wgs84"]
    assert change["newValue"]["wgs84"] != change["newValue"]["gcj02"]  # the datums really differ here
    assert change["newValue"]["sourceDatum"] == "GCJ02"
    assert change["newValue"]["insideCounty"] == location["insideCounty"]
    assert change["oldValue"] == previous  # the seeded location, as it was served

    # A WGS-84 write next: its old value is the GCJ-02 write's location as served.
    wgs = (located["lat"] + 0.002, located["lng"] + 0.002)
    second = await _locate(fresh_env, located, *wgs, "WGS84")
    change = (await _history(fresh_env, located["id"]))[0]
    assert change["newValue"] == {**_served(second), "wgs84": {"lat": wgs[0], "lng": wgs[1]}}
    assert change["oldValue"] == _served(location)


async def test_history_rows_of_the_old_shape_read_in_the_new_one(fresh_env, located):
    """Before: {lat, lng, datum} held the stored WGS-84 numbers under the datum the client had sent."""
    db, lat, lng = fresh_env.db, 25.0406, 102.7125
    old, new = {"lat": lat, "lng": lng, "datum": "WGS84"}, {"lat": lat + 0.01, "lng": lng, "datum": "GCJ02",
                                                          "insideCounty": False}
    db.execute("INSERT INTO audit_log (at, username, action, mine_id, field, old_value, new_value) "
               "VALUES (?, ?, ?, ?, ?, ?, ?)", (datetime(2030, 1, 1, tzinfo=UTC).replace(tzinfo=None), "C1",
                                                "mine.location", located["id"], "location", json.dumps(old),
                                                json.dumps(new)))
    db.commit()
    # Another document: audit rows written in SQL do not move the response cache's data version.
    change = (await _history(fresh_env, located["id"], HISTORY.replace("username", "username __typename")))[0]

    def gcj(la, ln):
        shifted = prcoords.wgs_gcj(prcoords.Coords(la, ln), False)
        return {"lat": pytest.approx(shifted.lat, abs=1e-9), "lng": pytest.approx(shifted.lon, abs=1e-9)}

    assert change["oldValue"] == {"wgs84": {"lat": lat, "lng": lng}, "gcj02": gcj(lat, lng),
                                  "sourceDatum": "WGS84", "insideCounty": None}
    assert change["newValue"] == {"wgs84": {"lat": lat + 0.01, "lng": lng}, "gcj02": gcj(lat + 0.01, lng),
                                  "sourceDatum": "GCJ02", "insideCounty": False}
