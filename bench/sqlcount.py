"""SQL statements per request, counted in-process.

The app (minegraph, the floor or the N+1 baseline) is imported into this process, its
lifespan started, and a SQLAlchemy `before_cursor_execute` counter attached to
`app.state.engine`; requests go through httpx.ASGITransport. For each workload: the first
request (cold), the same request repeated, and for the drill-down the first request after a
write, with the time spent inside the database driver against the whole request (that split
is the reason given when a drill-down target fails).

Run as a subprocess by the harness:  python -m bench.sqlcount FAMILY DB DATABASE_URL
and prints one JSON object.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import sys
import time

import httpx
from sqlalchemy import event

from bench.common import PASSWORD
from bench.contenders import PAGE, Floor, Minegraph, Naive, Req
from bench.workloads import LIST_DEPTH, LOGIN, count_fields


class Counter:
    def __init__(self, engine) -> None:
        self.count = 0
        self.sql_s = 0.0
        self._started: list[float] = []
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)

    def _before(self, *_args) -> None:
        self.count += 1
        self._started.append(time.perf_counter())

    def _after(self, *_args) -> None:
        if self._started:
            self.sql_s += time.perf_counter() - self._started.pop()

    def reset(self) -> None:
        self.count, self.sql_s = 0, 0.0


async def main(family: str, db: str, url: str) -> dict:
    if family == "minegraph":
        from web.app import create_app
        from settings import Settings

        contender = Minegraph(url, db)
        os.environ.update(contender.settings_env())
        app = create_app(Settings())
    else:
        os.environ["DATABASE_URL"] = url
        if family == "floor":
            from bench.floor_app import create_app
            contender = Floor(url, db)
        else:
            from bench.naive_app import create_app
            contender = Naive(url, db)
        app = create_app()

    out: dict = {"family": family, "db": db, "workloads": {}}
    async with app.router.lifespan_context(app):
        engine = getattr(app.state, "engine", None)
        if engine is None:
            return {"error": "app.state.engine not found: statements cannot be counted"}
        counter = Counter(engine.sync_engine)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench", timeout=600) as client:

            async def send(req: Req) -> tuple[dict, int, float, float]:
                counter.reset()
                t0 = time.perf_counter()
                response = await client.post(req.path, json=req.body, headers=req.headers)
                total_s = time.perf_counter() - t0
                try:
                    body = response.json()
                except ValueError:
                    body = {"errors": [{"message": response.text[:200]}]}
                return body, counter.count, counter.sql_s * 1000, total_s * 1000

            if family == "minegraph":
                body, n, _, _ = await send(contender.request("login"))
                out["workloads"]["login"] = {"first": n}
                contender.token = body["data"]["login"]["token"]
                body, *_ = await send(Req("/graphql", {"query": "{ mines(first: 1) { edges { node { id region { code } } } } }"},
                                          contender.auth()))
                node = body["data"]["mines"]["edges"][0]["node"]
                contender.write_mine_id = node["id"]
                body, *_ = await send(Req("/graphql", {"query": LOGIN, "variables": {
                    "u": f"{node['region']['code']}-001", "p": PASSWORD}}))
                contender.writer_token = body["data"]["login"]["token"]
                body, n, _, _ = await send(contender.request("login"))
                out["workloads"]["login"]["repeated"] = n
            if "list_5000" in contender.workloads:
                after = None
                for _ in range(LIST_DEPTH // PAGE):
                    body, *_ = await send(contender.request("list_5000", first=PAGE, after=after))
                    after = contender.end_cursor(body)
                contender.cursor_5000 = after
            for workload in contender.workloads:
                if workload == "login":
                    if family != "minegraph":
                        _b, n1, *_ = await send(contender.request("login"))
                        _b, n2, *_ = await send(contender.request("login"))
                        out["workloads"]["login"] = {"first": n1, "repeated": n2}
                    continue
                req = contender.request(workload)
                body, n1, sql1, total1 = await send(req)
                entry = {"first": n1, "first_sql_ms": round(sql1, 1), "first_total_ms": round(total1, 1),
                         "fields": count_fields(body.get("data"))}
                if body.get("errors"):
                    entry["error"] = json.dumps(body["errors"], ensure_ascii=False)[:300]
                if family != "naive":  # the N+1 baseline is measured once: ~3,200 statements
                    _b, n2, sql2, total2 = await send(req)
                    entry.update(repeated=n2, repeated_sql_ms=round(sql2, 1), repeated_total_ms=round(total2, 1))
                out["workloads"][workload] = entry
            if family == "minegraph":
                # First drill-down after a write, three times: statements and where the time goes.
                samples = []
                for i in range(3):
                    wbody, nw, *_ = await send(contender.write(i))
                    if wbody.get("errors"):
                        out["write_error"] = json.dumps(wbody["errors"], ensure_ascii=False)[:300]
                    _b, n, sql_ms, total_ms = await send(contender.request("drilldown"))
                    samples.append((n, sql_ms, total_ms, nw))
                out["workloads"]["drilldown"].update(
                    after_write=samples[-1][0], write_statements=samples[-1][3],
                    after_write_sql_ms=round(statistics.median(s[1] for s in samples), 1),
                    after_write_total_ms=round(statistics.median(s[2] for s in samples), 1),
                )
    return out


if __name__ == "__main__":
    family, db, url = sys.argv[1:4]
    try:
        result = asyncio.run(main(family, db, url))
    except Exception as error:  # noqa: BLE001 - reported in the results instead
        result = {"error": f"{type(error).__name__}: {error}"[:500]}
    print("SQLCOUNT " + json.dumps(result, ensure_ascii=False))
