"""Running an ASGI app under uvicorn, with one or several worker processes.

`uvicorn.run` would do, but for how it binds the listening socket for several workers:
`Config.bind_socket` leaves the socket's protocol at 0, accepted connections inherit it, and
asyncio switches Nagle's algorithm off (TCP_NODELAY) only on sockets that say IPPROTO_TCP. With
Nagle on, a response written in two pieces (headers, then body) waits for the client's delayed
ACK, so every keep-alive request after the first took ~44 ms instead of 0.3 ms on this machine
(uvicorn issue #3149). One worker is not affected: asyncio binds that socket itself.

`python -m serving bench.hello_app:create_app --port 8000 --workers 2` runs any app factory
this way (the benchmark starts its contenders so).
"""

from __future__ import annotations

import argparse
import socket
import sys

import uvicorn
from uvicorn.config import STARTUP_FAILURE
from uvicorn.supervisors import Multiprocess

TCP_FAMILIES = (socket.AF_INET, socket.AF_INET6)
# Room above the body limit for the rest of the request line and the headers (h11's default
# for all of it is 16 KiB).
HEADERS_HEADROOM = 64 * 1024


def parser_limit() -> int:
    """The most bytes h11 buffers for a request line with its headers. Its default (16 KiB) made
    a long GET a plain-text 400 from uvicorn before the app saw it; with the body limit plus
    headroom, a GET as long as a POST may be is served, and a longer one reaches the app's
    TargetLimit (414 with a code)."""
    from settings import get_settings

    return get_settings().max_body_bytes + HEADERS_HEADROOM


class TcpConfig(uvicorn.Config):
    """uvicorn's Config whose pre-bound listening socket declares itself TCP."""

    def bind_socket(self) -> socket.socket:
        sock = super().bind_socket()
        if sock.family in TCP_FAMILIES and sock.proto != socket.IPPROTO_TCP:
            # Same descriptor, same bound address; only the Python object's protocol changes,
            # which is what asyncio reads (and what a worker process's copy inherits).
            sock = socket.socket(sock.family, sock.type, socket.IPPROTO_TCP, fileno=sock.detach())
        return sock


def run(target: str, **options) -> None:
    """`uvicorn.run(target, **options)` with TcpConfig (no reload: that is a development tool)
    and the parser's limit raised to the body limit (parser_limit)."""
    options.setdefault("h11_max_incomplete_event_size", parser_limit())
    config = TcpConfig(target, **options)
    if config.workers > 1:
        Multiprocess(config, sockets=[config.bind_socket()]).run()
        return
    server = uvicorn.Server(config)
    server.run()
    if not server.started:
        sys.exit(STARTUP_FAILURE)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m serving", description=__doc__.splitlines()[0])
    parser.add_argument("factory", help="module:function returning the ASGI app")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--log-level", default="warning")
    args = parser.parse_args(argv)
    run(args.factory, factory=True, host=args.host, port=args.port, workers=args.workers, log_level=args.log_level)


if __name__ == "__main__":
    main()
