"""auth/validation: normal forms and actionable refusals for phones, emails, passwords, names."""

from __future__ import annotations

import json
import re
import unicodedata
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from auth.validation import (check_password_policy, character_classes, mask_phone, normalize_email,
                             normalize_name, normalize_phone)
from models.errors import BadUserInput
from settings import Settings

SETTINGS = Settings(password_min_length=10, password_min_classes=3)
# The mobile prefixes the demo data draws from: every one is an allocated range.
MOBILE_PREFIXES = json.loads(
    (Path(__file__).resolve().parents[2] / "seed" / "data" / "demo_names.json").read_text(encoding="utf-8")
)["mobile_prefixes"]

# ----------------------------------------------------------------- phones


@pytest.mark.parametrize(("raw", "normal"), [
    ("13800138000", "13800138000"),
    ("138 0013 8000", "13800138000"),
    ("138-0013-8000", "13800138000"),
    ("+86 138 0013 8000", "13800138000"),
    ("+8613800138000", "13800138000"),
    ("008613800138000", "13800138000"),
    ("(+86) 13800138000", "13800138000"),
    ("１３８００１３８０００", "13800138000"),  # full-width digits from a Chinese keyboard
    ("010-12345678", "010-12345678"),
    ("01012345678", "010-12345678"),
    ("021 6888 8888", "021-68888888"),
    ("0871-65123456", "0871-65123456"),
    ("(0871)65123456", "0871-65123456"),
    ("（0871）65123456", "0871-65123456"),
    ("０８７１－６５１２３４５６", "0871-65123456"),
    ("+86 871 6512 3456", "0871-65123456"),
    ("+86 (0)871 65123456", "0871-65123456"),
    ("0086 10 12345678", "010-12345678"),
    ("  0898-12345678 ", "0898-12345678"),
])
def test_phones_normalize(raw, normal):
    assert normalize_phone(raw) == normal
    assert normalize_phone(normal) == normal  # the normal form is a fixed point


@pytest.mark.parametrize(("raw", "says"), [
    ("", "empty"),
    ("   ", "empty"),
    (None, "empty"),
    (13800138000, "empty"),  # not text
    ("1380013800", "has 11 digits, this one has 10"),
    ("138001380001", "has 11 digits, this one has 12"),
    ("12345678901", "no mainland mobile numbers start with 123"),
    ("65123456", "landline with its area code's 0"),  # no area code
    ("87165123456", "landline with its area code's 0"),  # area code without its 0
    ("4008123123", "starts with 1"),  # a service number, not a mobile or landline
    ("0755-8888888", "not a valid"),  # Shenzhen numbers have 8 digits
    ("010-12345678-123", "not a valid"),  # extensions are not stored
    ("+1 650 253 0000", "only mainland China"),
    ("+852 2123 4567", "only mainland China"),
    ("138oo138ooo", "only contain digits"),
    ("tel:13800138000", "only contain digits"),
    ("1" * 40, "only contain digits"),
])
def test_bad_phones_say_what_is_wrong(raw, says):
    with pytest.raises(BadUserInput) as caught:
        normalize_phone(raw)
    assert says in caught.value.message
    assert "0871-65123456" in caught.value.message  # every refusal shows both accepted forms


mobiles = st.builds(lambda prefix, rest: prefix + rest, st.sampled_from(MOBILE_PREFIXES),
                    st.text("0123456789", min_size=8, max_size=8))


@given(mobiles, st.sampled_from(["{}", "+86 {}", "+86{}", "0086 {}", "{a} {b} {c}", "{a}-{b}-{c}"]))
def test_every_allocated_mobile_round_trips(mobile, layout):
    typed = layout.format(mobile, a=mobile[:3], b=mobile[3:7], c=mobile[7:])
    assert normalize_phone(typed) == mobile
    assert mask_phone(mobile) == mobile[:3] + "****" + mobile[7:]


@given(st.text(max_size=40))
def test_phone_input_is_normalized_or_refused_with_bad_user_input(raw):
    try:
        normal = normalize_phone(raw)
    except BadUserInput:
        return
    assert re.fullmatch(r"1[3-9]\d{9}|0\d{2,3}-\d{7,8}", normal), normal
    assert normalize_phone(normal) == normal


@pytest.mark.parametrize(("phone", "masked"), [
    ("13812345678", "138****5678"),
    ("0871-65123456", "0871-****3456"),
    ("010-12345678", "010-****5678"),
    ("+86 138 1234 5678", "****5678"),  # not normalized: still hides all but the last four
    ("123", "****"),
    ("", ""),
    (None, ""),
])
def test_mask_phone(phone, masked):
    assert mask_phone(phone) == masked


# ----------------------------------------------------------------- email


@pytest.mark.parametrize(("raw", "normal"), [
    ("zhang.san@example.com", "zhang.san@example.com"),
    ("  Zhang.San@Example.COM ", "Zhang.San@example.com"),  # the domain is case-insensitive, the local part not
    ("张三@例子.中国", "张三@例子.中国"),
])
def test_emails_normalize_without_dns(raw, normal):
    assert normalize_email(raw) == normal


@pytest.mark.parametrize("raw", ["", " ", None, "zhang", "zhang@", "@example.com", "a@b", "a b@example.com",
                                 "Zhang <zhang@example.com>", "a@@example.com", "x" * 250 + "@example.com"])
def test_bad_emails_are_refused(raw):
    with pytest.raises(BadUserInput) as caught:
        normalize_email(raw)
    assert caught.value.message.startswith("邮箱地址")


# ----------------------------------------------------------------- passwords


@pytest.mark.parametrize("password", ["Abcdefghi1", "abcdefgh1!", "ABCDEFGH1!", "密码密码密码密码1a", "x" * 120 + "Y1"])
def test_good_passwords_pass(password):
    check_password_policy(password, SETTINGS)


@pytest.mark.parametrize(("password", "says"), [
    ("Ab1!", "at least 10 characters (it has 4)"),
    ("abcdefghij", "请再加 2 类：大写字母、数字、其他符号"),
    ("abcdefghij", "at least 3 of the 4 kinds of characters (it has 1); add 2 of: uppercase letters, digits, other "
                   "characters"),
    ("Abcdefghij", "请再加 1 类：数字、其他符号"),
    ("Abcdefghij", "add 1 of: digits, other characters"),
    ("Abcdefghi1" + "x" * 119, "at most 128 characters (it has 129)"),
    ("Abcdefghi1\n", "control characters"),
])
def test_bad_passwords_say_exactly_what_is_missing(password, says):
    with pytest.raises(BadUserInput) as caught:
        check_password_policy(password, SETTINGS)
    assert says in caught.value.message


def test_every_broken_rule_is_named_at_once():
    with pytest.raises(BadUserInput) as caught:
        check_password_policy("abc", SETTINGS)
    assert "at least 10 characters" in caught.value.message and "kinds of characters" in caught.value.message


def test_the_policy_follows_the_settings():
    lenient = Settings(password_min_length=4, password_min_classes=1)
    check_password_policy("abcd", lenient)
    with pytest.raises(BadUserInput):
        check_password_policy("Abcdefghijklm", Settings(password_min_length=10, password_min_classes=4))
    # More classes than exist must not lock everyone out.
    check_password_policy("Abcdefgh1!", Settings(password_min_length=10, password_min_classes=9))


def test_a_password_containing_the_username_is_refused():
    with pytest.raises(BadUserInput) as caught:
        check_password_policy("x530000-001Y!", SETTINGS, username="530000-001")
    assert "username" in caught.value.message
    with pytest.raises(BadUserInput):
        check_password_policy("Mine-c5301020001", SETTINGS, username="C5301020001")  # case-insensitively
    check_password_policy("x530000-001Y!", SETTINGS, username="140000-001")


@given(st.text(min_size=10, max_size=128))
def test_classes_decide_the_verdict_for_long_enough_passwords(password):
    ok = len(character_classes(password)) >= 3 and not any(
        unicodedata.category(c) in ("Cc", "Cs") for c in password)
    try:
        check_password_policy(password, SETTINGS)
        assert ok
    except BadUserInput:
        assert not ok


# ----------------------------------------------------------------- names


@pytest.mark.parametrize(("raw", "normal"), [
    ("张三", "张三"),
    ("  张三  ", "张三"),
    ("　张三　", "张三"),  # full-width spaces
    ("阿卜杜  热合曼", "阿卜杜 热合曼"),
    ("e\u0301", "\u00e9"),  # NFC
])
def test_names_normalize(raw, normal):
    assert normalize_name(raw) == normal


@pytest.mark.parametrize(("raw", "says"), [
    ("", "must not be empty"),
    ("   ", "must not be empty"),
    (None, "must be text"),
    ("张\t三", "control or invisible"),
    ("张三\n", "control or invisible"),
    ("张\u200b三", "control or invisible"),  # zero-width space
    ("张" * 51, "at most 50 characters (it has 51)"),
])
def test_bad_names_are_refused(raw, says):
    with pytest.raises(BadUserInput) as caught:
        normalize_name(raw)
    assert says in caught.value.message
    message = caught.value.message  # "姓名不能为空 / name: must not be empty"
    assert message.startswith("姓名") and " / name: " in message


def test_name_field_and_length_are_parameters():
    assert normalize_name("矿长", field="position", max_length=2) == "矿长"
    with pytest.raises(BadUserInput) as caught:
        normalize_name("安全副矿长", field="position", max_length=2)
    assert caught.value.message.startswith("职务最多 2 个字符") and " / position: " in caught.value.message


@given(st.text(), st.characters(codec="utf-8", categories=["Cc"]), st.text())
def test_any_text_with_a_control_character_is_refused(before, control, after):
    with pytest.raises(BadUserInput):
        normalize_name(before + control + after)


@given(st.text(st.characters(exclude_categories=["Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"]), max_size=60))
def test_names_are_refused_or_trimmed_and_stable(raw):
    try:
        normal = normalize_name(raw)
    except BadUserInput:
        collapsed = re.sub(r"\s+", " ", unicodedata.normalize("NFC", raw).strip())
        assert not collapsed or len(collapsed) > 50
        return
    assert normal == normal.strip() and 0 < len(normal) <= 50
    assert normalize_name(normal) == normal
