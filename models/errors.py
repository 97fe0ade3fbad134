"""Domain errors, each with the `extensions.code` the API contract names."""

from __future__ import annotations


class MinegraphError(Exception):
    code = "INTERNAL"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Unauthenticated(MinegraphError):
    code = "UNAUTHENTICATED"


class Forbidden(MinegraphError):
    code = "FORBIDDEN"


class NotFound(MinegraphError):
    """Unknown, malformed or outside the caller's jurisdiction: indistinguishable."""

    code = "NOT_FOUND"


class BadUserInput(MinegraphError):
    code = "BAD_USER_INPUT"


class Conflict(MinegraphError):
    code = "CONFLICT"


class RateLimited(MinegraphError):
    code = "RATE_LIMITED"
