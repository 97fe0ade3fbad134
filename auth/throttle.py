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
from fractions import Fraction
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

    from starlette.requests import HTTPConnection

    from settings import Settings

log = logging.getLogger("minegraph.auth")

UNKNOWN_CLIENT = "unknown"
MAX_KEYS = 100_000  # addresses remembered per bucket map; the least recently seen go first
NS_PER_S = 1_000_000_000


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
    """One token bucket per key: `burst` tokens, refilled at `per_minute`.

    The arithmetic is exact: time is integer nanoseconds of a monotonic clock and
    tokens are Fractions. With floats, a request arriving exactly when a token
    refilled could be told to wait 2.8e-14 s (a rounding residue) and be refused.
    """

    def __init__(self, per_minute: float, burst: int, *, clock: Callable[[], int] = time.monotonic_ns,
                 max_keys: int = MAX_KEYS) -> None:
        # Fraction(float) is the float's exact value: 6.0 is 6, 0.1 its binary neighbour, never rounded again.
        self.rate = Fraction(per_minute) / (60 * NS_PER_S)  # tokens per nanosecond
        self.burst = Fraction(burst)
        self.clock = clock
        self.max_keys = max_keys
        self._state: OrderedDict[str, tuple[Fraction, int]] = OrderedDict()  # key -> (tokens, as of ns)

    def _tokens(self, key: str, now: int) -> Fraction:
        tokens, since = self._state.get(key, (self.burst, now))
        return min(self.burst, tokens + (now - since) * self.rate)

    def _set(self, key: str, tokens: Fraction, now: int) -> None:
        # Stored as of the same instant the tokens were computed for (a second clock read
        # would drop the refill in between).
        self._state[key] = (tokens, now)
        self._state.move_to_end(key)
        while len(self._state) > self.max_keys:
            self._state.popitem(last=False)

    def _seconds_short(self, tokens: Fraction) -> Fraction:
        return Fraction(0) if tokens >= 1 else (1 - tokens) / self.rate / NS_PER_S

    def wait(self, key: str) -> Fraction:
        """Seconds until one token is there (0: there is one now), exactly; takes nothing."""
        return self._seconds_short(self._tokens(key, self.clock()))

    def take(self, key: str) -> Fraction:
        """Take a token if there is one and answer 0; else take nothing and answer the exact seconds to wait."""
        now = self.clock()
        tokens = self._tokens(key, now)
        if tokens < 1:
            return self._seconds_short(tokens)
        self._set(key, tokens - 1, now)
        return Fraction(0)

    def spend(self, key: str) -> None:
        """Take a token even if none is left (a debt of at most one burst)."""
        now = self.clock()
        self._set(key, max(self._tokens(key, now) - 1, -self.burst), now)


def retry_seconds(wait: Fraction) -> int:
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
