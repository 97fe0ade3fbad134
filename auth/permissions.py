"""Who may do what: logged in at all (the permission class on every root field but the logins), and
who may change what on a mine (visibility is auth/scope.py's job; this is editing)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from strawberry.permission import BasePermission

from models.enums import GuarantorLevel, UserTier
from models.errors import BadUserInput, Forbidden

if TYPE_CHECKING:
    from strawberry.types import Info

    from auth.sessions import CurrentUser



class IsAuthenticated(BasePermission):
    """Strawberry's permission extension: the caller has logged in."""

    message = "请先登录 / log in first: send `Authorization: Bearer <token>` from the login mutation"
    error_extensions = {"code": "UNAUTHENTICATED"}

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        return info.context.user is not None


# The guarantor level a regulator's -001 account fills in, and the mine column
# that must equal that account's region.
_LEVEL = {
    GuarantorLevel.PROVINCE: (UserTier.PROVINCE, "province_code"),
    GuarantorLevel.CITY: (UserTier.CITY, "city_code"),
    GuarantorLevel.COUNTY: (UserTier.COUNTY, "county_code"),
}
_LEVEL_LABEL = {level: level.label for level in GuarantorLevel}


def _forbidden(message: str, mine) -> Forbidden:
    """The refusal, naming the mine for its audit record (auth/refusals.py writes it)."""
    error = Forbidden(message)
    error.mine_id = getattr(mine, "id", None)
    return error


def require_importer(user: CurrentUser) -> None:
    """Importing spreadsheets is for the -001 accounts of the nation, a province, a city or a county."""
    if not is_region_chief(user):
        raise Forbidden("只有国家、省、市、县的 -001 账号可以导入 / only the -001 account of the nation, a province, "
                        "a city or a county may import")


def require_location_editor(user: CurrentUser, mine) -> None:
    """Only the mine's own enterprise account sets its location."""
    if user.tier is not UserTier.ENTERPRISE or user.mine_id != mine.id:
        raise _forbidden("只有矿山企业账号可以设置本矿位置 / only the mine's own account may set its location", mine)


def require_guarantor_editor(user: CurrentUser, mine, level: GuarantorLevel) -> None:
    if level is GuarantorLevel.CITY and mine.city_code is None:
        raise BadUserInput(
            "该矿山所在县由省直管，没有市级包保责任人 / this mine's county is under the province directly:"
            " it has no CITY guarantor level"
        )
    if level is GuarantorLevel.ENTERPRISE:
        if user.tier is UserTier.ENTERPRISE and user.mine_id == mine.id:
            return
    else:
        tier, column = _LEVEL[level]
        if user.tier is tier and user.guarantor_level is level and getattr(mine, column) == user.region_code:
            return
    raise _forbidden(
        f"无权填写{_LEVEL_LABEL[level]}包保责任人 / only the "
        + ("mine's own account" if level is GuarantorLevel.ENTERPRISE else f"-001 account of the mine's {level.value.lower()}")
        + f" may set the {level.value} guarantor",
        mine,
    )


def is_region_chief(user: CurrentUser) -> bool:
    """A region's -001 account: the province, city or county one holds that level's guarantor
    role (an explicit column); the nation has no guarantor level, so its -001 is known by number."""
    if user.tier in (UserTier.PROVINCE, UserTier.CITY, UserTier.COUNTY):
        return user.guarantor_level is not None
    return user.tier is UserTier.NATIONAL and user.username == f"{user.region_code}-001"


def require_mine_editor(user: CurrentUser, mine=None) -> None:
    """Basic data (create, update, revoke, verify, review a change request): the -001 account of
    the mine's county, city, province or the nation. The mine is one the caller sees (the resolver
    found it in the jurisdiction), so a -001 account sees only mines of its own region."""
    if not is_region_chief(user):
        raise _forbidden("只有矿山所在县、市、省或国家的 -001 账号可以维护矿山基础信息 / only the -001 account "
                         "of the mine's county, city, province or the nation may edit its basic data", mine)


def require_own_mine(user: CurrentUser, mine) -> None:
    """A change request is the mine's own report: only its enterprise account files one."""
    if user.tier is not UserTier.ENTERPRISE or user.mine_id != mine.id:
        raise _forbidden("只有矿山企业账号可以申报本矿基础信息变更 / only the mine's own account may propose "
                         "changes to its basic data", mine)
