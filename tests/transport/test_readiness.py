"""Liveness and readiness probes, what start-up prepares, and how long an unreachable
database may hold a request."""

from __future__ import annotations

import socket
import threading
import time

import httpx

from support import servers
from web.app import create_app
from models import boundaries
from models.db import database_ready, make_engine
from support.queries import MINES_NEAR


async def test_liveness_and_readiness_answer_while_the_database_does(client):
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200 and ready.json() == {"status": "ready"}


async def test_the_county_polygons_are_built_at_start_up_not_by_the_first_request(env, callers, monkeypatch):
    """Built by the first minesNear or location write, they would stall the event loop (every
    request) for the build; the app builds them while starting, in a thread."""
    monkeypatch.setattr(boundaries, "_loaded", None)  # as in a new process
    app = create_app(env.settings)
    async with app.router.lifespan_context(app), httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://minegraph.test"
    ) as client:
        assert boundaries._loaded is not None

        def build_again():
            raise AssertionError("the county polygons were built by a request")

        monkeypatch.setattr(boundaries, "_build", build_again)
        response = await client.post("/graphql", headers={"Authorization": f"Bearer {callers['NATIONAL'].token}"},
                                     json={"query": MINES_NEAR, "variables": {
                                         "lat": 25.04, "lng": 102.71, "datum": "WGS84", "r": 50, "first": 5}})
        assert response.status_code == 200 and "errors" not in response.json(), response.text[:300]


async def test_a_silent_database_host_is_given_up_on_after_the_connect_timeout():
    """A host that takes the TCP connection and never answers (as a dropped route does, in
    effect): the engine stops waiting after its connect timeout, not asyncpg's 60 s."""
    listener = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept_and_say_nothing() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept_and_say_nothing, daemon=True)
    thread.start()
    engine = make_engine(f"postgresql+asyncpg://minegraph@127.0.0.1:{listener.getsockname()[1]}/x",
                         connect_timeout_s=1.0)
    try:
        started = time.monotonic()
        assert await database_ready(engine, timeout_s=30) is False
        assert time.monotonic() - started < 10
        assert held, "the probe never reached the silent host"
    finally:
        await engine.dispose()
        stop.set()
        thread.join()
        for conn in held:
            conn.close()
        listener.close()


def test_an_idle_kept_alive_connection_is_still_served(new_database, tmp_path):
    """A client reusing its connection after 6 idle seconds (uvicorn's own default closes at 5,
    which races with clients and balancers that reuse connections for as long: the soak lost a
    request that way) gets its answer on the same connection."""
    database = new_database()
    servers.seed(database, 20)
    with servers.serving(database, tmp_path / "serve.log") as server:
        port = int(server.base.rsplit(":", 1)[1])
        request = f"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode()
        with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
            for pause in (0, 6):
                time.sleep(pause)
                conn.sendall(request)
                assert _response(conn).startswith(b"HTTP/1.1 200"), f"no answer after {pause} s idle"


def _response(conn: socket.socket) -> bytes:
    """One whole HTTP/1.1 response (headers and its Content-Length of body); b"" if closed."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(4096)
        if not chunk:
            return data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length"))
    while len(body) < length:
        body += conn.recv(4096)
    return data
