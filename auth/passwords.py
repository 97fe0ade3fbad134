"""Password hashing (argon2id), kept off the event loop."""

from __future__ import annotations

import threading

import anyio.to_thread
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()  # argon2id with the library's recommended parameters

# A hash of nothing in particular, verified when the username is unknown so
# that a wrong username costs as much time as a wrong password.
_DUMMY_HASH = _hasher.hash("not-a-password")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


# Each argon2id computation holds 64 MiB for its duration: at most this many run
# at once, so a burst of logins queues instead of multiplying the process's memory.
_ARGON2_AT_ONCE = threading.BoundedSemaphore(2)


def _bounded(function, *args):
    with _ARGON2_AT_ONCE:
        return function(*args)


async def verify_password_async(password_hash: str | None, password: str) -> bool:
    return await anyio.to_thread.run_sync(_bounded, verify_password, password_hash, password)


async def hash_password_async(password: str) -> str:
    return await anyio.to_thread.run_sync(_bounded, hash_password, password)
