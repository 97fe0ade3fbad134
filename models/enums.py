"""Domain enumerations; each member carries the Chinese label users see."""

from __future__ import annotations

from enum import Enum


class LabelledEnum(str, Enum):
    """A str enum whose members also carry a display label."""

    label: str

    def __new__(cls, value: str, label: str) -> LabelledEnum:
        member = str.__new__(cls, value)
        member._value_ = value
        member.label = label
        return member


class UserTier(LabelledEnum):
    NATIONAL = ("NATIONAL", "国家级")
    PROVINCE = ("PROVINCE", "省级")
    CITY = ("CITY", "市级")
    COUNTY = ("COUNTY", "县级")
    ENTERPRISE = ("ENTERPRISE", "企业")


class RegionLevel(LabelledEnum):
    NATION = ("NATION", "全国")
    PROVINCE = ("PROVINCE", "省级")
    CITY = ("CITY", "市级")
    COUNTY = ("COUNTY", "县级")

    @property
    def depth(self) -> int:
        return _REGION_DEPTH[self]


_REGION_DEPTH = {
    RegionLevel.NATION: 0,
    RegionLevel.PROVINCE: 1,
    RegionLevel.CITY: 2,
    RegionLevel.COUNTY: 3,
}


class MineScale(LabelledEnum):
    LARGE = ("LARGE", "大型")
    MEDIUM = ("MEDIUM", "中型")
    SMALL = ("SMALL", "小型")


class GuarantorLevel(LabelledEnum):
    PROVINCE = ("PROVINCE", "省级")
    CITY = ("CITY", "市级")
    COUNTY = ("COUNTY", "县级")
    ENTERPRISE = ("ENTERPRISE", "企业")


class Datum(LabelledEnum):
    WGS84 = ("WGS84", "WGS-84")
    GCJ02 = ("GCJ02", "GCJ-02")


class ProductionStatus(LabelledEnum):
    NORMAL = ("NORMAL", "正常生产")
    TRIAL = ("TRIAL", "试生产")
    CONSTRUCTION = ("CONSTRUCTION", "基建")
    RECTIFICATION = ("RECTIFICATION", "停产整顿")
    SUSPENDED = ("SUSPENDED", "停产")
    LONG_SUSPENDED = ("LONG_SUSPENDED", "长期停产")
    CLOSED = ("CLOSED", "关闭/闭坑")


class DevelopmentMethod(LabelledEnum):
    ADIT = ("ADIT", "平硐")
    INCLINE = ("INCLINE", "斜井")
    SHAFT = ("SHAFT", "竖井")
    RAMP = ("RAMP", "斜坡道")
    COMBINED = ("COMBINED", "联合开拓")


class SupervisoryBody(LabelledEnum):
    PROVINCE = ("PROVINCE", "省级应急管理部门")
    CITY = ("CITY", "设区的市级应急管理部门")
    COUNTY = ("COUNTY", "县级应急管理部门")
    XPCC = ("XPCC", "新疆生产建设兵团应急管理部门")


class VerificationState(LabelledEnum):
    VERIFIED = ("VERIFIED", "已核实")
    STALE = ("STALE", "核实后已变更")
    UNVERIFIED = ("UNVERIFIED", "未核实")


class ChangeRequestStatus(LabelledEnum):
    PENDING = ("PENDING", "待审核")
    APPROVED = ("APPROVED", "已批准")
    REJECTED = ("REJECTED", "已驳回")


class ImportAction(LabelledEnum):
    CREATE = ("CREATE", "新增")
    UPDATE = ("UPDATE", "修改")
    UNCHANGED = ("UNCHANGED", "无变化")
    REJECTED = ("REJECTED", "拒绝")
