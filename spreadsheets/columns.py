"""The template: one row per mine under a header of Chinese labels (docs/import-format.md).

`key` names what a column holds in the API's terms: a MineInput field, `code`, a location part,
`guarantors.<LEVEL>.<name|position|phone>`, or a read-only export field. Export writes exactly
these labels in this order; import finds them by label in any order (see `canonical_label`).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from models.enums import GuarantorLevel


@dataclass(frozen=True)
class Column:
    label: str
    key: str
    required: bool = False  # the column must be present (its value may still be optional)
    read_only: bool = False  # written by export; import reads only 版本 of these
    # Columns of which one must be present (the region: by code or by name path).
    one_of: str | None = None


_LEVEL_PREFIX = {GuarantorLevel.PROVINCE: "省级", GuarantorLevel.CITY: "市级",
                 GuarantorLevel.COUNTY: "县级", GuarantorLevel.ENTERPRISE: "企业"}
_PERSON = (("姓名", "name"), ("职务", "position"), ("电话", "phone"))

COLUMNS: tuple[Column, ...] = (
    Column("矿山编码", "code", required=True),
    Column("矿山名称", "name", required=True),
    Column("行政区划代码", "regionCode", one_of="region"),
    Column("所属行政区域", "regionPath", one_of="region"),
    Column("开采矿种", "mineralCode", required=True),
    Column("设计生产能力", "designCapacity", required=True),
    Column("生产能力单位", "capacityUnit", required=True),
    Column("开拓方式", "developmentMethod", required=True),
    Column("最大开采深度(米)", "maxDepth", required=True),
    Column("单班下井作业人数", "workersPerShift", required=True),
    Column("生产状况", "productionStatus", required=True),
    Column("日常安全监管主体", "supervisoryBody", required=True),
    Column("主要负责人", "principal.name"),
    Column("主要负责人电话", "principal.phone"),
    Column("经度", "location.lng"),
    Column("纬度", "location.lat"),
    Column("坐标系", "location.datum"),
    *(Column(f"{prefix}包保责任人{label}", f"guarantors.{level.value}.{part}")
      for level, prefix in _LEVEL_PREFIX.items() for label, part in _PERSON),
    Column("规模", "scale"),
    Column("版本", "version", read_only=True),
    Column("更新时间", "updatedAt", read_only=True),
    Column("核实状态", "verification", read_only=True),
)

BY_LABEL = {column.label: column for column in COLUMNS}
BY_KEY = {column.key: column for column in COLUMNS}

# An empty cell leaves a value as it is; this word clears an optional value.
CLEAR = "清空"
# The sheet an XLSX import reads when present (else the first sheet).
SHEET_NAME = "矿山"


def canonical_label(text: object) -> str:
    """A header cell as people write it → the label it means: NFKC (full-width parentheses and
    letters become ASCII), no spaces inside or around, a trailing required-marker `*` dropped."""
    label = unicodedata.normalize("NFKC", str(text or ""))
    label = re.sub(r"\s+", "", label).rstrip("*＊")
    return label
