"""What bench/export.py and bench/imports.py share: the command line, the datasets per backend,
the RSS readings of a server (or of the floor's own process) and the CPU time that a request (or
the floor) cost, the database's included."""

from __future__ import annotations

import argparse
import os
from collections.abc import Iterator
from pathlib import Path

from bench.common import say
from bench.datasets import prepare


def rss(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    return 0


def cpu_times(pids: list[int]) -> dict[int, float]:
    """User + system CPU seconds so far of each process (all its threads)."""
    tick = os.sysconf("SC_CLK_TCK")
    found = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        found[pid] = (int(fields[11]) + int(fields[12])) / tick  # utime, stime
    return found


def database_pids(db_url: str) -> list[int]:
    """The PostgreSQL backends connected to the database of `db_url` (their work is the request's
    too); none for SQLite, which works inside the process that asks."""
    if not db_url.startswith("postgresql"):
        return []
    import psycopg

    name = db_url.rsplit("/", 1)[1].split("?")[0]
    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as conn:
        return [row[0] for row in conn.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s", (name,))]


class CpuClock:
    """CPU seconds spent between `start` and `stop` by `pids` and the database's backends, on a
    machine that others share: wall time there grows with their load, this much less."""

    def __init__(self, pids: list[int], db_url: str) -> None:
        self.pids, self.db_url = pids, db_url
        self.before: dict[int, float] = {}

    def _now(self) -> dict[int, float]:
        return cpu_times([*self.pids, *database_pids(self.db_url)])

    def start(self) -> None:
        self.before = self._now()

    def stop(self) -> float:
        """Backends that appeared meanwhile count from zero; one that left meanwhile is missed."""
        after = self._now()
        return round(sum(seconds - self.before.get(pid, 0.0) for pid, seconds in after.items()), 2)


def reset_peak(pids: list[int]) -> None:
    for pid in pids:  # "5" resets VmHWM to the current RSS (Linux ≥ 4.0)
        try:
            Path(f"/proc/{pid}/clear_refs").write_text("5")
        except OSError:
            pass


def arguments(doc: str, timeout: float, floor: tuple[str, str], *extra: tuple[str, dict]) -> argparse.Namespace:
    """--mines, --seed, --backends, --timeout, any `extra` (flag, add_argument keywords), and the
    hidden --floor A B by which the script runs its floor in a child process."""
    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    parser.add_argument("--mines", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=2022)
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--timeout", type=float, default=timeout)
    for flag, keywords in extra:
        parser.add_argument(flag, **keywords)
    parser.add_argument("--floor", nargs=2, metavar=floor, help=argparse.SUPPRESS)
    return parser.parse_args()


def databases(args: argparse.Namespace, doing: str) -> Iterator[tuple[str, str]]:
    """(backend, database URL) of the benchmark's dataset, for each backend asked for and available."""
    backends = args.backends.split(",")
    ds = prepare(args.mines, args.seed, sqlite="sqlite" in backends, postgres="postgres" in backends)
    for backend, url in (("sqlite", ds.sqlite_path and ds.sqlite_url), ("postgres", ds.pg_db and ds.pg_url)):
        if backend in backends and url:
            say(f"{doing} through HTTP: {backend}, {args.mines} mines")
            yield backend, url
