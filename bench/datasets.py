"""Demo datasets for the benchmark, built once with `minegraph seed --demo` and cached.

Cache key: the number of mines, the seed, and a hash of the code that decides what the
data looks like (seed/, migrations/, models/). A pristine copy is kept per key (an SQLite
file under bench/.data/, a PostgreSQL database `mgbench_<N>_<seed>_<hash>`); every run works
on a fresh copy of it (file copy / CREATE DATABASE ... TEMPLATE), so the writes a run makes
never reach the next run.
"""

from __future__ import annotations

import asyncio
import hashlib
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from bench.common import DATA, PG_ADMIN_URL, PYTHON, ROOT, base_env, say

SEED_TIMEOUT_S = 900


def code_hash() -> str:
    digest = hashlib.sha256()
    for folder in ("seed", "migrations", "models"):
        for path in sorted((ROOT / folder).rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                digest.update(str(path.relative_to(ROOT)).encode())
                digest.update(path.read_bytes())
    return digest.hexdigest()[:8]


@dataclass
class Dataset:
    mines: int
    seed: int
    key: str
    sqlite_path: Path | None = None  # the run copy
    pg_db: str | None = None  # the run copy
    pg_error: str | None = None
    build_s: dict | None = None

    @property
    def sqlite_url(self) -> str:
        return f"sqlite+aiosqlite:///{self.sqlite_path}"

    @property
    def pg_url(self) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:5432/{self.pg_db}"

    @property
    def pg_plain_url(self) -> str:
        return f"postgres://postgres@127.0.0.1:5432/{self.pg_db}"


def _seed(url: str, mines: int, seed: int) -> float:
    t0 = time.monotonic()
    done = subprocess.run(
        [PYTHON, "-m", "cli", "seed", "--demo", "--mines", str(mines), "--seed", str(seed)],
        cwd=ROOT, env=base_env(DATABASE_URL=url, SECRET_KEY="bench"), capture_output=True, text=True,
        timeout=SEED_TIMEOUT_S,
    )
    if done.returncode != 0:
        raise RuntimeError(f"seed failed ({done.returncode}):\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    say(f"  {done.stdout.strip().splitlines()[-1] if done.stdout.strip() else 'seeded'}")
    return time.monotonic() - t0


def _sqlite_files(path: Path) -> list[Path]:
    return [path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")]


def build_sqlite(ds: Dataset) -> float:
    pristine = DATA / f"sqlite-{ds.mines}-{ds.seed}-{ds.key}.sqlite3"
    for stale in DATA.glob(f"sqlite-{ds.mines}-{ds.seed}-*.sqlite3*"):
        if not stale.name.startswith(pristine.name):
            stale.unlink()
    t0 = time.monotonic()
    # Idempotent: a loaded dataset answers "already loaded" in about a second.
    _seed(f"sqlite+aiosqlite:///{pristine}", ds.mines, ds.seed)
    run = DATA / "run" / f"minegraph-{ds.mines}.sqlite3"
    run.parent.mkdir(parents=True, exist_ok=True)
    for src, dst in zip(_sqlite_files(pristine), _sqlite_files(run), strict=True):
        dst.unlink(missing_ok=True)
        if src.exists():
            shutil.copyfile(src, dst)
    ds.sqlite_path = run
    return time.monotonic() - t0


async def _pg(sql_statements: list[str], db: str = "postgres") -> list:
    import asyncpg

    url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + db
    conn = await asyncpg.connect(url)
    try:
        out = []
        for sql in sql_statements:
            if ";" in sql.strip().rstrip(";"):  # several commands: simple query protocol, no rows
                await conn.execute(sql)
                out.append([])
            else:
                out.append(await conn.fetch(sql))
        return out
    finally:
        await conn.close()


def pg(sql: str | list[str], db: str = "postgres") -> list:
    return asyncio.run(_pg([sql] if isinstance(sql, str) else sql, db))


def build_pg(ds: Dataset) -> float:
    pristine = f"mgbench_{ds.mines}_{ds.seed}_{ds.key}"
    run = f"mgbench_{ds.mines}_{ds.seed}_run"
    t0 = time.monotonic()
    existing = {r["datname"] for r in pg("SELECT datname FROM pg_database WHERE datname LIKE 'mgbench\\_%'")[0]}
    for stale in existing:
        if stale.startswith(f"mgbench_{ds.mines}_{ds.seed}_") and stale not in (pristine, run):
            pg(f'DROP DATABASE IF EXISTS "{stale}" WITH (FORCE)')
    if pristine not in existing:
        pg(f'CREATE DATABASE "{pristine}"')
    _seed(f"postgresql+asyncpg://postgres@127.0.0.1:5432/{pristine}", ds.mines, ds.seed)
    pg('VACUUM ANALYZE', db=pristine)
    pg([f'DROP DATABASE IF EXISTS "{run}" WITH (FORCE)', f'CREATE DATABASE "{run}" TEMPLATE "{pristine}"'])
    pg("ANALYZE", db=run)
    ds.pg_db = run
    return time.monotonic() - t0


def prepare(mines: int, seed: int, *, sqlite: bool = True, postgres: bool = True) -> Dataset:
    DATA.mkdir(parents=True, exist_ok=True)
    ds = Dataset(mines=mines, seed=seed, key=code_hash(), build_s={})
    if sqlite:
        say(f"dataset: SQLite, {mines} mines (seed {seed}, code {ds.key})")
        ds.build_s["sqlite"] = build_sqlite(ds)
    if postgres:
        say(f"dataset: PostgreSQL, {mines} mines")
        try:
            ds.build_s["postgres"] = build_pg(ds)
        except Exception as error:  # noqa: BLE001 - reported, the SQLite contenders still run
            ds.pg_error = f"{type(error).__name__}: {error}"[:500]
            say(f"  PostgreSQL unavailable: {ds.pg_error}")
    return ds
