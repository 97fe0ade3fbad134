"""Tools of the fault tests: a `minegraph serve` that can be SIGKILLed and measured, a stream
of versioned writes whose acknowledgements are recorded, and the check that every acknowledged
write is in the database and none is half-applied.

Each write carries its own `X-Request-ID`, which the service stores in the write's audit record,
so the test can tell afterwards, write by write, which ones committed.

The check rests on the write path's design (resolvers/mine_writes.py): one transaction bumps the
mine's version (first statement, taking the lock), changes the field and appends one audit row.
Writes to one mine therefore commit one after another, and their audit ids grow in commit order
(SQLite has one writer at a time; on PostgreSQL the row lock is held from the bump to the commit,
and the audit id is drawn after the bump). So for a mine seeded at version v0, the k-th write
audited since then is the one that set version v0 + k — a whole write leaves exactly that trace,
and anything else is a lost or half-applied write.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import httpx

import servers

if TYPE_CHECKING:
    from sqldb import Database

WRITE_ACTIONS = ("mine.location", "mine.guarantor")
START_TIMEOUT_S = 90


# --------------------------------------------------------------------------- the server process


class Server:
    """`minegraph serve` in its own process group: started, checked, SIGKILLed, measured."""

    def __init__(self, database: Database, log_path: Path, *, workers: int = 1, **env: str) -> None:
        self.database, self.log_path, self.workers, self.env = database, log_path, workers, env
        self.proc: subprocess.Popen | None = None
        self.base = ""

    def start(self) -> Server:
        port = servers.free_port()
        env = servers.cli_env(self.database, HOST="127.0.0.1", PORT=str(port), **self.env)
        self.base = f"http://127.0.0.1:{port}"
        with open(self.log_path, "ab") as log:
            log.write(f"\n===== start {time.strftime('%H:%M:%S')} on {self.base}\n".encode())
            log.flush()
            self.proc = subprocess.Popen(
                [sys.executable, str(servers.REPO_ROOT / "cli.py"), "serve", "--workers", str(self.workers)],
                cwd=servers.REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            if self.proc.poll() is not None:
                raise AssertionError(f"`minegraph serve` exited with {self.proc.returncode}:\n"
                                     f"{servers.tail(self.log_path)}")
            try:
                if httpx.get(f"{self.base}/healthz", timeout=2, trust_env=False).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                self.kill()
                raise AssertionError(f"`minegraph serve` did not answer in {START_TIMEOUT_S}s:\n"
                                     f"{servers.tail(self.log_path)}")
            time.sleep(0.1)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def pids(self) -> list[int]:
        """Every process of the server's group (the server and its workers)."""
        if self.proc is None:
            return []
        found = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    stat = (entry / "stat").read_text()
                except OSError:
                    continue
                # pid (comm) state ppid pgrp ...: comm may hold spaces, so split after the last ")".
                if int(stat.rsplit(")", 1)[1].split()[2]) == self.proc.pid:
                    found.append(int(entry.name))
        return found

    def rss_mb(self) -> float:
        """Resident memory of the whole group, in MB (from /proc/<pid>/status VmRSS)."""
        total_kb = 0
        for pid in self.pids():
            try:
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        total_kb += int(line.split()[1])
            except OSError:
                continue
        return total_kb / 1024

    def kill(self) -> None:
        """SIGKILL the whole group, no warning, and reap it."""
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait(timeout=30)
        # Workers of a multi-process server are in the group too: wait until the kernel has them gone.
        deadline = time.monotonic() + 10
        while self.pids_alive() and time.monotonic() < deadline:
            time.sleep(0.05)

    def pids_alive(self) -> list[int]:
        alive = []
        for pid in self.pids():
            try:
                state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
            except OSError:
                continue
            if state != "Z":
                alive.append(pid)
        return alive

    def stop(self) -> None:
        """SIGTERM (graceful), then SIGKILL if it lingers."""
        if self.proc is None or self.proc.poll() is not None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=20)
        except ProcessLookupError:
            return
        except subprocess.TimeoutExpired:
            self.kill()

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")


# --------------------------------------------------------------------------- writes and their record

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


# --------------------------------------------------------------------------- the check


@dataclass
class Baseline:
    versions: dict[int, int]  # mine id → version
    audit_max_id: int

    @classmethod
    def take(cls, database: Database) -> Baseline:
        with database.connect() as db:
            versions = {r[0]: r[1] for r in db.execute("SELECT id, version FROM mine")}
            top = db.execute("SELECT coalesce(max(id), 0) FROM audit_log").fetchone()[0]
        return cls(versions, top)


def _value_of(field_name: str, new_value: str):
    new = json.loads(new_value)
    return (new["lat"], new["lng"]) if field_name == "location" else new["name"]


def verify(database: Database, baseline: Baseline, log: WriteLog, *, snapshot_of: set[str] | None = None) -> dict:
    """Every acknowledged write is present and whole, none is half-applied, nothing unknown was
    written. Writes sent without an answer (in flight at a kill) may be there or not, but whole.

    `snapshot_of`: the database is a copy taken while writes went on (a backup); only the writes
    acknowledged before it was taken (these request ids) must be in it, later ones may be, whole.
    Returns the figures; raises AssertionError listing every violation."""
    sent = {w.rid: w for w in log.writes}
    required = [w for w in log.acked if snapshot_of is None or w.rid in snapshot_of]
    placeholders = ", ".join("?" for _ in WRITE_ACTIONS)
    with database.connect() as db:
        rows = db.execute(
            f"SELECT id, mine_id, field, new_value, request_id FROM audit_log "
            f"WHERE id > ? AND action IN ({placeholders}) ORDER BY id", (baseline.audit_max_id, *WRITE_ACTIONS),
        ).fetchall()
        versions = {r[0]: r[1] for r in db.execute("SELECT id, version FROM mine")}
        mines_written = sorted({r["mine_id"] for r in rows} | {w.mine_id for w in log.writes})
        locations, guarantors = {}, {}
        for mine_id in mines_written:
            row = db.execute("SELECT lat, lng FROM mine WHERE id = ?", (mine_id,)).fetchone()
            locations[mine_id] = (row["lat"], row["lng"])
            for level, name in db.execute("SELECT level, name FROM guarantor WHERE mine_id = ?", (mine_id,)):
                guarantors[(mine_id, f"guarantor.{level}")] = name

    problems: list[str] = []
    by_rid: dict[str, object] = {}
    per_mine: dict[int, list] = defaultdict(list)
    for row in rows:
        rid = row["request_id"]
        if rid not in sent:
            problems.append(f"audit row {row['id']} (mine {row['mine_id']}, {row['field']}) of unknown request {rid!r}")
        if rid in by_rid:
            problems.append(f"request {rid} audited twice")
        by_rid[rid] = row
        per_mine[row["mine_id"]].append(row)

    # 1. No write half-applied: per mine, versions gained == writes audited (all mines, not just ours).
    half = 0
    for mine_id, version in versions.items():
        gained = version - baseline.versions.get(mine_id, version)
        if gained != len(per_mine.get(mine_id, ())):
            half += 1
            problems.append(f"mine {mine_id}: version went {baseline.versions.get(mine_id)} → {version} "
                            f"(+{gained}) but {len(per_mine.get(mine_id, ()))} writes are audited")

    # 2. Every acknowledged write is there, with its own value, at the version it reported.
    lost = 0
    for write in log.acked:
        row = by_rid.get(write.rid)
        if row is None and write not in required:
            continue  # acknowledged after the copy was taken
        if row is None:
            lost += 1
            problems.append(f"acknowledged write {write.rid} (mine {write.mine_id} {write.field} → {write.value!r}, "
                            f"version {write.version}) is not in the audit trail")
            continue
        if row["mine_id"] != write.mine_id or row["field"] != write.field \
                or _value_of(write.field, row["new_value"]) != write.value:
            problems.append(f"write {write.rid} audited as mine {row['mine_id']} {row['field']} {row['new_value']}")
        rank = [r["id"] for r in per_mine[write.mine_id]].index(row["id"]) + 1
        if baseline.versions[write.mine_id] + rank != write.version:
            problems.append(f"write {write.rid} answered version {write.version}, but it is write #{rank} since "
                            f"version {baseline.versions[write.mine_id]}")
        if versions[write.mine_id] < write.version:
            problems.append(f"mine {write.mine_id} is at version {versions[write.mine_id]}, below acknowledged "
                            f"{write.version}")

    # 3. Each field holds the value of its last audited write; that write is the last acknowledged
    #    one, or a later one that was in flight (sent, no answer) and committed anyway.
    last: dict[tuple[int, str], object] = {}
    for row in rows:
        last[(row["mine_id"], row["field"])] = row
    newest_ack: dict[tuple[int, str], Write] = {}
    for write in log.acked:
        key = (write.mine_id, write.field)
        if key not in newest_ack or write.version > newest_ack[key].version:
            newest_ack[key] = write
    for key, row in last.items():
        mine_id, field_name = key
        expected = _value_of(field_name, row["new_value"])
        current = locations[mine_id] if field_name == "location" else guarantors.get(key)
        if current != expected:
            problems.append(f"mine {mine_id} {field_name} is {current!r}, but its last audited write "
                            f"{row['request_id']} set {expected!r}")
        ack = newest_ack.get(key)
        writer = sent.get(row["request_id"])
        if snapshot_of is None and ack is not None and row["request_id"] != ack.rid \
                and (writer is None or writer.acked):
            problems.append(f"mine {mine_id} {field_name}: the last acknowledged write {ack.rid} was overwritten by "
                            f"{row['request_id']}, which is not a write in flight")

    unanswered = [w for w in log.writes if not w.acked and not w.outcome.startswith("refused")]
    committed_in_flight = sum(1 for w in unanswered if w.rid in by_rid)
    refused_written = [w.rid for w in log.writes if w.outcome.startswith("refused") and w.rid in by_rid]
    problems += [f"write {rid} was refused but is in the audit trail" for rid in refused_written]
    figures = {
        "sent": len(log.writes),
        "acknowledged": len(log.acked),
        "lost_acknowledged": lost,
        "half_applied": half,
        "in_flight_committed": committed_in_flight,
        "in_flight_absent": len(unanswered) - committed_in_flight,
        "refused": sum(1 for w in log.writes if w.outcome.startswith("refused")),
        "mines_checked": len(versions),
        "audited_writes": len(rows),
    }
    if problems:
        raise AssertionError(f"{len(problems)} problems ({figures}):\n  " + "\n  ".join(problems[:40]))
    return figures


# --------------------------------------------------------------------------- figures


def report(name: str, figures: dict) -> None:
    """Print the figures and merge them into the JSON file $FAULT_REPORT (if set) under `name`."""
    print(f"\n[{name}] " + ", ".join(f"{k}={v}" for k, v in figures.items()))
    path = os.environ.get("FAULT_REPORT")
    if not path:
        return
    target = Path(path)
    data = json.loads(target.read_text()) if target.exists() and target.stat().st_size else {}
    data[name] = figures
    target.write_text(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")
