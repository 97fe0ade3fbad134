"""The one check of an error's language, shared by every test that sees errors.

A client shows `message` to a person: the mini-program shows the Chinese half (up to the first
" / "), a developer's tool the whole. So every message starts with Chinese, then " / ", then
English. Only the parse and validation messages of graphql-core, which a person using the
mini-program never causes (its documents are persisted), may be English alone.
"""

from __future__ import annotations

import re
from collections import Counter


DEVELOPER_CODES = frozenset({"GRAPHQL_PARSE_FAILED", "GRAPHQL_VALIDATION_FAILED"})
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_CJK_START = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u3000-\u303f\uff00-\uffef]")
_LATIN = re.compile(r"[A-Za-z]")

# Every message checked in this process, by code: the language test prints them on failure, and a
# test can see that the check ran at all.
CHECKED: Counter = Counter()


def language_problem(error: dict) -> str | None:
    """Why this error's message is not "中文 / English", or None when it is (or need not be)."""
    code = (error.get("extensions") or {}).get("code")
    if code in DEVELOPER_CODES:
        return None
    CHECKED[code] += 1
    message = error.get("message")
    if not isinstance(message, str):
        return f"{code}: message is not text: {error!r:.300}"
    chinese, slash, english = message.partition(" / ")
    if not slash:
        return f"{code}: no ' / ' between Chinese and English: {message!r:.300}"
    if not _CJK_START.match(chinese) or not _CJK.search(chinese):
        return f"{code}: does not start with Chinese before the first ' / ': {message!r:.300}"
    if not _LATIN.search(english):
        return f"{code}: no English after the first ' / ': {message!r:.300}"
    return None


def language_problems(errors) -> list[str]:
    return [problem for error in errors or () if (problem := language_problem(error)) is not None]


def assert_bilingual(errors) -> None:
    problems = language_problems(errors)
    assert not problems, "\n".join(problems)
