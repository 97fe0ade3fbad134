"""Domain errors, each with the `extensions.code` the API contract names."""

from __future__ import annotations


QUOTE_LIMIT = 40


def quoted(value: object, limit: int = QUOTE_LIMIT) -> str:
    """`repr` of a value a client sent, cut short: an error names the input, it
    does not echo 100 kB of it back."""
    text = value if isinstance(value, str) else str(value)
    if len(text) <= limit:
        return repr(text)
    return f"{text[:limit]!r}… ({len(text):,} characters)"


class MinegraphError(Exception):
    code = "INTERNAL"
    # True once whoever raised it has written its audit record (auth/refusals.py then skips it).
    audited = False

    def __init__(self, message: str, *, extensions: dict | None = None) -> None:
        super().__init__(message)
        self.message = message
        # Extra `extensions` fields beside the code, e.g. {"retryAfterSeconds": 60}.
        self.extensions = dict(extensions or {})


class Unauthenticated(MinegraphError):
    code = "UNAUTHENTICATED"


class Forbidden(MinegraphError):
    code = "FORBIDDEN"
    mine_id: int | None = None  # the mine refused, for the audit record (never sent to the client)


class NotFound(MinegraphError):
    """Unknown, malformed or outside the caller's jurisdiction: indistinguishable."""

    code = "NOT_FOUND"


class BadUserInput(MinegraphError):
    code = "BAD_USER_INPUT"


class Conflict(MinegraphError):
    code = "CONFLICT"


class RateLimited(MinegraphError):
    code = "RATE_LIMITED"
