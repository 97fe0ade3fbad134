"""Bad input to authentication and the account mutations, fuzzed with hostile values.

Forged and malformed bearer tokens, hostile credentials for login, wechatLogin and logout,
hostile old, new and confirmed passwords, hostile profiles. A refusal must leave the sessions,
the WeChat bindings and the account row exactly as they were; an accepted password change or
profile update must store what it answered.
"""

from __future__ import annotations

import base64
import re
import unicodedata

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from support.fuzz_requests import FIGURES, count, graphql_body, send
from support.fuzz_stage import FUZZ, SLOW, send_from_own_address
from support.fuzz_state import account_state, sessions_state
from support.fuzz_values import hostile_text, nasty_unicode, wechat_codes
from support.fuzz_verdict import Verdict

pytestmark = pytest.mark.property


async def refused_leaving_sessions(stage, what: str, body: bytes, send_it, allowed: set[str] | None = None) -> None:
    """`send_it()` sends `body`: its answer must be a refusal that opened, revoked and bound nothing."""
    before = sessions_state(stage.env.db)
    verdict = Verdict(what, await send_it(), body)
    verdict.clear(must_refuse=True, allowed=allowed)
    verdict.unchanged("sessions and WeChat bindings", before, sessions_state(stage.env.db))
    verdict.done()


# --------------------------------------------------------------------------- bearer tokens


@FUZZ
@given(data=st.data())
async def test_forged_and_malformed_tokens_are_unauthenticated(stage, data):
    real = stage.national.token
    header = data.draw(st.one_of(
        st.sampled_from(["", "Bearer", "Bearer ", "Bearer  ", "bearer", "Basic dXNlcjpwYXNz", "Token " + real,
                         "Bearer " + real + "x", "Bearer " + real[:-1], "Bearer x" + real, "Bearer " + real.upper(),
                         "Bearer " + "A" * 10_000, "Bearer " + "A" * 100_000, "Bearer\t" + "junk", "Bearer null",
                         "Bearer undefined", "Bearer " + base64.b64encode(b"000000-001").decode(),
                         "Bearer " + "x" * 43, "Bearer \x00", "Bearer " + real.replace(real[5], "\x00", 1)]),
        st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=200).map(lambda t: "Bearer " + t),
        st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=200),
        st.binary(max_size=120).filter(lambda b: b"\r" not in b and b"\n" not in b)
        .map(lambda b: b"Bearer " + b),
        st.text(max_size=60).map(lambda t: ("Bearer " + t).encode("utf-8", "surrogatepass")),
        st.sampled_from(["Bearer 李建国", "Bearer é", "Bearer 😀"]).map(lambda t: t.encode("utf-8")),
    ), label="Authorization")
    text = header.decode("latin-1") if isinstance(header, bytes) else header
    scheme, _, sent = text.partition(" ")
    assume(not (scheme.lower() == "bearer" and sent.strip() == real))  # that one is simply valid
    operation = data.draw(st.sampled_from(["{ me { username } }", "{ dashboard { stats { total } } }",
                                           "mutation { logout }", "mutation { updateProfile(input: {name: \"x\"}) "
                                                                  "{ username } }"]))
    body = graphql_body(operation)
    count("token")
    before = sessions_state(stage.env.db)
    accounts_before = account_state(stage.env.db, stage.national.username)
    answer = await send(stage.client, body, authorization=header)
    verdict = Verdict(f"Authorization {header[:80]!r}", answer, body)
    verdict.clear(must_refuse=True, allowed={"UNAUTHENTICATED", "BAD_USER_INPUT"})
    verdict.unchanged("sessions", before, sessions_state(stage.env.db))
    verdict.unchanged("account", accounts_before, account_state(stage.env.db, stage.national.username))
    verdict.done()


# --------------------------------------------------------------------------- login, wechatLogin, logout


@SLOW
@given(data=st.data())
async def test_login_with_hostile_credentials_is_refused_and_opens_no_session(stage, data):
    username = data.draw(st.one_of(hostile_text(max_size=40), st.sampled_from(
        [stage.owner.username, stage.clerk.username, "000000-001", "000000-001 ", " 000000-001", "000000-00１",
         "000000-001\x00", "000000-001\ud800"])), label="username")
    demo = stage.env.settings.demo_password
    password = data.draw(st.one_of(hostile_text(), st.sampled_from([demo + " ", " " + demo, demo.upper(), demo[:-1],
                                                                    demo + "\x00", ""])), label="password")
    code = data.draw(st.none() | wechat_codes(), label="wechatCode")
    assume(password != demo)
    variables = {"u": username, "p": password, "code": code}
    body = graphql_body("mutation L($u: String!, $p: String!, $code: String) { login(username: $u, password: $p, "
                        "wechatCode: $code) { token user { username } } }", variables)
    count("login")
    await refused_leaving_sessions(stage, f"login {username[:40]!r}", body,
                                   lambda: send_from_own_address(stage, body))


@FUZZ
@given(code=wechat_codes())
async def test_wechat_login_with_hostile_codes_is_refused(stage, code):
    body = graphql_body("mutation W($c: String!) { wechatLogin(code: $c) { token } }", {"c": code})
    count("wechatLogin")
    await refused_leaving_sessions(stage, f"wechatLogin {code[:40]!r}", body,
                                   lambda: send_from_own_address(stage, body))


@FUZZ
@given(data=st.data())
async def test_logout_with_hostile_tokens_revokes_nothing(stage, data):
    header = data.draw(st.one_of(
        st.text(st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=300).map(lambda t: "Bearer " + t),
        st.sampled_from(["Bearer " + stage.clerk.token[:-2], "Bearer " + stage.clerk.token + "=", "Bearer",
                         "Bearer " + "Z" * 10_000])))
    assume(header.split(" ", 1)[-1].strip() not in {a.token for a in (stage.national, stage.owner, stage.clerk,
                                                                      stage.profile, stage.spare,
                                                                      *stage.passworders)})
    body = graphql_body("mutation { logout }")
    count("logout")
    await refused_leaving_sessions(stage, "logout", body, lambda: send(stage.client, body, authorization=header),
                                   allowed={"UNAUTHENTICATED", "BAD_USER_INPUT"})


# --------------------------------------------------------------------------- account mutations


@SLOW
@given(data=st.data())
async def test_change_password_with_hostile_values(stage, data):
    who = data.draw(st.sampled_from(stage.passworders), label="account")
    current = stage.passwords[who.username]
    old = data.draw(st.one_of(st.just(current), st.just(current), hostile_text()), label="old")
    new = data.draw(st.one_of(hostile_text(max_size=140), st.just("Tr0ub4dor&3x" + str(data.draw(st.integers(0, 99))))),
                    label="new")
    confirm = data.draw(st.one_of(st.just(new), hostile_text()), label="confirm")
    variables = {"old": old, "new": new, "confirm": confirm}
    body = graphql_body("mutation C($old: String!, $new: String!, $confirm: String!) { changePassword("
                        "oldPassword: $old, newPassword: $new, confirmPassword: $confirm) }", variables)
    count("changePassword")
    certainly_bad = old != current or new != confirm or new == old or nasty_unicode(new) or len(new) > 1000
    before = account_state(stage.env.db, who.username)
    answer = await send_from_own_address(stage, body, token=who.token)
    verdict = Verdict(f"changePassword of {who.username}", answer, body)
    if verdict.clear(must_refuse=certainly_bad):
        verdict.unchanged("account and its sessions", before, account_state(stage.env.db, who.username))
    else:
        after = account_state(stage.env.db, who.username)
        FIGURES["accepted changePassword"] += 1
        if after[0][3] == before[0][3]:
            verdict.fail("changePassword answered true but the password hash did not change")
        if answer.data != {"changePassword": True}:
            verdict.fail(f"unexpected answer {answer.data!r}")
        stage.passwords[who.username] = new
    verdict.done()


@FUZZ
@given(data=st.data())
async def test_update_profile_with_hostile_values(stage, data):
    who = stage.profile
    profile, certainly_bad = {}, False
    for key in data.draw(st.lists(st.sampled_from(["name", "phone", "email"]), max_size=3, unique=True)):
        value = data.draw(st.one_of(hostile_text(max_size=80), st.none(), st.sampled_from(
            {"name": ["周敏", " 周  敏 ", "A" * 51], "phone": ["13912345678", "0871-65123456", "+86 139 1234 5678",
                                                              "１３９１２３４５６７８", "1391234567", "14012345678"],
             "email": ["zhou@example.cn", "a@b", "@", "zhou@例子.中国", "x" * 300 + "@example.cn"]}[key]),
            st.sampled_from([5, True, [], {}])), label=key)
        profile[key] = value
        if isinstance(value, str):
            bad = nasty_unicode(value) or len(value) > 1000
            if key == "name":
                bad = bad or not value.strip()
            if key == "phone" and value.strip():
                bad = bad or re.search(r"[A-Za-z@]", unicodedata.normalize("NFKC", value)) is not None
            if key == "email" and value.strip():
                bad = bad or "@" not in value
            certainly_bad = certainly_bad or bad
        elif value is not None:
            certainly_bad = True
    if data.draw(st.integers(0, 9)) == 0:
        profile = data.draw(st.sampled_from([None, "x", [], 5]))
        certainly_bad = True
    body = graphql_body("mutation P($input: ProfileInput!) { updateProfile(input: $input) { name phone email } }",
                        {"input": profile})
    count("updateProfile")
    before = account_state(stage.env.db, who.username)
    answer = await send(stage.client, body, token=who.token)
    verdict = Verdict("updateProfile", answer, body)
    if verdict.clear(must_refuse=certainly_bad):
        verdict.unchanged("account", before, account_state(stage.env.db, who.username))
    else:
        FIGURES["accepted updateProfile"] += 1
        name, phone, email = account_state(stage.env.db, who.username)[0][:3]
        answered = answer.data["updateProfile"]
        if (answered["name"], answered["phone"], answered["email"]) != (name, phone, email):
            verdict.fail(f"answered {answered!r}, stored {(name, phone, email)!r}")
        for key, value in profile.items():
            if value is None and (answered[key] != before[0][("name", "phone", "email").index(key)]):
                verdict.fail(f"{key}: null must leave it as it was")
    verdict.done()
