"""A stand-in for WeChat's jscode2session, served over real HTTP on loopback.

Not a mock object: the code under test opens a socket, sends its query string
and parses whatever bytes come back, as it would against api.weixin.qq.com.
Behaviour copied from the real endpoint:

- GET /sns/jscode2session?appid=&secret=&js_code=&grant_type=authorization_code
- the body is JSON but labelled `text/plain` (as WeChat does);
- a wrong appid answers errcode 40013, a wrong secret 40125;
- a code is good for one exchange: the second one answers 40163;
- an unknown code answers 40029.

Special codes for the error paths: `err-<N>` answers errcode N (`err-minus1`
answers -1), `raw-html` answers an HTML page, `http-<NNN>` answers that HTTP
status. `with fake.hanging():` makes every request wait, unanswered, until the
block ends (for timeouts). `fake.requests` records each received query.

Exposed as the session-scoped pytest fixture `fake_wechat` (register this
module with `pytest_plugins = ["support.fake_wechat"]`).
"""

from __future__ import annotations

import json
import secrets
import threading
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlsplit

import pytest

if TYPE_CHECKING:
    from collections.abc import Iterator

PATH = "/sns/jscode2session"
HANG_LIMIT_S = 30.0  # a hung request never outlives this, even if a test forgets to release it


class FakeWeChat:
    def __init__(self, appid: str = "wx-fake-appid", secret: str = "fake-app-secret") -> None:
        self.appid, self.secret = appid, secret
        self.requests: list[dict[str, str]] = []
        self.issued_session_keys: list[str] = []  # for asserting they never leak
        self._codes: dict[str, str] = {}  # code -> openid, until used
        self._used: set[str] = set()
        self._lock = threading.Lock()
        self._release = threading.Event()
        self._release.set()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        self._server.fake = self  # type: ignore[attr-defined]
        self._thread = threading.Thread(target=self._server.serve_forever, name="fake-wechat", daemon=True)

    # ------------------------------------------------------------------ test API

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def settings_overrides(self) -> dict[str, str]:
        """Settings fields that point the service at this server."""
        return {"wechat_api_base": self.base_url, "wechat_appid": self.appid, "wechat_secret": self.secret}

    def add_code(self, code: str, openid: str) -> None:
        """Make `code` exchangeable, once, for `openid`."""
        with self._lock:
            self._codes[code] = openid
            self._used.discard(code)

    def new_code(self, openid: str) -> str:
        """A fresh one-time code for `openid`, as wx.login() would produce."""
        code = "0" + secrets.token_hex(15)
        self.add_code(code, openid)
        return code

    def requests_for(self, code: str) -> list[dict[str, str]]:
        with self._lock:
            return [r for r in self.requests if r.get("js_code") == code]

    @contextmanager
    def hanging(self) -> Iterator[None]:
        """Requests received inside the block get no answer; the connection drops when it ends."""
        self._release.clear()
        try:
            yield
        finally:
            self._release.set()

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> FakeWeChat:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._release.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    # ------------------------------------------------------------------ behaviour

    def answer(self, query: dict[str, str]) -> tuple[int, str, str]:
        """(HTTP status, content type, body) for one jscode2session query."""
        code = query.get("js_code", "")
        if code == "raw-html":
            return 200, "text/html", "<html><body>502 Bad Gateway</body></html>"
        if code.startswith("http-") and code[5:].isdigit():
            return int(code[5:]), "text/plain", "upstream failure"
        if query.get("appid") != self.appid:
            return _error(40013, "invalid appid")
        if query.get("secret") != self.secret:
            return _error(40125, "invalid appsecret")
        if query.get("grant_type") != "authorization_code":
            return _error(40002, "invalid grant_type")
        if code.startswith("err-"):
            number = code[4:].split("-", 1)[0]
            return _error(-1 if number == "minus1" else int(number), "fake error")
        with self._lock:
            if code in self._used:
                return _error(40163, "code been used")
            openid = self._codes.pop(code, None)
            if openid is None:
                return _error(40029, "invalid code")
            self._used.add(code)
            session_key = secrets.token_urlsafe(18)
            self.issued_session_keys.append(session_key)
        return 200, "text/plain", json.dumps({"session_key": session_key, "openid": openid})

    def record(self, query: dict[str, str]) -> None:
        with self._lock:
            self.requests.append(query)

    def wait_released(self) -> bool:
        """Block while hanging; False when the request should be dropped unanswered."""
        if self._release.is_set():
            return True
        self._release.wait(HANG_LIMIT_S)
        return False


def _error(errcode: int, errmsg: str) -> tuple[int, str, str]:
    body = {"errcode": errcode, "errmsg": f"{errmsg}, rid: {secrets.token_hex(4)}"}
    return 200, "text/plain", json.dumps(body)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        fake: FakeWeChat = self.server.fake  # type: ignore[attr-defined]
        parts = urlsplit(self.path)
        if parts.path != PATH:
            self._send(404, "text/plain", "not found")
            return
        query = {key: values[-1] for key, values in parse_qs(parts.query, keep_blank_values=True).items()}
        fake.record(query)
        if not fake.wait_released():
            self.close_connection = True
            return
        self._send(*fake.answer(query))

    def _send(self, status: int, content_type: str, body: str) -> None:
        data = body.encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", f"{content_type}; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up first

    def log_message(self, format: str, *args) -> None:  # noqa: A002
        pass  # keep test output quiet


@pytest.fixture(scope="session")
def fake_wechat() -> Iterator[FakeWeChat]:
    """A running fake jscode2session server, shared by the whole session."""
    fake = FakeWeChat().start()
    try:
        yield fake
    finally:
        fake.stop()
