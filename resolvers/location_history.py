"""How a location change reads in `Mine.history`: both datums, each under its own name.

History used to record `{"lat", "lng", "datum"}` with the stored WGS-84 numbers under the
datum the client had sent, so a GCJ-02 write showed WGS-84 numbers labelled GCJ02. Now each
side of a change is the location as `Mine.location` shows it (`wgs84`, `gcj02`, `sourceDatum`,
`insideCounty`); in a new value the `sourceDatum` pair is exactly what the client sent. Rows
written in the old shape are presented in the new one when read (their numbers were always
the stored WGS-84 point), so no stored row is rewritten.
"""

from __future__ import annotations

from typing import Any

from models import geo


def location_value(wgs_lat: float, wgs_lng: float, source_datum: str | None, inside: bool | None,
                   sent: tuple[float, float] | None = None) -> dict[str, Any]:
    """A location as history records it; `sent`: the numbers as the client sent them, in `source_datum`."""
    datum = source_datum or geo.WGS84  # rows located before the datum was recorded were WGS-84
    gcj_lat, gcj_lng = geo.to_gcj02(wgs_lat, wgs_lng)
    points = {geo.WGS84: {"lat": wgs_lat, "lng": wgs_lng}, geo.GCJ02: {"lat": gcj_lat, "lng": gcj_lng}}
    if sent is not None:
        # As sent, not converted there and back: what the client can recognise as its own input.
        points[datum] = {"lat": sent[0], "lng": sent[1]}
    return {"wgs84": points[geo.WGS84], "gcj02": points[geo.GCJ02], "sourceDatum": datum,
            "insideCounty": None if inside is None else bool(inside)}


def presented(field: str | None, value: Any) -> Any:
    """A stored history value as clients read it (old-shape location values in the new shape)."""
    if field == "location" and isinstance(value, dict) and "wgs84" not in value and "lat" in value:
        return location_value(value["lat"], value["lng"], value.get("datum"), value.get("insideCounty"))
    return value
