"""Phone numbers never reach the logs: every log record is masked as it is created.

A filter on the root logger would not do: Python consults a logger's filters only
for records logged on that logger itself, not for those propagating up from
`minegraph.*`, `uvicorn.*` or `httpx`. So `install()` wraps the log-record factory
instead, which every logger in the process goes through (only for records that
pass the level check, so it costs nothing for suppressed debug lines):

- string arguments are masked in place, so formatters that read `record.args`
  themselves (uvicorn's access log) see masked values too;
- a record with other arguments (dicts, objects, numbers that look like phones)
  is formatted at once and its message masked (`args` become empty);
- an exception's traceback text is formatted and masked at once (formatters reuse
  `record.exc_text`), as is `stack_info`.

Masks follow `auth.validation.mask_phone`: 13912345678 → 139****5678,
0871-65123456 → 0871-****3456. Installed when the `auth` package is imported (the
app and every CLI command import it); `install()` is idempotent.
"""

from __future__ import annotations

import logging
import re

# Digit runs glued to Latin letters or other digits are not phones (request ids, hashes,
# mine codes); anything else around them (spaces, punctuation, quotes, Chinese text) is a boundary.
_BEFORE = r"(?<![0-9A-Za-z])"
_AFTER = r"(?![0-9A-Za-z])"
_MOBILE = re.compile(
    _BEFORE + r"(?P<prefix>(?:\+|00)?86[ \-]?)?(?P<head>1[3-9][0-9])[ \-]?(?P<mid>[0-9]{4})[ \-]?(?P<tail>[0-9]{4})" + _AFTER
)
_LANDLINE = re.compile(
    _BEFORE + r"(?:(?:\+|00)86[ \-]?)?\(?(?P<area>0[1-9][0-9]{1,2})\)?[ \-]?(?P<number>[2-9][0-9]{2,3}[ \-]?[0-9]{4})" + _AFTER
)
_PLAIN = (str, int, float, bool, type(None))


def _mask_mobile(match: re.Match) -> str:
    return f"{match['head']}****{match['tail']}"


def _mask_landline(match: re.Match) -> str:
    digits = re.sub(r"[^0-9]", "", match["number"])
    return f"{match['area']}-****{digits[-4:]}"


def redact_phones(text: str) -> str:
    """The text with every mainland mobile or landline number in it masked."""
    if not any(char.isdigit() for char in text):
        return text
    return _LANDLINE.sub(_mask_landline, _MOBILE.sub(_mask_mobile, text))


def _looks_like_phone(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and redact_phones(str(value)) != str(value)


def redact_record(record: logging.LogRecord) -> logging.LogRecord:
    """Mask the phones in one record's message, arguments, traceback and stack."""
    try:
        args = record.args
        if isinstance(record.msg, str) and (
            not args or (isinstance(args, tuple) and all(isinstance(a, _PLAIN) and not _looks_like_phone(a) for a in args))
        ):
            record.msg = redact_phones(record.msg)
            if args:
                record.args = tuple(redact_phones(a) if isinstance(a, str) else a for a in args)
        else:
            # Mappings, objects whose str() might hold a phone, phone-like numbers: format now.
            record.msg, record.args = redact_phones(record.getMessage()), ()
        if record.exc_info and not record.exc_text:
            record.exc_text = redact_phones(logging.Formatter().formatException(record.exc_info))
        if record.stack_info:
            record.stack_info = redact_phones(record.stack_info)
    except Exception:  # noqa: BLE001 - a record that cannot be formatted is logging's to report, later
        pass
    return record


_installed = False


def install() -> None:
    """Mask phones in every log record created in this process from now on (idempotent)."""
    global _installed
    if _installed:
        return
    previous = logging.getLogRecordFactory()

    def factory(*args, **kwargs) -> logging.LogRecord:
        return redact_record(previous(*args, **kwargs))

    logging.setLogRecordFactory(factory)
    _installed = True


def is_installed() -> bool:
    return _installed


__all__ = ["install", "is_installed", "redact_phones", "redact_record"]
