"""The contenders: how each one is started, asked for a workload, and read back."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from bench.common import PASSWORD, PYTHON, ROOT, SECRET_KEY, Server, base_env, free_port
from bench.workloads import (
    DASHBOARD, DRILL_DOWN, FILTER, HELLO, LIST_DEPTH, LIST_FIRST, LOGIN, MINES, NATIONAL_USER, PG_DASHBOARD,
    PG_DRILL_DOWN, PG_FILTER, PG_MINES, SET_GUARANTOR, canonical, canonical_postgraphile,
)

ALL = ("dashboard", "drilldown", "drilldown_filtered", "list_1", "list_5000", "login")
PAGE = 100  # rows per request while paging to the depth-5,000 cursor


@dataclass
class Req:
    path: str
    body: dict
    headers: dict[str, str] = field(default_factory=dict)


class Contender:
    name = ""
    family = ""  # minegraph | floor | naive | postgraphile | hello
    db = ""  # sqlite | postgres
    workloads: tuple[str, ...] = ()
    sequential_only = False  # too slow for closed/open-loop load: sequential requests only

    def __init__(self, db_url: str, workers: int = 1) -> None:
        self.db_url = db_url
        self.workers = workers
        self.token: str | None = None
        self.cursor_5000: str | None = None

    # -- process
    def server(self, log_dir: Path) -> Server:
        raise NotImplementedError

    def _uvicorn(self, target: str, log_dir: Path, **env: str) -> Server:
        port = free_port()
        # web/serving.py, as `minegraph serve` does: plain uvicorn with --workers > 1 leaves Nagle on.
        argv = [PYTHON, "-m", "web.serving", target, "--host", "127.0.0.1", "--port", str(port),
                "--workers", str(self.workers), "--log-level", "warning"]
        return Server(self.name, argv, base_env(**env), port, "/healthz", log_dir / f"{self.name}.log")

    # -- requests
    def request(self, workload: str, *, first: int = LIST_FIRST, after: str | None = None) -> Req:
        raise NotImplementedError

    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    def canonical(self, workload: str, body: dict) -> object:
        return canonical(workload, body)

    def end_cursor(self, body: dict) -> str:
        return body["data"]["mines"]["pageInfo"]["endCursor"]

    def prepare(self, client: httpx.Client, base: str) -> None:
        """Log in (where there is a login) and page once to the depth-5,000 cursor."""
        if "list_5000" in self.workloads:
            after = None
            for _ in range(LIST_DEPTH // PAGE):
                req = self.request("list_5000", first=PAGE, after=after)
                body = client.post(base + req.path, json=req.body, headers=req.headers).json()
                after = self.end_cursor(body)
            self.cursor_5000 = after


class Minegraph(Contender):
    family = "minegraph"
    workloads = ALL

    def __init__(self, db_url: str, db: str, workers: int = 1) -> None:
        super().__init__(db_url, workers)
        self.db = db
        self.name = f"minegraph-{db}"
        self.write_mine_id: str | None = None
        self.writer_token: str | None = None

    # The service's settings for the benchmark; everything else stays at its default (development
    # mode: production accepts only persisted operations). All load comes from 127.0.0.1, so the
    # per-address login throttle is lifted, or the login workload would measure RATE_LIMITED answers.
    SETTINGS = {"SECRET_KEY": SECRET_KEY, "LOG_LEVEL": "WARNING", "THROTTLE_LOGIN_PER_MINUTE": "1000000",
                "THROTTLE_LOGIN_BURST": "1000000"}

    def settings_env(self) -> dict[str, str]:
        return {"DATABASE_URL": self.db_url, **self.SETTINGS}

    def server(self, log_dir: Path) -> Server:
        port = free_port()
        env = base_env(**self.settings_env(), HOST="127.0.0.1", PORT=str(port))
        argv = [PYTHON, "-m", "cli", "serve", "--host", "127.0.0.1", "--port", str(port),
                "--workers", str(self.workers)]
        return Server(self.name, argv, env, port, "/healthz", log_dir / f"{self.name}.log")

    def request(self, workload: str, *, first: int = LIST_FIRST, after: str | None = None) -> Req:
        if workload == "dashboard":
            return Req("/graphql", {"query": DASHBOARD}, self.auth())
        if workload == "drilldown":
            return Req("/graphql", {"query": DRILL_DOWN, "variables": {}}, self.auth())
        if workload == "drilldown_filtered":
            return Req("/graphql", {"query": DRILL_DOWN, "variables": {"filter": FILTER}}, self.auth())
        if workload == "list_1":
            return Req("/graphql", {"query": MINES, "variables": {"first": first}}, self.auth())
        if workload == "list_5000":
            return Req("/graphql", {"query": MINES, "variables": {"first": first, "after": after or self.cursor_5000}},
                       self.auth())
        if workload == "login":
            return Req("/graphql", {"query": LOGIN, "variables": {"u": NATIONAL_USER, "p": PASSWORD}})
        raise KeyError(workload)

    def login(self, client: httpx.Client, base: str, username: str) -> str:
        body = client.post(base + "/graphql", json={"query": LOGIN, "variables": {"u": username, "p": PASSWORD}}).json()
        if body.get("errors"):
            raise RuntimeError(f"login {username} failed: {body['errors']}")
        return body["data"]["login"]["token"]

    def prepare(self, client: httpx.Client, base: str) -> None:
        self.token = self.login(client, base, NATIONAL_USER)
        # The write between drill-downs: a county guarantor of the first mine, by its county's -001 account.
        body = client.post(base + "/graphql", headers=self.auth(),
                           json={"query": "{ mines(first: 1) { edges { node { id region { code } } } } }"}).json()
        node = body["data"]["mines"]["edges"][0]["node"]
        self.write_mine_id = node["id"]
        self.writer_token = self.login(client, base, f"{node['region']['code']}-001")
        super().prepare(client, base)

    def write(self, i: int) -> Req:
        """A write that changes no count (a county guarantor's name), as the mobile flow does."""
        return Req("/graphql", {"query": SET_GUARANTOR,
                                "variables": {"id": self.write_mine_id, "name": ("李建国", "王建华")[i % 2]}},
                   {"Authorization": f"Bearer {self.writer_token}"})


class Floor(Contender):
    family = "floor"
    workloads = ALL

    def __init__(self, db_url: str, db: str, workers: int = 1) -> None:
        super().__init__(db_url, workers)
        self.db = db
        self.name = f"floor-{db}"

    def server(self, log_dir: Path) -> Server:
        return self._uvicorn("bench.floor_app:create_app", log_dir, DATABASE_URL=self.db_url)

    def request(self, workload: str, *, first: int = LIST_FIRST, after: str | None = None) -> Req:
        if workload == "dashboard":
            return Req("/dashboard", {})
        if workload == "drilldown":
            return Req("/drilldown", {})
        if workload == "drilldown_filtered":
            return Req("/drilldown", {"filter": FILTER})
        if workload == "list_1":
            return Req("/mines", {"first": first})
        if workload == "list_5000":
            return Req("/mines", {"first": first, "after": after or self.cursor_5000})
        if workload == "login":
            return Req("/login", {"username": NATIONAL_USER, "password": PASSWORD})
        raise KeyError(workload)


class Naive(Contender):
    family = "naive"
    workloads = ("drilldown", "drilldown_filtered")
    sequential_only = True

    def __init__(self, db_url: str, db: str, workers: int = 1) -> None:
        super().__init__(db_url, workers)
        self.db = db
        self.name = f"naive-{db}"

    def server(self, log_dir: Path) -> Server:
        return self._uvicorn("bench.naive_app:create_app", log_dir, DATABASE_URL=self.db_url)

    def request(self, workload: str, *, first: int = LIST_FIRST, after: str | None = None) -> Req:
        if workload == "drilldown":
            return Req("/graphql", {"query": DRILL_DOWN, "variables": {}})
        if workload == "drilldown_filtered":
            return Req("/graphql", {"query": DRILL_DOWN, "variables": {"filter": FILTER}})
        raise KeyError(workload)


class Hello(Contender):
    family = "hello"
    db = "-"
    name = "hello"
    workloads = ("hello",)

    def server(self, log_dir: Path) -> Server:
        return self._uvicorn("bench.hello_app:create_app", log_dir)

    def request(self, workload: str, **_kw) -> Req:
        return Req("/graphql", {"query": HELLO})

    def canonical(self, workload: str, body: dict) -> object:
        return body["data"]


class PostGraphile(Contender):
    family = "postgraphile"
    db = "postgres"
    name = "postgraphile"
    workloads = ("dashboard", "drilldown", "drilldown_filtered", "list_1", "list_5000")

    def __init__(self, db_url: str, node_dir: Path, workers: int = 1) -> None:
        super().__init__(db_url, workers)
        self.node_dir = node_dir

    def server(self, log_dir: Path, *, debug_sql: bool = False) -> Server:
        port = free_port()
        argv = [str(self.node_dir / "node_modules" / ".bin" / "postgraphile"), "-c", self.db_url,
                "--append-plugins", "@graphile/pg-aggregates", "-p", str(port), "-n", "127.0.0.1",
                "--disable-query-log", "--disable-graphiql"]
        env = base_env(NODE_ENV="production")
        name = self.name + ("-sqlcount" if debug_sql else "")
        if debug_sql:
            env["DEBUG"] = "postgraphile:postgres"  # one log entry per SQL statement sent
        return Server(name, argv, env, port, "/graphql", log_dir / f"{name}.log", cwd=self.node_dir)

    def request(self, workload: str, *, first: int = LIST_FIRST, after: str | None = None) -> Req:
        if workload == "dashboard":
            return Req("/graphql", {"query": PG_DASHBOARD})
        if workload == "drilldown":
            return Req("/graphql", {"query": PG_DRILL_DOWN, "variables": {}})
        if workload == "drilldown_filtered":
            return Req("/graphql", {"query": PG_DRILL_DOWN, "variables": {"c": PG_FILTER}})
        if workload == "list_1":
            return Req("/graphql", {"query": PG_MINES, "variables": {"first": first}})
        if workload == "list_5000":
            return Req("/graphql", {"query": PG_MINES, "variables": {"first": first, "after": after or self.cursor_5000}})
        raise KeyError(workload)

    def canonical(self, workload: str, body: dict) -> object:
        return canonical_postgraphile(workload, body)

    def end_cursor(self, body: dict) -> str:
        return body["data"]["allMines"]["pageInfo"]["endCursor"]

    def versions(self) -> dict[str, str]:
        out = {}
        for package in ("postgraphile", "@graphile/pg-aggregates"):
            path = self.node_dir / "node_modules" / package / "package.json"
            try:
                out[package] = json.loads(path.read_text())["version"]
            except (OSError, ValueError, KeyError):
                out[package] = "?"
        return out
