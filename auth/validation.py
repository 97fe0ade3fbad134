"""Checks and normal forms for what people type: phones, emails, passwords, names.

Each function either returns the value in the one form the service stores, or
raises BadUserInput with a message that tells the person what to change.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import TYPE_CHECKING

import phonenumbers
from email_validator import EmailNotValidError, validate_email
from phonenumbers import PhoneNumberType

from models.errors import BadUserInput

if TYPE_CHECKING:
    from settings import Settings

# --------------------------------------------------------------------------- phones

MAX_PHONE_INPUT = 32
PHONE_HINT = ("请填写 11 位手机号（如 13800138000）或带区号的固定电话（如 0871-65123456） / "
              "give an 11-digit mainland mobile number (e.g. 13800138000) or a landline with its "
              "area code (e.g. 0871-65123456)")
_PHONE_CHARS = re.compile(r"\(?\+?[0-9 ()\-]+")  # "+86 …" or "(+86) …"
_INTERNATIONAL = re.compile(r"(\+|00)86")
_MOBILE = re.compile(r"1[3-9][0-9]{9}")
_MOBILE_TYPES = (PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE)
_LANDLINE_TYPES = (PhoneNumberType.FIXED_LINE, PhoneNumberType.FIXED_LINE_OR_MOBILE)


def _bilingual(parts: list[str], zh_join: str, en_join: str) -> str:
    """Join "中文 / English" parts as all the Chinese, " / ", then all the English: a client that
    shows the Chinese half (up to the first " / ") shows the whole of it."""
    halves = [part.partition(" / ") for part in parts]
    return zh_join.join(zh for zh, _, _ in halves) + " / " + en_join.join(en for _, _, en in halves)


def _phone_error(problem: str) -> BadUserInput:
    return BadUserInput(_bilingual([problem, PHONE_HINT], "，", ": "))


def normalize_phone(raw: object) -> str:
    """A mainland mobile as its 11 digits, a landline as "0AREA-NUMBER"; else BadUserInput."""
    if not isinstance(raw, str):
        return _normalize_phone(raw)  # raises
    phone, problem = _phone(raw)
    if problem is not None:
        raise BadUserInput(problem)
    return phone


@lru_cache(maxsize=8192)
def _phone(text: str) -> tuple[str | None, str | None]:
    """(phone, None) or (None, the refusal). Cached: parsing costs about a quarter of a millisecond,
    one official's number recurs on every mine of a county, and an import normalises each
    principal's phone twice (reading the cell, then planning the row as updateMine would)."""
    try:
        return _normalize_phone(text), None
    except BadUserInput as error:
        return None, error.message


def _normalize_phone(raw: object) -> str:
    if not isinstance(raw, str) or not raw.strip():
        raise _phone_error("电话号码为空 / the phone number is empty")
    # NFKC turns full-width digits, brackets and dashes (common in Chinese input) into ASCII.
    text = unicodedata.normalize("NFKC", raw).strip()
    if len(text) > MAX_PHONE_INPUT or not _PHONE_CHARS.fullmatch(text):
        raise _phone_error("电话号码只能包含数字、空格、括号、短横线和开头的 + 号 / a phone number may only "
                           "contain digits, spaces, brackets, dashes and a leading +")
    digits = re.sub(r"[^0-9]", "", text)
    compact = re.sub(r"[ ()\-]", "", text)
    international = _INTERNATIONAL.match(compact) is not None
    if compact.startswith("+") and not international:
        raise _phone_error("只接受中国大陆号码（+86） / only mainland China numbers (+86) are accepted")
    # Without +86 the leading digit says what was meant: 1 a mobile, 0 a landline's area
    # code. phonenumbers alone would also read "87165123456" or "1012345678" as landlines,
    # letting a mistyped mobile pass as someone's office number.
    meant = None if international else {"1": "mobile", "0": "landline"}.get(digits[:1])
    if not international and meant is None:
        raise _phone_error("手机号以 1 开头，固定电话以区号的 0 开头 / a mobile number starts with 1, "
                           "a landline with its area code's 0")
    try:
        number = phonenumbers.parse(text, "CN")
    except phonenumbers.NumberParseException:
        raise _phone_error("无法识别的电话号码 / not a phone number") from None
    if number.country_code != 86 or phonenumbers.region_code_for_number(number) != "CN":
        raise _phone_error("只接受中国大陆号码 / only mainland China numbers are accepted")
    national = str(number.national_number)
    kind = phonenumbers.number_type(number) if phonenumbers.is_valid_number(number) else None
    if meant != "landline" and _MOBILE.fullmatch(national) and kind in _MOBILE_TYPES:
        return national
    area = phonenumbers.length_of_geographical_area_code(number)
    if meant != "mobile" and kind in _LANDLINE_TYPES and area:
        return f"0{national[:area]}-{national[area:]}"
    if meant == "mobile" and len(digits) != 11:
        raise _phone_error(f"手机号应为 11 位，这里有 {len(digits)} 位 / a mobile number has 11 digits, "
                           f"this one has {len(digits)}")
    if meant == "mobile":
        raise _phone_error(f"没有以 {digits[:3]} 开头的手机号段 / no mainland mobile numbers start with {digits[:3]}")
    raise _phone_error("不是有效的手机号或固定电话 / not a valid mobile or landline number")


def mask_phone(phone: str | None) -> str:
    """A phone for logs: "138****5678", "0871-****3456"; never raises."""
    if not phone:
        return ""
    if _MOBILE.fullmatch(phone):
        return f"{phone[:3]}****{phone[-4:]}"
    area, dash, number = phone.rpartition("-")
    if dash and area.isdigit() and number.isdigit() and len(number) > 4:
        return f"{area}-****{number[-4:]}"
    digits = re.sub(r"[^0-9]", "", phone)
    return f"****{digits[-4:]}" if len(digits) >= 8 else "****"


# --------------------------------------------------------------------------- email


def normalize_email(raw: object) -> str:
    """The address in email-validator's normalized form (no DNS lookup); else BadUserInput."""
    if not isinstance(raw, str) or not raw.strip():
        raise BadUserInput("邮箱地址为空 / the email address is empty")
    try:
        return validate_email(raw.strip(), check_deliverability=False).normalized
    except EmailNotValidError as error:
        raise BadUserInput(f"邮箱地址无效 / not a valid email address: {error}") from None


# --------------------------------------------------------------------------- passwords

MAX_PASSWORD_LENGTH = 128
CHARACTER_CLASSES = ("lowercase", "uppercase", "digits", "other")
_CLASS_LABELS = {"lowercase": ("小写字母", "lowercase letters"), "uppercase": ("大写字母", "uppercase letters"),
                 "digits": ("数字", "digits"), "other": ("其他符号（如 @ # _ !）", "other characters (e.g. @ # _ !)")}


def character_classes(password: str) -> set[str]:
    """Which of the four classes the password uses (non-Latin letters count as "other")."""
    found = set()
    for char in password:
        if char.isascii() and char.islower():
            found.add("lowercase")
        elif char.isascii() and char.isupper():
            found.add("uppercase")
        elif char.isascii() and char.isdigit():
            found.add("digits")
        else:
            found.add("other")
    return found


def check_password_policy(password: object, settings: Settings, username: str | None = None) -> None:
    """BadUserInput naming every rule the password breaks; None when it meets the policy."""
    if not isinstance(password, str):
        raise BadUserInput("密码必须是文本 / the password must be text")
    problems = []
    if len(password) > MAX_PASSWORD_LENGTH:
        problems.append(f"最多 {MAX_PASSWORD_LENGTH} 个字符 / use at most {MAX_PASSWORD_LENGTH} characters "
                        f"(it has {len(password)})")
    if len(password) < settings.password_min_length:
        problems.append(f"至少 {settings.password_min_length} 个字符 / use at least "
                        f"{settings.password_min_length} characters (it has {len(password)})")
    if any(unicodedata.category(c) in ("Cc", "Cs") for c in password):
        problems.append("不能包含控制字符 / remove control characters such as tabs or line breaks")
    # A setting above 4 could never be met; clamp it rather than lock everyone out.
    needed = min(settings.password_min_classes, len(CHARACTER_CLASSES))
    used = character_classes(password)
    if len(used) < needed:
        missing = [_CLASS_LABELS[c] for c in CHARACTER_CLASSES if c not in used]
        problems.append(f"需要四类字符中的至少 {needed} 类，现有 {len(used)} 类，请再加 {needed - len(used)} 类："
                        + "、".join(zh for zh, _ in missing) + f" / use at least {needed} of the 4 kinds of "
                        f"characters (it has {len(used)}); add {needed - len(used)} of: "
                        + ", ".join(en for _, en in missing))
    if username and username.strip() and username.strip().lower() in password.lower():
        problems.append("不能包含用户名 / do not include the username")
    if problems:
        zh, _, en = _bilingual(problems, "；", "; ").partition(" / ")
        raise BadUserInput(f"密码不符合要求：{zh} / the password does not meet the policy: {en}")


# --------------------------------------------------------------------------- names

# Control, format (invisible), surrogate, private-use and unassigned code points,
# and line/paragraph separators: nothing a person's name or title needs.
_FORBIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})
_FIELD_LABELS = {"name": "姓名", "position": "职务"}


def normalize_name(raw: object, field: str = "name", max_length: int = 50, label: str | None = None) -> str:
    """Trimmed NFC text of 1..max_length characters with no control or invisible characters;
    `label`: the Chinese name of the field (default: the one known for `field`)."""
    label = label or _FIELD_LABELS.get(field, field)  # "姓名", in the Chinese half; the English half says `field`
    if not isinstance(raw, str):
        raise BadUserInput(f"{label}必须是文本 / {field}: must be text")
    # Checked before trimming, so a stray tab or line break is reported, not silently kept or cut.
    if any(unicodedata.category(c) in _FORBIDDEN_CATEGORIES for c in raw):
        raise BadUserInput(f"{label}不能包含控制字符或不可见字符 / {field}: remove control or invisible characters "
                           "(tabs, line breaks, zero-width characters)")
    text = unicodedata.normalize("NFC", raw).strip()
    if not text:
        raise BadUserInput(f"{label}不能为空 / {field}: must not be empty")
    text = re.sub(r"\s+", " ", text)  # runs of spaces (full-width ones too) become one
    if len(text) > max_length:
        raise BadUserInput(f"{label}最多 {max_length} 个字符（当前 {len(text)} 个） / {field}: use at most "
                           f"{max_length} characters (it has {len(text)})")
    return text
