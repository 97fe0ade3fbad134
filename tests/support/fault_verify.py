"""The check after a fault: every acknowledged write is in the database and none is half-applied.

It rests on the write path's design (resolvers/mine_writes.py): one transaction bumps the mine's
version (first statement, taking the lock), changes the field and appends one audit row. Writes to
one mine therefore commit one after another, and their audit ids grow in commit order (SQLite has
one writer at a time; on PostgreSQL the row lock is held from the bump to the commit, and the audit
id is drawn after the bump). So for a mine seeded at version v0, the k-th write audited since then
is the one that set version v0 + k — a whole write leaves exactly that trace, and anything else is
a lost or half-applied write. Each write's `X-Request-ID` (fault_writes.py) is in its audit row.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING

from support.fault_writes import Write, WriteLog

if TYPE_CHECKING:
    from support.sqldb import Database

# The audit actions of the writes fault_writes.py sends.
WRITE_ACTIONS = ("mine.location", "mine.guarantor")


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
    return (new["wgs84"]["lat"], new["wgs84"]["lng"]) if field_name == "location" else new["name"]


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
