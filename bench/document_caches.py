"""Why execution/documents.py validates by text and off the event loop rather than with Strawberry's
ValidationCache (docs/decisions.md, "One response cache"): per request, finding a document's
validation again; and what a first validation costs on the loop.

    PYTHONPATH=. .venv/bin/python -m bench.document_caches
"""

from __future__ import annotations

import time
import timeit

from strawberry.extensions.validation_cache import _get_validate_cache
from strawberry.schema.schema import validate_document

from bench.fan_out import fan_out
from bench.workloads import DASHBOARD, DRILL_DOWN
from execution.document_limits import document_limits
from execution.documents import parsed
from schema.build import build_schema
from settings import Settings

N = 20_000


def main() -> None:
    settings = Settings(database_url="sqlite+aiosqlite:///:memory:", secret_key="bench")
    schema = build_schema(settings)._schema
    rules = (document_limits(settings.max_query_depth, settings.max_query_aliases, settings.max_query_fields),)
    strawberrys = _get_validate_cache(512)  # what ValidationCache(maxsize=512) calls
    for name, text in (("dashboard", DASHBOARD), ("drill-down", DRILL_DOWN)):
        document = parsed(text, settings.max_query_tokens)
        strawberrys(schema, document, rules)
        ours = {(schema, text, rules): []}
        by_document = min(timeit.repeat(lambda: strawberrys(schema, document, rules), number=N, repeat=5)) / N
        by_text = min(timeit.repeat(lambda: ours.get((schema, text, rules)), number=N, repeat=5)) / N
        first = min(timeit.repeat(lambda: validate_document(schema, document, rules), number=100, repeat=3)) / 100
        print(f"{name:10s} {len(text):5d} chars: found again by document {by_document * 1e6:6.1f} us, "
              f"by text {by_text * 1e6:4.2f} us; a first validation {first * 1e3:5.2f} ms")
    widest = "query { " + " ".join(f"a{i}: options {{ scales {{ value }} }}" for i in range(300)) + " }"
    for name, text in (("fan-out 30", fan_out(30)), ("300 aliases", widest)):
        document = parsed(text, settings.max_query_tokens)
        started = time.perf_counter()
        validate_document(schema, document, rules)
        print(f"{name:10s} {len(text):5d} chars: a first validation {(time.perf_counter() - started) * 1e3:5.1f} ms "
              "(on the event loop, with ValidationCache)")


if __name__ == "__main__":
    main()
