"""auth/wechat.exchange_code against the fake jscode2session server, over real HTTP."""

from __future__ import annotations

import logging
import socket
import time

import pytest

from auth import wechat
from auth.wechat import UpstreamError, exchange_code
from models.errors import BadUserInput, Forbidden, MinegraphError, RateLimited
from settings import Settings


@pytest.fixture
def wechat_settings(fake_wechat) -> Settings:
    return Settings(**fake_wechat.settings_overrides())


async def test_a_good_code_gives_its_openid_and_sends_the_documented_query(fake_wechat, wechat_settings):
    code = fake_wechat.new_code("o-openid-1")
    assert await exchange_code(wechat_settings, code) == "o-openid-1"
    [query] = fake_wechat.requests_for(code)
    assert query == {"appid": fake_wechat.appid, "secret": fake_wechat.secret, "js_code": code,
                     "grant_type": "authorization_code"}


async def test_a_code_is_good_once(fake_wechat, wechat_settings):
    code = fake_wechat.new_code("o-openid-2")
    await exchange_code(wechat_settings, code)
    with pytest.raises(BadUserInput) as caught:
        await exchange_code(wechat_settings, code)
    assert caught.value.message == wechat.USED_CODE


async def test_an_unknown_code_is_bad_user_input(wechat_settings):
    with pytest.raises(BadUserInput) as caught:
        await exchange_code(wechat_settings, "never-issued")
    assert caught.value.message == wechat.INVALID_CODE
    assert "wx.login()" in caught.value.message


@pytest.mark.parametrize(("code", "error_class", "message"), [
    ("err-40029", BadUserInput, wechat.INVALID_CODE),
    ("err-40163", BadUserInput, wechat.USED_CODE),
    ("err-45011", RateLimited, wechat.RATE_LIMITED),
    ("err-40226", Forbidden, wechat.BLOCKED),
    ("err-minus1", RateLimited, wechat.BUSY),
])
async def test_errcodes_map_to_domain_errors(wechat_settings, code, error_class, message):
    with pytest.raises(error_class) as caught:
        await exchange_code(wechat_settings, code)
    assert type(caught.value) is error_class
    assert caught.value.message == message


async def test_an_unlisted_errcode_is_an_upstream_error_naming_it(wechat_settings):
    with pytest.raises(UpstreamError) as caught:
        await exchange_code(wechat_settings, "err-61234")
    assert caught.value.code == "INTERNAL" and isinstance(caught.value, MinegraphError)
    assert "errcode 61234" in caught.value.message and "try again later" in caught.value.message


@pytest.mark.parametrize(("field", "errcode"), [("wechat_appid", 40013), ("wechat_secret", 40125)])
async def test_wrong_server_credentials_point_at_the_settings(fake_wechat, field, errcode):
    settings = Settings(**{**fake_wechat.settings_overrides(), field: "wrong"})
    code = fake_wechat.new_code("o-openid-3")
    with pytest.raises(UpstreamError) as caught:
        await exchange_code(settings, code)
    assert f"errcode {errcode}" in caught.value.message
    assert "WECHAT_APPID / WECHAT_SECRET" in caught.value.message


@pytest.mark.parametrize("code", ["", "a" * 129, "has space", "代码", "tab\tcode", "nul\x00", "\x7f"])
async def test_malformed_codes_are_refused_before_any_request(fake_wechat, wechat_settings, code):
    before = len(fake_wechat.requests)
    with pytest.raises(BadUserInput):
        await exchange_code(wechat_settings, code)
    assert len(fake_wechat.requests) == before


async def test_a_code_of_the_longest_allowed_length_is_sent(fake_wechat, wechat_settings):
    code = fake_wechat.new_code("o-openid-4")[:1] + "x" * 127
    fake_wechat.add_code(code, "o-openid-4")
    assert await exchange_code(wechat_settings, code) == "o-openid-4"


@pytest.mark.parametrize("field", ["wechat_appid", "wechat_secret"])
async def test_unconfigured_server_says_what_to_set(fake_wechat, field):
    settings = Settings(**{**fake_wechat.settings_overrides(), field: ""})
    before = len(fake_wechat.requests)
    with pytest.raises(UpstreamError) as caught:
        await exchange_code(settings, fake_wechat.new_code("o-openid-5"))
    assert caught.value.message == wechat.NOT_CONFIGURED
    assert len(fake_wechat.requests) == before


async def test_a_hanging_wechat_times_out(fake_wechat):
    settings = Settings(**fake_wechat.settings_overrides(), wechat_timeout_s=0.3)
    code = fake_wechat.new_code("o-openid-6")
    started = time.monotonic()
    with fake_wechat.hanging(), pytest.raises(UpstreamError) as caught:
        await exchange_code(settings, code)
    assert time.monotonic() - started < 3
    assert "0.3 s" in caught.value.message
    assert fake_wechat.requests_for(code), "the request did reach the server"


async def test_an_unreachable_wechat_is_an_upstream_error():
    with socket.socket() as sock:  # a port nothing listens on once closed
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings = Settings(wechat_api_base=f"http://127.0.0.1:{port}", wechat_appid="a", wechat_secret="s")
    with pytest.raises(UpstreamError) as caught:
        await exchange_code(settings, "some-code")
    assert "could not reach" in caught.value.message


@pytest.mark.parametrize("code", ["raw-html", "http-502", "http-404"])
async def test_non_json_or_failed_answers_are_upstream_errors(wechat_settings, code):
    with pytest.raises(UpstreamError) as caught:
        await exchange_code(wechat_settings, code)
    assert "try again later" in caught.value.message


async def test_base_url_with_a_trailing_slash_works(fake_wechat):
    settings = Settings(**{**fake_wechat.settings_overrides(), "wechat_api_base": fake_wechat.base_url + "/"})
    assert await exchange_code(settings, fake_wechat.new_code("o-openid-7")) == "o-openid-7"


async def test_session_key_secret_and_code_never_reach_the_logs(fake_wechat, wechat_settings, caplog):
    caplog.set_level(logging.DEBUG)
    good = fake_wechat.new_code("o-openid-8")
    issued = len(fake_wechat.issued_session_keys)
    openid = await exchange_code(wechat_settings, good)
    [session_key] = fake_wechat.issued_session_keys[issued:]
    assert openid == "o-openid-8" and session_key not in openid
    errors = []
    for code in (good, "err-40029", "err-61234", "raw-html"):  # `good` again: already used
        with pytest.raises(MinegraphError) as caught:
            await exchange_code(wechat_settings, code)
        errors.append(caught.value)

    logged = caplog.text
    assert "jscode2session" in logged, "httpx's request log is captured (and redacted)"
    for secret in (*fake_wechat.issued_session_keys, fake_wechat.secret, good):
        assert secret not in logged
        assert all(secret not in str(e) and e.__cause__ is None for e in errors)
