"""`minegraph serve`: the listening socket it binds for several workers, and those workers serving.

With `--workers N`, uvicorn binds the listener itself and, as of uvicorn 0.54, leaves Nagle's
algorithm on for every connection (web/serving.py says why): each keep-alive request after the
first then waits ~40 ms for the client's delayed ACK. serving.TcpConfig binds it so that asyncio
turns TCP_NODELAY on; these tests read the option on connections accepted through it.
"""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import httpx

from support import servers
from support.environment import PASSWORD
from support.queries import LOGIN, ME
from web.serving import TcpConfig


async def _nodelay_of_an_accepted_connection(listener: socket.socket) -> int:
    loop = asyncio.get_running_loop()
    seen: asyncio.Future[int] = loop.create_future()

    class Probe(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            sock = transport.get_extra_info("socket")
            seen.set_result(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            transport.close()

    server = await loop.create_server(Probe, sock=listener)
    _reader, writer = await asyncio.open_connection(*listener.getsockname()[:2])
    try:
        return await asyncio.wait_for(seen, 10)
    finally:
        writer.close()
        server.close()
        await server.wait_closed()


async def test_the_listener_bound_for_several_workers_turns_nagle_off_on_every_connection():
    config = TcpConfig("web.app:create_app", factory=True, host="127.0.0.1", port=servers.free_port(), workers=2)
    listener = config.bind_socket()
    assert listener.proto == socket.IPPROTO_TCP
    assert listener.getsockname()[1] == config.port  # the same bound socket, only relabelled
    assert await _nodelay_of_an_accepted_connection(listener) != 0


def _children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def test_serve_with_two_workers_answers_on_keep_alive_connections(tmp_path):
    from support.sqldb import fresh_database

    with fresh_database(tmp_path) as database:
        servers.seed(database, 200)
        with servers.serving(database, tmp_path / "serve.log", workers=2) as running:
            # The supervisor and its two workers (uvicorn spawns them: their parent is the supervisor).
            children = {p: Path(f"/proc/{p}/cmdline").read_bytes().replace(b"\0", b" ") for p in _children(running.pid)}
            workers = [p for p, argv in children.items() if b"spawn_main" in argv and b"resource_tracker" not in argv]
            assert len(workers) == 2, children
            with httpx.Client(base_url=running.base, timeout=60, trust_env=False) as client:
                login = client.post("/graphql", json={"query": LOGIN, "variables": {"u": "000000-001", "p": PASSWORD}})
                token = login.json()["data"]["login"]["token"]
                for _ in range(5):  # several requests on one keep-alive connection, whichever worker has it
                    me = client.post("/graphql", json={"query": ME}, headers={"Authorization": f"Bearer {token}"})
                    assert me.status_code == 200 and me.json()["data"]["me"]["username"] == "000000-001"
