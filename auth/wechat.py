"""WeChat mini-program login: exchange a wx.login() code for the user's openid.

One call of WeChat's `jscode2session`. Its answer also carries the user's
`session_key`, which would let anyone holding it forge or read the user's
encrypted WeChat data; this module drops it: it is never returned, logged or
put into an error message.

Each exchange opens (and closes) its own httpx client: logins are rare, so a
pooled connection would save little and would need shutdown wiring in the app.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from typing import TYPE_CHECKING

import httpx

from models.errors import BadUserInput, Forbidden, MinegraphError, RateLimited

if TYPE_CHECKING:
    from settings import Settings

log = logging.getLogger("minegraph.wechat")

JSCODE2SESSION_PATH = "/sns/jscode2session"
MAX_CODE_LENGTH = 128
_CODE_PATTERN = re.compile(r"[\x21-\x7e]+")  # visible ASCII: what wx.login() codes are made of


class UpstreamError(MinegraphError):
    """WeChat could not be reached, answered nonsense, or failed on its side."""

    code = "INTERNAL"


NOT_CONFIGURED = ("本服务器未配置微信登录 / WeChat login is not configured on this server "
                  "(WECHAT_APPID / WECHAT_SECRET)")
INVALID_CODE = ("微信登录凭证无效或已过期 / the WeChat login code is invalid or expired: "
                "call wx.login() again")
USED_CODE = ("微信登录凭证已被使用 / the WeChat login code has already been used: "
             "call wx.login() again for a fresh one")
RATE_LIMITED = ("微信登录请求过于频繁 / too many WeChat logins right now: wait a minute and try again")
BLOCKED = ("微信已拦截该用户的登录（高风险用户） / WeChat blocked this login as a high-risk user: "
           "sign in with username and password instead")
BUSY = "微信系统繁忙 / WeChat is busy: try again in a few seconds"
# The server's own credentials were refused: an operator has to act, not the user.
BAD_CREDENTIALS = ("微信拒绝了本服务器的小程序凭据 / WeChat rejected this server's mini-program credentials "
                   "(errcode {errcode}): check WECHAT_APPID / WECHAT_SECRET")
_CREDENTIAL_ERRCODES = frozenset({40013, 40125, 41002, 41004})

# errcode -> the error the caller gets.
_ERRCODES: dict[int, tuple[type[MinegraphError], str]] = {
    40029: (BadUserInput, INVALID_CODE),
    40163: (BadUserInput, USED_CODE),
    45011: (RateLimited, RATE_LIMITED),
    40226: (Forbidden, BLOCKED),
    -1: (RateLimited, BUSY),
}


def check_code(code: object) -> str:
    """A plausible wx.login() code, or BadUserInput (before any network call)."""
    if not isinstance(code, str) or not code:
        raise BadUserInput("微信登录凭证为空 / the WeChat login code is empty: pass the code from wx.login()")
    if len(code) > MAX_CODE_LENGTH:
        raise BadUserInput(f"微信登录凭证过长 / the WeChat login code is longer than {MAX_CODE_LENGTH} characters: "
                           "pass the code from wx.login() unchanged")
    if not _CODE_PATTERN.fullmatch(code):
        raise BadUserInput("微信登录凭证含有非法字符 / the WeChat login code may only contain visible ASCII "
                           "characters: pass the code from wx.login() unchanged")
    return code


def _error_for(errcode: int) -> MinegraphError:
    if errcode in _ERRCODES:
        error_class, message = _ERRCODES[errcode]
        return error_class(message)
    if errcode in _CREDENTIAL_ERRCODES:
        return UpstreamError(BAD_CREDENTIALS.format(errcode=errcode))
    return UpstreamError(f"微信服务出错，请稍后重试 / WeChat service error (errcode {errcode}): try again later")


async def _fetch(settings: Settings, code: str) -> httpx.Response:
    url = settings.wechat_api_base.rstrip("/") + JSCODE2SESSION_PATH
    params = {"appid": settings.wechat_appid, "secret": settings.wechat_secret,
              "js_code": code, "grant_type": "authorization_code"}
    timeout = settings.wechat_timeout_s
    try:
        # httpx's timeout bounds each phase (connect, every read); asyncio's bounds the whole call.
        async with asyncio.timeout(timeout), httpx.AsyncClient(timeout=timeout) as client:
            return await client.get(url, params=params)
    except (httpx.TimeoutException, TimeoutError):
        log.warning("jscode2session timed out after %s s", timeout)
        raise UpstreamError(f"微信服务响应超时，请稍后重试 / WeChat did not answer within {timeout:g} s: "
                            "try again later") from None
    except httpx.HTTPError as error:
        # The error's text names the host, never the query string; the URL it
        # holds does carry the secret, hence `from None` and no exc_info.
        log.warning("jscode2session failed: %s", type(error).__name__)
        raise UpstreamError("无法连接微信服务，请稍后重试 / could not reach the WeChat service: try again later") from None


def _parse(response: httpx.Response) -> dict:
    if response.status_code != 200:
        log.warning("jscode2session answered HTTP %s", response.status_code)
        raise UpstreamError(f"微信服务出错，请稍后重试 / WeChat service error (HTTP {response.status_code}): "
                            "try again later")
    # WeChat labels its JSON text/plain, so the body is parsed whatever the content type says.
    try:
        body = json.loads(response.text)
    except ValueError:
        body = None
    if not isinstance(body, dict):
        log.warning("jscode2session answered something other than a JSON object")
        raise UpstreamError("微信服务返回了无法识别的应答，请稍后重试 / WeChat sent an unreadable answer: try again later")
    return body


async def exchange_code(settings: Settings, code: str) -> str:
    """The openid behind a wx.login() code; the session_key is discarded here."""
    check_code(code)
    if not settings.wechat_appid or not settings.wechat_secret:
        raise UpstreamError(NOT_CONFIGURED)
    body = _parse(await _fetch(settings, code))
    try:
        errcode = int(body.get("errcode") or 0)
    except (TypeError, ValueError):
        errcode = None
    if errcode is None:
        log.warning("jscode2session answered a non-numeric errcode")
        raise UpstreamError("微信服务返回了无法识别的应答，请稍后重试 / WeChat sent an unreadable answer: try again later")
    if errcode:
        # errmsg holds WeChat's request id (rid), which their support asks for; it never
        # carries the session_key (only successful answers do).
        log.warning("jscode2session errcode %s: %s", errcode, str(body.get("errmsg", ""))[:200])
        raise _error_for(errcode)
    openid = body.get("openid")
    if not isinstance(openid, str) or not openid:
        log.warning("jscode2session answered without an openid")
        raise UpstreamError("微信服务未返回用户标识，请稍后重试 / WeChat did not return the user's openid: try again later")
    return openid


class _RedactWeChatSecrets(logging.Filter):
    """httpx logs every request URL at INFO, and ours carries the app secret and the code."""

    _SECRET = re.compile(r"((?:secret|js_code)=)[^&\s\"']*")

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if JSCODE2SESSION_PATH in message:
            record.msg, record.args = self._SECRET.sub(r"\1***", message), ()
        return True


logging.getLogger("httpx").addFilter(_RedactWeChatSecrets())
