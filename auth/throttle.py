"""Per-client-address throttling, in process: token buckets and the client's address.

Each app (each `create_app`, i.e. each worker process) keeps its own buckets on
`app.state`, so the limits are per instance: N instances behind a load balancer
admit up to N times the rate. The per-account failure counters that matter most
are in the database instead (auth/lockout.py) and shared by every instance.

The client address is the TCP peer, unless the peer is one of TRUSTED_PROXIES:
then it is the right-most address of X-Forwarded-For that is not itself a trusted
proxy (the left-most ones are whatever the client chose to send). IPv6 clients
are keyed by their /64 network, which one subscriber typically holds whole.
"""

from __future__ import annotations

import ipaddress
import logging
import math
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

    from starlette.requests import HTTPConnection

    from settings import Settings

log = logging.getLogger("minegraph.auth")

UNKNOWN_CLIENT = "unknown"
MAX_KEYS = 100_000  # addresses remembered per bucket map; the least recently seen go first


# --------------------------------------------------------------------------- client address


@lru_cache(maxsize=16)
def _networks(entries: tuple[str, ...]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(entry, strict=False) for entry in entries)


def _ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    text = text.strip().strip('"')
    if text.startswith("[") and "]" in text:  # "[2001:db8::1]:443"
        text = text[1 : text.index("]")]
    elif text.count(":") == 1:  # "203.0.113.7:5123"
        text = text.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return address.ipv4_mapped
    return address


_warned_untrusted_forwarding = False


def client_address(connection: HTTPConnection | None, settings: Settings) -> str:
    """The address of whoever sent the request, as a string (see the module docstring)."""
    global _warned_untrusted_forwarding
    if connection is None or connection.client is None:
        return UNKNOWN_CLIENT
    peer_text = connection.client.host
    peer = _ip(peer_text)
    if peer is None:
        return peer_text[:64] or UNKNOWN_CLIENT
    forwarded = connection.headers.getlist("x-forwarded-for")
    trusted = _networks(tuple(settings.trusted_proxies))
    if not any(peer in net for net in trusted):
        if forwarded and not _warned_untrusted_forwarding:
            _warned_untrusted_forwarding = True
            log.warning("X-Forwarded-For from %s is ignored: that peer is not in TRUSTED_PROXIES, so every client "
                        "behind it shares one address for throttling and lockouts", peer)
        return str(peer)
    hops = [hop for header in forwarded for hop in header.split(",") if hop.strip()]
    client = peer
    for hop in reversed(hops):
        address = _ip(hop)
        if address is None:
            break  # garbage: stop believing the chain here, keep the last good hop
        client = address
        if not any(address in net for net in trusted):
            break
    return str(client)


def client_key(address: str) -> str:
    """What throttles and lockouts count by: the IPv4 address, or the IPv6 /64."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address[:64]
    if isinstance(ip, ipaddress.IPv6Address):
        return str(ipaddress.IPv6Network((int(ip) >> 64 << 64, 64)))
    return str(ip)


# --------------------------------------------------------------------------- token buckets


class Buckets:
    """One token bucket per key: `burst` tokens, refilled at `per_minute`."""

    def __init__(self, per_minute: float, burst: int, *, clock: Callable[[], float] = time.monotonic,
                 max_keys: int = MAX_KEYS) -> None:
        self.rate = per_minute / 60.0  # tokens per second
        self.burst = float(burst)
        self.clock = clock
        self.max_keys = max_keys
        self._state: OrderedDict[str, tuple[float, float]] = OrderedDict()  # key -> (tokens, as of)

    def _tokens(self, key: str) -> float:
        now = self.clock()
        tokens, since = self._state.get(key, (self.burst, now))
        return min(self.burst, tokens + (now - since) * self.rate)

    def _set(self, key: str, tokens: float) -> None:
        self._state[key] = (tokens, self.clock())
        self._state.move_to_end(key)
        while len(self._state) > self.max_keys:
            self._state.popitem(last=False)

    def wait(self, key: str) -> float:
        """Seconds until one token is there (0: there is one now); takes nothing."""
        tokens = self._tokens(key)
        return 0.0 if tokens >= 1 else (1 - tokens) / self.rate

    def take(self, key: str) -> float:
        """Take a token if there is one and answer 0; else take nothing and answer the seconds to wait."""
        tokens = self._tokens(key)
        if tokens < 1:
            return (1 - tokens) / self.rate
        self._set(key, tokens - 1)
        return 0.0

    def spend(self, key: str) -> None:
        """Take a token even if none is left (a debt of at most one burst)."""
        self._set(key, max(self._tokens(key) - 1, -self.burst))


def retry_seconds(wait: float) -> int:
    return max(1, math.ceil(wait))


# --------------------------------------------------------------------------- per-app state


@dataclass
class Guards:
    """The in-process limiters of one app."""

    attempts: Buckets  # every login and wechatLogin attempt, per client address
    failures: Buckets  # failed ones
    audit: Buckets  # refusal audit rows written per client address (auth/refusals.py)
    suppressed: dict[str, int] = field(default_factory=dict)  # refusals not written, per client address

    @classmethod
    def from_settings(cls, settings: Settings) -> Guards:
        return cls(
            attempts=Buckets(settings.throttle_login_per_minute, settings.throttle_login_burst),
            failures=Buckets(settings.throttle_failures_per_minute, settings.throttle_failures_burst),
            audit=Buckets(AUDIT_REFUSALS_PER_MINUTE, AUDIT_REFUSALS_BURST),
        )


AUDIT_REFUSALS_PER_MINUTE = 10.0
AUDIT_REFUSALS_BURST = 20

_fallback: dict[int, Guards] = {}


def guards_for(context) -> Guards:
    """The Guards of the app serving this request (created on first use)."""
    request = getattr(context, "request", None)
    scope = getattr(request, "scope", None)
    app = scope.get("app") if isinstance(scope, dict) else getattr(request, "app", None)
    state = getattr(app, "state", None)
    if state is None:  # a context built outside an app (scripts, unit tests)
        return _fallback.setdefault(id(context.settings), Guards.from_settings(context.settings))
    guards = getattr(state, "auth_guards", None)
    if guards is None:
        guards = Guards.from_settings(context.settings)
        state.auth_guards = guards
    return guards
