"""Audit records for refusals: UNAUTHENTICATED and FORBIDDEN answers, and refused login attempts.

Refusals are what an attacker can produce at will, so their audit rows are bounded
per client address (a token bucket of 20, refilled at 10 a minute, per process):
beyond that they are counted, not written, and the next row written for that
address carries `"suppressed": n`. An operation's refusals make one row per code
(and refused mine), listing the fields, not one row per aliased field.

`record_refusals(context, errors)` is called once per operation with errors by the error
coding (execution/errors.py, from the schema's process_errors) and writes in the background, after the answer: a
refusal never waits for the database, and normal reads write nothing.
Login refusals (throttled, locked) are written by the login resolver itself,
through `write_login_refusal`.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from auth import audit
from auth.throttle import MAX_KEYS, client_address, client_key, guards_for

if TYPE_CHECKING:
    from collections.abc import Iterable

    from graphql import GraphQLError
    from sqlalchemy.ext.asyncio import AsyncEngine

    from auth.throttle import Guards

log = logging.getLogger("minegraph.audit")

REFUSAL_CODES = ("UNAUTHENTICATED", "FORBIDDEN")
_pending: set[asyncio.Task] = set()


def admit(guards: Guards, key: str) -> int | None:
    """None when this refusal is only counted; else how many before it were (to report)."""
    if guards.audit.take(key) > 0:
        if key not in guards.suppressed and len(guards.suppressed) >= MAX_KEYS:
            guards.suppressed.pop(next(iter(guards.suppressed)))
        guards.suppressed[key] = guards.suppressed.get(key, 0) + 1
        return None
    return guards.suppressed.pop(key, 0)


def _field_name(error: GraphQLError) -> str | None:
    for node in error.nodes or ():
        name = getattr(node, "name", None)
        if name is not None:
            return name.value
    return str(error.path[0]) if error.path else None


def _refusal_rows(context, errors: Iterable[GraphQLError]) -> list[dict]:
    groups: dict[tuple[str, int | None], dict] = {}
    for error in errors:
        code = (error.extensions or {}).get("code")
        original = error.original_error
        if code not in REFUSAL_CODES or getattr(original, "audited", False):
            continue
        mine_id = getattr(original, "mine_id", None)
        group = groups.setdefault((code, mine_id), {"code": code, "mine_id": mine_id, "fields": [], "count": 0})
        group["count"] += 1
        name = _field_name(error)
        if name and name not in group["fields"]:
            group["fields"].append(name)
    return list(groups.values())


def record_refusals(context, errors: Iterable[GraphQLError] | None) -> None:
    """Schedule the audit rows of one operation's UNAUTHENTICATED and FORBIDDEN errors."""
    try:
        groups = _refusal_rows(context, errors or ())
        if not groups:
            return
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return  # executed synchronously, outside an event loop: nothing to write with
    except Exception:  # noqa: BLE001 - auditing must never break the answer
        log.exception("could not prepare refusal audit records")
        return
    settings, request, user = context.settings, getattr(context, "request", None), getattr(context, "user", None)
    address = client_address(request, settings)
    guards = guards_for(context)
    presented_token = bool(request is not None and request.headers.get("authorization"))
    rows = []
    for group in groups:
        suppressed = admit(guards, client_key(address))
        if suppressed is None:
            continue
        new = {"code": group["code"], "fields": group["fields"], "count": group["count"]}
        if group["code"] == "UNAUTHENTICATED" and user is None:
            new["credentials"] = "invalid or expired token" if presented_token else "none"
        if suppressed:
            new["suppressed"] = suppressed
        rows.append({"account_id": user.account_id if user else None, "username": user.username if user else None,
                     "mine_id": group["mine_id"], "new": new, "request_id": getattr(context, "request_id", None),
                     "client": address})
    if rows:
        task = loop.create_task(_write(context.engine, rows))
        _pending.add(task)
        task.add_done_callback(_pending.discard)


async def _write(engine: AsyncEngine, rows: list[dict]) -> None:
    try:
        async with engine.begin() as conn:
            for row in rows:
                await audit.record(conn, "access.refused", **row)
    except Exception:  # noqa: BLE001 - in the background: log, never raise
        log.exception("could not write %d refusal audit record(s)", len(rows))


async def flush() -> None:
    """Wait for the refusal records scheduled so far (tests; shutdown)."""
    while _pending:
        await asyncio.gather(*list(_pending), return_exceptions=True)


async def write_login_refusal(
    engine: AsyncEngine, guards: Guards, *, address: str, username: str | None, request_id: str | None,
    new: dict,
) -> None:
    """Audit a login attempt refused before its password was checked (bounded per address)."""
    suppressed = admit(guards, client_key(address))
    if suppressed is None:
        return
    if suppressed:
        new = {**new, "suppressed": suppressed}
    async with engine.begin() as conn:
        await audit.record(conn, "account.login_refused", username=username, request_id=request_id,
                           client=address, new=new)
