"""CSV as people save it: UTF-8 (with or without the BOM Excel writes), or GB18030/GBK as the
Chinese editions of Excel and WPS save "CSV (逗号分隔)"; comma, tab or semicolon separated.

The encoding is settled before the first row is read, by decoding the whole file strictly in
chunks (bounded memory): UTF-8 first, since a GBK file is almost never valid UTF-8 while the
reverse fails often; then GB18030 (a superset of GBK and GB2312); then whatever
charset-normalizer makes of the first 64 kB (UTF-16 from "Unicode 文本", Big5 …).
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import io
from collections.abc import Iterator
from typing import IO

from charset_normalizer import from_bytes

from models.errors import BadUserInput

_CHUNK = 1 << 16
_TRIED_FIRST = ("utf-8-sig", "gb18030")
_DELIMITERS = ",\t;"
# csv's default field limit (128 kB) is far above any cell of the template; kept as is so a
# runaway quoted field fails instead of growing.


def _decodes(stream: IO[bytes], encoding: str) -> bool:
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    stream.seek(0)
    try:
        while chunk := stream.read(_CHUNK):
            decoder.decode(chunk)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def detect_encoding(stream: IO[bytes]) -> str:
    """The encoding the whole file decodes in (a Python codec name); BadUserInput if none."""
    stream.seek(0)
    head = stream.read(_CHUNK)
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        found = "utf-16"  # tried before GB18030, which would decode it into nonsense
    else:
        found = next((name for name in _TRIED_FIRST if _decodes(stream, name)), None)
    if found is None:
        guess = from_bytes(head).best()
        if guess is not None and _decodes(stream, guess.encoding):
            found = guess.encoding
    stream.seek(0)
    if found is None:
        raise BadUserInput("无法识别文件的字符编码，请在 Excel 中另存为“CSV UTF-8”或 .xlsx / the file's character "
                           "encoding is not recognised: save it from Excel as \"CSV UTF-8\" or .xlsx")
    return found


def csv_rows(stream: IO[bytes]) -> Iterator[tuple[int, tuple]]:
    """(row number, cells) for each line of the CSV; row numbers count physical records as
    Excel shows them (a quoted cell with a line break stays one row)."""
    encoding = detect_encoding(stream)
    # newline="" lets csv see quoted line breaks; the wrapper is detached, not closed, at the
    # end so that the caller's stream stays open for the caller to close.
    text = io.TextIOWrapper(stream, encoding=encoding, errors="strict", newline="")
    try:
        sample = text.read(_CHUNK)
        text.seek(0)
        try:
            dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(sample, delimiters=_DELIMITERS)
        except csv.Error:
            dialect = csv.excel
        for number, cells in enumerate(csv.reader(text, dialect), start=1):
            yield number, tuple(cells)
    except csv.Error as error:
        raise BadUserInput(f"CSV 格式错误 / malformed CSV: {error}") from None
    finally:
        # The caller may have closed the stream already (an abandoned import): nothing to detach.
        with contextlib.suppress(ValueError):
            text.detach()
