"""How the fuzz talks to the service: JSON bodies with hostile number tokens, answers kept whole.

Every request goes through `send`, which also keeps the run's figures (FIGURES, FAILURES) that
fuzz_stage writes to PROPERTY_REPORT.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass

import httpx

FIGURES: Counter = Counter()
FAILURES: list[dict] = []


def count(kind: str) -> None:
    FIGURES[f"cases {kind}"] += 1
    FIGURES["cases"] += 1


# --------------------------------------------------------------------------- raw JSON with hostile number tokens


@dataclass(frozen=True)
class Raw:
    """A JSON value written verbatim into the body: NaN, Infinity, 1e999, a 5,000-digit integer ..."""

    token: str


def encode(payload) -> bytes:
    """JSON as a client could send it: lone surrogates as \\uD800 escapes, Raw tokens verbatim."""
    raws: list[str] = []

    def swap(value):
        if isinstance(value, Raw):
            raws.append(value.token)
            return f"@@raw{len(raws) - 1}@@"
        if isinstance(value, dict):
            return {k: swap(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [swap(v) for v in value]
        return value

    text = json.dumps(swap(payload), ensure_ascii=True, allow_nan=True)
    for i, token in enumerate(raws):
        text = text.replace(f'"@@raw{i}@@"', token, 1)
    return text.encode("ascii")


@dataclass
class Answer:
    status: int
    body: object
    text: str

    @property
    def errors(self) -> list[dict]:
        return (self.body.get("errors") if isinstance(self.body, dict) else None) or []

    @property
    def codes(self) -> list:
        return [(e.get("extensions") or {}).get("code") for e in self.errors]

    @property
    def data(self):
        return self.body.get("data") if isinstance(self.body, dict) else None


async def send(client: httpx.AsyncClient, body: bytes, *, token: str | None = None,
               authorization: bytes | str | None = None, content_type: str = "application/json") -> Answer:
    headers: dict = {"Content-Type": content_type}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    if authorization is not None:
        headers["Authorization"] = authorization
    FIGURES["requests"] += 1
    FIGURES["bytes sent"] += len(body)
    try:
        response = await client.post("/graphql", content=body, headers=headers)
    except BaseException as error:  # an exception escaping the app: a real server answers 500
        return Answer(599, None, f"the app raised {error!r}")
    try:
        parsed = response.json()
    except ValueError:
        parsed = None
    return Answer(response.status_code, parsed, response.text[:2000])


def graphql_body(query: str, variables=None, **extra) -> bytes:
    return encode({"query": query, "variables": variables, **extra})
