"""What bench/export.py and bench/imports.py share: the command line, the datasets per backend,
and the RSS readings of a server (or of the floor's own process)."""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from pathlib import Path

from bench.common import say
from bench.datasets import prepare


def rss(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    return 0


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
