"""A stream of versioned writes whose every answer is recorded: what the fault tests send.

Each write carries its own `X-Request-ID`, which the service stores in the write's audit record,
so a test can tell afterwards, write by write, which ones committed (fault_verify.py), and each
sets a value no other write sets.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import httpx

LOCATION = """
mutation Locate($id: ID!, $lat: Float!, $lng: Float!, $v: Int) {
  updateMineLocation(mineId: $id, lat: $lat, lng: $lng, datum: WGS84, expectedVersion: $v) { id version }
}
"""
GUARANTOR = """
mutation Guarantor($id: ID!, $name: String!, $v: Int) {
  setGuarantor(mineId: $id, level: COUNTY, expectedVersion: $v,
               input: { name: $name, position: "副县长", phone: "13912345678" }) { id version }
}
"""


@dataclass
class Write:
    rid: str  # X-Request-ID, stored in the audit record
    mine_id: int
    field: str  # the audit record's field: "location" or "guarantor.COUNTY"
    value: object  # (lat, lng) or the guarantor's name; unique per write
    outcome: str = "sent"  # sent → acked | refused:<code> | no-answer:<reason> | http-<status>
    version: int | None = None  # the version the acknowledgement reported

    @property
    def acked(self) -> bool:
        return self.outcome == "acked"

    def request(self, expected_version: int | None = None) -> dict:
        if self.field == "location":
            lat, lng = self.value
            return {"query": LOCATION, "variables": {"id": str(self.mine_id), "lat": lat, "lng": lng,
                                                     "v": expected_version}}
        return {"query": GUARANTOR, "variables": {"id": str(self.mine_id), "name": self.value, "v": expected_version}}


@dataclass
class WriteLog:
    """Every write sent, with what came back."""

    tag: str
    writes: list[Write] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)  # answers no write should get
    counter: int = 0

    def new(self, mine_id: int, kind: str) -> Write:
        self.counter += 1
        n = self.counter
        if kind == "location":
            # A point in Sichuan, distinct for every write (exactly representable round trip).
            value = (30.0 + n * 1e-6, 104.0 + (n % 997) * 1e-6)
            write = Write(f"{self.tag}-{n}", mine_id, "location", value)
        else:
            write = Write(f"{self.tag}-{n}", mine_id, "guarantor.COUNTY", f"故障测试{self.tag}{n}")
        self.writes.append(write)
        return write

    async def send(self, client: httpx.AsyncClient, write: Write, token: str, *,
                   expected_version: int | None = None) -> Write:
        """Send one write and record the answer; raises nothing (a failed connection is recorded)."""
        headers = {"Authorization": f"Bearer {token}", "X-Request-ID": write.rid}
        try:
            response = await client.post("/graphql", json=write.request(expected_version), headers=headers)
        except httpx.HTTPError as error:
            write.outcome = f"no-answer:{type(error).__name__}"
            return write
        if response.status_code != 200:
            write.outcome = f"http-{response.status_code}"
            self.unexpected.append(f"{write.rid}: HTTP {response.status_code} {response.text[:200]}")
            return write
        body = response.json()
        if body.get("errors"):
            code = (body["errors"][0].get("extensions") or {}).get("code")
            write.outcome = f"refused:{code}"
            if not (code == "CONFLICT" and expected_version is not None):
                self.unexpected.append(f"{write.rid}: {code} {body['errors'][0].get('message')}")
            return write
        answer = next(iter(body["data"].values()))
        write.outcome, write.version = "acked", answer["version"]
        return write

    @property
    def acked(self) -> list[Write]:
        return [w for w in self.writes if w.acked]

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = defaultdict(int)
        for w in self.writes:
            out[w.outcome.split(":")[0]] += 1
        return dict(out)
