"""Opaque, signed keyset cursors: (region code, mine code) of the last row seen."""

from __future__ import annotations

import base64
import hashlib
import hmac

from models.errors import BadUserInput

BAD_CURSOR = ("分页游标无效，请使用本服务返回的 endCursor 或 cursor / malformed or foreign cursor: pass an "
        "endCursor/cursor value this service returned")


def _sign(secret: str, payload: bytes) -> bytes:
    return hmac.new(secret.encode(), payload, hashlib.sha256).digest()[:12]


def encode_cursor(secret: str, county_code: str, code: str) -> str:
    payload = f"{county_code}\x1f{code}".encode()
    return base64.urlsafe_b64encode(payload + _sign(secret, payload)).decode().rstrip("=")


def decode_cursor(secret: str, cursor: str) -> tuple[str, str]:
    if not cursor or len(cursor) > 200:
        raise BadUserInput(BAD_CURSOR)
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    except (ValueError, TypeError):
        raise BadUserInput(BAD_CURSOR) from None
    payload, signature = raw[:-12], raw[-12:]
    if len(raw) <= 12 or not hmac.compare_digest(signature, _sign(secret, payload)):
        raise BadUserInput(BAD_CURSOR)
    county_code, _, code = payload.decode().partition("\x1f")
    if encode_cursor(secret, county_code, code) != cursor:
        raise BadUserInput(BAD_CURSOR)  # only the exact text we issued (no extra padding or spelling)
    return county_code, code
