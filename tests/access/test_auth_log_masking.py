"""Phone numbers never reach the logs: an unexpected error's traceback, the service's own log lines
and the access log all have them masked, and other long numbers are left alone.
"""

from __future__ import annotations

import logging

from support.attack_kit import gql, login
from auth import log_redaction


async def test_phone_numbers_never_reach_the_logs(attack_env, caplog, monkeypatch):
    env, here = attack_env, "203.0.113.180"
    assert log_redaction.is_installed()
    token = (await login(env, here, "000000-001")).data["login"]["token"]
    import resolvers.accounts

    async def broken(_ctx, _name, phone, _email):
        raise RuntimeError(f"could not store the phone {phone} (nor 0871-65123456)")

    monkeypatch.setattr(resolvers.accounts, "update_profile", broken)
    with caplog.at_level(logging.INFO):
        result = await gql(env, here, "mutation P($p: String) { updateProfile(input: {phone: $p}) { phone } }",
                           {"p": "13912345678"}, token=token, request_id="log-probe")
        logging.getLogger("minegraph").info("guarantor %s saved for %s", "李建国", "139 1234 5678")
        logging.getLogger("uvicorn.access").info('%s - "%s %s HTTP/%s" %d', here, "GET",
                                                 "/graphql?query=%7Bme%7D&phone=13912345678", "1.1", 200)
    assert result.codes == ["INTERNAL"]
    logged = caplog.text
    assert "log-probe" in logged  # the unexpected error was logged, traceback and all
    assert "13912345678" not in logged and "65123456" not in logged and "139 1234 5678" not in logged
    assert "139****5678" in logged and "0871-****3456" in logged
    assert all("13912345678" not in str(r.args) for r in caplog.records)


def test_redaction_leaves_other_numbers_alone():
    redact = log_redaction.redact_phones
    assert redact("mine C5301020001 in 530102, request 4f13912345678ab") == \
        "mine C5301020001 in 530102, request 4f13912345678ab"
    assert redact("at 2026-11-29 22:20:00, 1732012345678 ms") == "at 2026-11-29 22:20:00, 1732012345678 ms"
    assert redact("手机13912345678，座机(0871)65123456，+86 139-1234-5678") == \
        "手机139****5678，座机0871-****3456，139****5678"

