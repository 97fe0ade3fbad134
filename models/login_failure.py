"""Failed-login counters and lockouts, shared by every instance through the database.

One row per (username as typed, client address) and one per username with the
client "*" (the account-wide counter). Unknown usernames get rows too, so that a
lockout never tells which usernames exist. See auth/lockout.py and docs/security.md.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

ACCOUNT_WIDE = "*"


class LoginFailure(SQLModel, table=True):
    __tablename__ = "login_failure"

    username: str = Field(primary_key=True, max_length=32)
    # The client address key (an IPv4 address, or an IPv6 /64), or "*" for the whole account.
    client: str = Field(primary_key=True, max_length=64)
    failures: int = 0  # within the window that began at window_start
    window_start: datetime | None = None
    lockouts: int = 0  # how many locks in a row: picks the next step of LOGIN_LOCKOUT_MINUTES
    locked_until: datetime | None = None
    last_failure_at: datetime | None = None
    # A successful login from this address (pair rows only): such an address is exempt
    # from the account-wide lock for LOGIN_KNOWN_ADDRESS_DAYS.
    last_success_at: datetime | None = None
