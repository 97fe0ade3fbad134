"""Shared by the spreadsheet tests: the reference trees without a database, scopes, and a
template row that parses cleanly."""

from __future__ import annotations

from functools import cache
from types import SimpleNamespace

from auth.scope import Scope
from models.enums import UserTier
from models.trees import build_trees
from seed.reference import mineral_rows, region_rows

NATION = Scope(UserTier.NATIONAL, "000000")
YUNNAN = Scope(UserTier.PROVINCE, "530000")
KUNMING = Scope(UserTier.CITY, "530100")
BEIJING = Scope(UserTier.PROVINCE, "110000")
SHANDONG = Scope(UserTier.PROVINCE, "370000")
JIANGSU = Scope(UserTier.PROVINCE, "320000")

# The template's required columns and one good row for them (labels as the export writes them).
GOOD = {
    "矿山编码": "", "矿山名称": "五华金矿", "行政区划代码": "530102", "开采矿种": "金", "设计生产能力": "12",
    "生产能力单位": "万吨/年", "开拓方式": "竖井", "最大开采深度(米)": "850", "单班下井作业人数": "30",
    "生产状况": "正常生产", "日常安全监管主体": "县级应急管理部门",
}


@cache
def trees():
    return build_trees([SimpleNamespace(**r) for r in region_rows()],
                       [SimpleNamespace(**r) for r in mineral_rows()])
