"""The tests' own database access, on SQLite or PostgreSQL alike.

`TEST_DATABASE` picks the backend of the whole run: `sqlite` (the default) or
`postgresql`. On PostgreSQL every fresh database is a `CREATE DATABASE mg_<random>`
made through the admin connection `TEST_PG_URL` (default
`postgresql://postgres@127.0.0.1:5432/test`) and dropped again afterwards.

- `fresh_database(directory)` is the one way a test gets a database of its own: a
  context manager yielding a `Database` (`.url` for the service and its CLI,
  `.connect()` for the test's independent reads).
- `Connection` is that independent read path, sqlite3 or psycopg underneath, with
  sqlite3's interface: `.execute(sql, params)` with `?` placeholders,
  `.fetchone()` / `.fetchall()` / iteration, `.commit()`, `.close()`. Rows are
  tuples (so they compare equal to tuples) that also answer `row["column"]`
  and `dict(row)`.
- Values are normalised so that a test reads the same thing from both:
  timestamps are naive datetimes in UTC (written ones too: pass naive UTC, or
  aware, datetimes), PostgreSQL's NUMERIC results (e.g. of AVG) are floats.
"""

from __future__ import annotations

import os
import secrets
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

BACKENDS = ("sqlite", "postgresql")
BACKEND = (os.environ.get("TEST_DATABASE") or "sqlite").strip().lower()
if BACKEND not in BACKENDS:
    raise RuntimeError(f"TEST_DATABASE={BACKEND!r}: expected one of {', '.join(BACKENDS)}")
POSTGRESQL = BACKEND == "postgresql"
SQLITE = not POSTGRESQL
ADMIN_URL = os.environ.get("TEST_PG_URL") or "postgresql://postgres@127.0.0.1:5432/test"
CONNECT_TIMEOUT_S = 5


# --------------------------------------------------------------------------- rows


class Row(tuple):
    """A result row: a tuple that also answers row["column"] (and so dict(row))."""

    _columns: tuple[str, ...] = ()
    _index: dict[str, int] = {}

    def __getitem__(self, key):
        if isinstance(key, str):
            return tuple.__getitem__(self, self._index[key])
        return tuple.__getitem__(self, key)

    def keys(self) -> list[str]:
        return list(self._columns)


def _row_class(description) -> type[Row]:
    columns = tuple(d[0] for d in description or ())
    return type("Row", (Row,), {"_columns": columns, "_index": {c: i for i, c in enumerate(columns)}})


def _utc_naive(value: datetime) -> datetime:
    return value if value.tzinfo is None else value.astimezone(UTC).replace(tzinfo=None)


def _read(value: Any) -> Any:
    if isinstance(value, datetime):
        return _utc_naive(value)
    if isinstance(value, Decimal):
        return float(value)
    return value


# SQLAlchemy's DateTime is declared DATETIME on SQLite and stored as this text.
# The converter only applies to connections opened with detect_types (ours; the
# service's aiosqlite connections do not ask for it).
sqlite3.register_converter("DATETIME", lambda raw: datetime.fromisoformat(raw.decode()))


def _sqlite_param(value: Any) -> Any:
    if isinstance(value, datetime):
        return _utc_naive(value).isoformat(" ", "microseconds")
    return value


def to_pyformat(sql: str) -> str:
    """`?` placeholders (outside quotes) to psycopg's `%s`; literal `%` doubled."""
    out, quote = [], None
    for char in sql:
        if quote:
            if char == quote:
                quote = None
        elif char in "'\"":
            quote = char
        elif char == "?":
            out.append("%s")
            continue
        out.append("%%" if char == "%" else char)
    return "".join(out)


class Cursor:
    def __init__(self, raw) -> None:
        self._raw = raw
        self._row = _row_class(raw.description) if raw.description else None

    def _make(self, values) -> Row:
        return self._row(_read(v) for v in values)

    def fetchone(self) -> Row | None:
        values = self._raw.fetchone()
        return None if values is None else self._make(values)

    def fetchall(self) -> list[Row]:
        return [self._make(values) for values in self._raw.fetchall()]

    def __iter__(self) -> Iterator[Row]:
        return iter(self.fetchall())

    @property
    def rowcount(self) -> int:
        return self._raw.rowcount


class Connection:
    """sqlite3's interface over sqlite3 or psycopg. Use as a context manager to
    commit and close at the end of the block."""

    def __init__(self, raw, postgresql: bool) -> None:
        self._raw = raw
        self.postgresql = postgresql

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Cursor:
        if self.postgresql:
            return Cursor(self._raw.execute(to_pyformat(sql), tuple(params)))
        return Cursor(self._raw.execute(sql, [_sqlite_param(p) for p in params]))

    def commit(self) -> None:
        self._raw.commit()  # a no-op on PostgreSQL, where every statement commits (autocommit)

    def close(self) -> None:
        self._raw.close()

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, kind, *_exc) -> None:
        try:
            if kind is None:
                self.commit()
        finally:
            self.close()


def _psycopg_connect(conninfo: str):
    import psycopg

    # Autocommit: each statement sees the latest committed data and holds no locks
    # afterwards, as sqlite3's reads outside a transaction do.
    return psycopg.connect(conninfo, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S,
                           options="-c TimeZone=UTC")


# --------------------------------------------------------------------------- databases


@dataclass(frozen=True)
class Database:
    """A database of the test's own: `url` for the service, `connect()` for the test."""

    url: str  # SQLAlchemy async URL: sqlite+aiosqlite:///… or postgresql+asyncpg://…
    name: str  # the SQLite file's path, or the PostgreSQL database's name
    directory: Path  # scratch folder that belongs with it (logs, CSV sheets, …)

    @property
    def postgresql(self) -> bool:
        return self.url.startswith("postgresql")

    def connect(self) -> Connection:
        if self.postgresql:
            return Connection(_psycopg_connect(_sync_url(self.name)), postgresql=True)
        raw = sqlite3.connect(self.name, detect_types=sqlite3.PARSE_DECLTYPES)
        raw.execute("PRAGMA foreign_keys=ON")  # as the service has them, and as PostgreSQL always does
        return Connection(raw, postgresql=False)

    def rows(self, sql: str, *args: Any) -> list[Row]:
        with self.connect() as conn:
            return conn.execute(sql, args).fetchall()

    def one(self, sql: str, *args: Any) -> Row | None:
        with self.connect() as conn:
            return conn.execute(sql, args).fetchone()


def _admin_url():
    from sqlalchemy.engine import make_url

    return make_url(ADMIN_URL)


def _sync_url(database: str) -> str:
    url = _admin_url().set(drivername="postgresql", database=database)
    return url.render_as_string(hide_password=False)


def _async_url(database: str) -> str:
    url = _admin_url().set(drivername="postgresql+asyncpg", database=database)
    return url.render_as_string(hide_password=False)


def _admin_connection():
    return _psycopg_connect(_sync_url(_admin_url().database or "postgres"))


def postgresql_unreachable() -> str | None:
    """None when the admin connection works, else why not."""
    try:
        import psycopg  # noqa: F401
    except ImportError as error:
        return f"psycopg is not installed ({error}); run `make venv`"
    try:
        with _admin_connection() as conn:
            conn.execute("SELECT 1")
    except Exception as error:  # noqa: BLE001 - any failure means: cannot run here
        detail = " ".join(str(error).split()).rstrip(".") or type(error).__name__
        return f"cannot connect to {ADMIN_URL} (TEST_PG_URL): {detail}"
    return None


@contextmanager
def fresh_database(directory: Path, stem: str = "minegraph") -> Iterator[Database]:
    """An empty database of the run's backend, gone afterwards: on SQLite a new file
    `<directory>/<stem>.sqlite3`; on PostgreSQL a new database `mg_<random>`, dropped
    (WITH (FORCE), so a server left connected cannot keep it) when the block ends."""
    directory.mkdir(parents=True, exist_ok=True)
    if SQLITE:
        path = directory / f"{stem}.sqlite3"
        if path.exists():
            raise FileExistsError(f"{path} already exists: fresh_database needs a new directory or stem")
        yield Database(f"sqlite+aiosqlite:///{path}", str(path), directory)
        return
    name = f"mg_{secrets.token_hex(6)}"
    with _admin_connection() as admin:
        admin.execute(f'CREATE DATABASE "{name}" TEMPLATE template0 ENCODING \'UTF8\'')
    try:
        yield Database(_async_url(name), name, directory)
    finally:
        with _admin_connection() as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
