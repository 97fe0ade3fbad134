"""开拓方式 and 生产能力单位 as people write them.

A combination of the basic methods (竖井-斜坡道, 竖井+斜坡道, 联合开拓(竖井-斜坡道)) is
COMBINED with the parts as its detail, joined by "-" in the order written.
"""

from __future__ import annotations

import re

from models.enums import DevelopmentMethod
from spreadsheets.cells import KEEP, CellError, aliases, as_written, clean, compact_key

_PARTS = re.compile(r"[-+、/~—–－＋]|及|和|与|加")
_COMBINED_PREFIX = re.compile(r"^(联合开拓方式|联合开拓|综合开拓|联合)[:：]?")


def _method(text: str) -> str | None:
    key = compact_key(text)
    for member in DevelopmentMethod:
        if key in (member.label, member.value):
            return member.value
    return aliases()["developmentMethod"].get(key)


_BASIC = {m.value: m.label for m in DevelopmentMethod if m is not DevelopmentMethod.COMBINED}
# A basic method qualified the way mine plans name them: 盲竖井 (a blind shaft), 主斜井, 副井 ...
_QUALIFIED = re.compile(r"^(盲|主|副|辅助|明|暗)(" + "|".join(_BASIC.values()) + ")$")


def _part(text: str) -> str | None:
    """One part of a combination as the detail keeps it: a basic method by its label, a qualified
    one (盲竖井) as written; None if it is neither."""
    name = _method(text)
    if name in _BASIC:
        return _BASIC[name]
    return text if _QUALIFIED.match(text) else None


def development(value: object) -> tuple[str, object]:
    """(DevelopmentMethod name, developmentDetail). A single basic method has no detail (None
    clears a stale one); 联合开拓 alone leaves the detail as it is (KEEP); a combination
    carries its parts."""
    text = re.sub(r"\s+", "", clean(value))
    single = _method(text)
    if single is not None and single != DevelopmentMethod.COMBINED.value:
        return single, None
    if single == DevelopmentMethod.COMBINED.value:
        return single, KEEP
    inner = _COMBINED_PREFIX.sub("", text).strip("()[]")
    parts = [re.sub("开拓$", "", part) for part in _PARTS.split(inner) if part]
    written = [_part(part) for part in parts]
    if len(parts) >= 2 and all(written):
        return DevelopmentMethod.COMBINED.value, "-".join(written)
    labels = "、".join(m.label for m in DevelopmentMethod)
    raise CellError(f"开拓方式“{as_written(value)}”无法识别，可填：{labels}，或其组合如“竖井-斜坡道” / "
                    f"developmentMethod {as_written(value)!r} is not one of "
                    + ", ".join(m.label for m in DevelopmentMethod) + " or a combination such as 竖井-斜坡道")


def capacity_unit(value: object) -> str:
    """The unit as stored: NFKC, no spaces, common spellings (万t/a) as the registry writes them
    (万吨/年); anything else as written."""
    text = re.sub(r"\s+", "", clean(value))
    if not text or len(text) > 20:
        raise CellError(f"生产能力单位“{as_written(value)}”无效 / capacityUnit {as_written(value)!r} is not a unit")
    if re.fullmatch(r"[\d.,]+", text):
        raise CellError(f"生产能力单位应为单位（如 万吨/年），而不是数字 / capacityUnit must be a unit such as "
                        f"万吨/年, not a number ({text})")
    return aliases()["capacityUnit"].get(compact_key(text), text)
