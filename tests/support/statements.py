"""The SQL statements a request sends, as the driver receives them, and documents that miss the cache."""

from __future__ import annotations

import re

from sqlalchemy import event


class StatementCounter:
    """Every statement sent through the given (sync) engines; `of(app)`: all the app's.
    `executed` keeps each with its parameters, as the driver received them."""

    def __init__(self, *engines):
        self.engines, self.executed = engines, []

    @classmethod
    def of(cls, app) -> StatementCounter:
        """Through the app's engine or its point reader (models/point_reader.py)."""
        reader = app.state.point_reader
        return cls(app.state.engine.sync_engine, *([reader.sync_engine] if reader is not None else []))

    def _record(self, _conn, _cursor, statement, parameters, *_args):
        self.executed.append((statement, parameters))

    def __enter__(self):
        for engine in self.engines:
            event.listen(engine, "before_cursor_execute", self._record)
        return self

    def __exit__(self, *exc):
        for engine in self.engines:
            event.remove(engine, "before_cursor_execute", self._record)

    @property
    def statements(self) -> list[str]:
        return [statement for statement, _ in self.executed]

    @property
    def stats_statements(self) -> list[str]:
        return [s for s in self.statements if "FROM mine" in s]


def uncached_document(query: str, name: str) -> str:
    """The document under an operation name no other test sends: a response-cache miss,
    whatever ran before (a cached answer costs no counting statement at all)."""
    return re.sub(r"query \w+", f"query {name}", query, count=1)
