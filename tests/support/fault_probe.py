"""A probe of a served database under a fault: a read, a detail, a login and a write (and an
anonymous read), each timed, and what came back, reduced to what the fault tests assert on."""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import partial

import httpx

from support.environment import PASSWORD
from support.queries import DASHBOARD, LOGIN

MINE_VERSION = "query Mine($id: ID!) { mine(id: $id) { id version location { wgs84 { lat lng } } } }"


def probe(base: str, token: str, owner_token: str, mine_id: int, keep_alive: httpx.Client | None = None) -> dict:
    """A read, a detail, a login and a write (and an anonymous read), each timed, on fresh connections
    (and the dashboard again on a kept-alive one); what came back."""
    requests = {
        "dashboard": ({"query": DASHBOARD}, token),
        "mine": ({"query": MINE_VERSION, "variables": {"id": str(mine_id)}}, token),
        "login": ({"query": LOGIN, "variables": {"u": "000000-002", "p": PASSWORD}}, None),
        "write": ({"query": """mutation W($id: ID!) { updateMineLocation(mineId: $id, lat: 30.5, lng: 104.5,
                   datum: WGS84) { version } }""", "variables": {"id": str(mine_id)}}, owner_token),
        "anonymous": ({"query": DASHBOARD}, None),
    }
    out = {}
    for name, (payload, bearer) in requests.items():
        headers = {"Authorization": f"Bearer {bearer}"} if bearer else {}
        out[name] = _timed(partial(_post_fresh, base, payload, headers))
    if keep_alive is not None:
        for attempt in ("kept-alive 1", "kept-alive 2"):
            out[attempt] = _timed(partial(keep_alive.post, "/graphql", json={"query": DASHBOARD},
                                          headers={"Authorization": f"Bearer {token}"}))
    return out


def _post_fresh(base: str, payload: dict, headers: dict) -> httpx.Response:
    with httpx.Client(base_url=base, timeout=60, trust_env=False) as client:
        return client.post("/graphql", json=payload, headers=headers)


def _timed(send: Callable[[], httpx.Response]) -> dict:
    """What `send` got back and how long it took (a failed connection is an answer too)."""
    started = time.monotonic()
    try:
        response = send()
    except httpx.HTTPError as error:
        return {"status": None, "error": f"{type(error).__name__}: {error}", "seconds": time.monotonic() - started}
    return _answer(response, time.monotonic() - started)


def _answer(response: httpx.Response, seconds: float) -> dict:
    try:
        body = response.json()
    except ValueError:
        body = None
    errors = (body or {}).get("errors") if isinstance(body, dict) else None
    return {
        "status": response.status_code, "seconds": round(seconds, 3),
        "content_type": response.headers.get("content-type", ""),
        "json": body is not None,
        "codes": [(e.get("extensions") or {}).get("code") for e in errors or ()],
        "messages": [e.get("message") for e in errors or ()],
        "request_ids": [(e.get("extensions") or {}).get("requestId") for e in errors or ()],
        "data": (body or {}).get("data") if isinstance(body, dict) else None,
        "text": response.text[:200] if body is None else "",
    }


def succeeded(answer: dict) -> bool:
    """HTTP 200 without a GraphQL error."""
    return answer["status"] == 200 and not answer["codes"]
