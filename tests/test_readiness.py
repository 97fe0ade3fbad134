"""Liveness and readiness probes, and how long an unreachable database may hold a request."""

from __future__ import annotations

import socket
import threading
import time

from models.db import database_ready, make_engine


async def test_liveness_and_readiness_answer_while_the_database_does(client):
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200 and ready.json() == {"status": "ready"}


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
