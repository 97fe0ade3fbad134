"""Root mutation. Everything but the two logins needs a logged-in caller."""

from __future__ import annotations

import strawberry
from strawberry.file_uploads import Upload
from strawberry.types import Info

from models import enums
from resolvers import accounts, change_requests, imports, mine_admin, mine_writes
from schema.enums import Datum, GuarantorLevel
from schema.inputs import GuarantorInputType, MineInputType, ProfileInputType, mine_input_values
from auth.permissions import IsAuthenticated
from schema.types.account import AuthPayloadType, UserType
from schema.types.change_request import MineChangeRequestType
from schema.types.imports import ImportReportType
from schema.types.mine import MineType


def _authenticated(description: str):
    return strawberry.mutation(permission_classes=[IsAuthenticated], description=description)


def _payload(ctx, token: str, user) -> AuthPayloadType:
    ctx.sign_in(user)  # the payload's nested fields resolve as the new user
    return AuthPayloadType(token=token, user=UserType.of(user))


@strawberry.type
class Mutation:
    @strawberry.mutation(
        description="Log in with username and password; with a wx.login() code, also bind this WeChat account."
    )
    async def login(
        self, info: Info, username: str, password: str, wechat_code: str | None = None
    ) -> AuthPayloadType:
        token, user = await accounts.login(info.context, username, password, wechat_code)
        return _payload(info.context, token, user)

    @strawberry.mutation(description="Log straight in with a wx.login() code, once this WeChat account is bound.")
    async def wechat_login(self, info: Info, code: str) -> AuthPayloadType:
        token, user = await accounts.wechat_login(info.context, code)
        return _payload(info.context, token, user)

    @_authenticated("注销: revoke this token and unbind WeChat.")
    async def logout(self, info: Info) -> bool:
        return await accounts.logout(info.context)

    @_authenticated("Change the password (old once, new twice); every other session of the account ends.")
    async def change_password(
        self, info: Info, old_password: str, new_password: str, confirm_password: str
    ) -> bool:
        return await accounts.change_password(info.context, old_password, new_password, confirm_password)

    @_authenticated("Edit name, phone, email; omitted fields stay as they are.")
    async def update_profile(self, info: Info, input: ProfileInputType) -> UserType:
        user = await accounts.update_profile(info.context, input.name, input.phone, input.email)
        return UserType.of(user)

    @_authenticated("Set the mine's location (its own enterprise account). Stored as WGS-84 with the datum sent.")
    async def update_mine_location(
        self, info: Info, mine_id: strawberry.ID, lat: float, lng: float, datum: Datum,
        expected_version: int | None = None,
    ) -> MineType:
        row = await mine_writes.update_location(
            info.context, mine_id, lat, lng, enums.Datum(datum), expected_version
        )
        return MineType.of(info, row)

    @_authenticated("Set one guarantor level of a mine (the -001 account of that level's region, or the mine itself).")
    async def set_guarantor(
        self, info: Info, mine_id: strawberry.ID, level: GuarantorLevel, input: GuarantorInputType,
        expected_version: int | None = None,
    ) -> MineType:
        row = await mine_writes.set_guarantor(
            info.context, mine_id, enums.GuarantorLevel(level), input.name, input.position, input.phone,
            expected_version,
        )
        return MineType.of(info, row)

    @_authenticated("新增矿山 (the -001 account of the county, city, province or nation): every required MineInput "
                    "field; the answer's initialPassword is the new enterprise account's password, shown once.")
    async def create_mine(self, info: Info, input: MineInputType) -> MineType:
        row, password = await mine_admin.create_mine(info.context, mine_input_values(input))
        return MineType.of(info, row, password)

    @_authenticated("Change a mine's basic data (the -001 account of its county, city, province or the nation): "
                    "fields left out stay; one version step; nothing different: the mine unchanged, no step.")
    async def update_mine(
        self, info: Info, mine_id: strawberry.ID, input: MineInputType, expected_version: int | None = None,
    ) -> MineType:
        row = await mine_admin.update_mine(info.context, mine_id, mine_input_values(input), expected_version)
        return MineType.of(info, row)

    @_authenticated("作废: a mine entered by mistake leaves every list and count; its account can no longer log in.")
    async def revoke_mine(self, info: Info, mine_id: strawberry.ID, reason: str) -> MineType:
        return MineType.of(info, await mine_admin.revoke_mine(info.context, mine_id, reason))

    @_authenticated("核实: mark the mine's current version verified (expectedVersion must be the current one).")
    async def verify_mine(
        self, info: Info, mine_id: strawberry.ID, expected_version: int, note: str | None = None,
    ) -> MineType:
        return MineType.of(info, await mine_admin.verify_mine(info.context, mine_id, expected_version, note))

    @_authenticated("变更申请: the mine's own account proposes new basic data, for a regulator's -001 to review.")
    async def propose_mine_change(
        self, info: Info, mine_id: strawberry.ID, input: MineInputType, note: str | None = None,
    ) -> MineChangeRequestType:
        row = await change_requests.propose(info.context, mine_id, mine_input_values(input), note)
        return MineChangeRequestType.of(info, row)

    @_authenticated("Approve (apply it on top of the current data) or reject a pending change request.")
    async def review_mine_change(
        self, info: Info, id: strawberry.ID, approve: bool, note: str | None = None,
    ) -> MineChangeRequestType:
        return MineChangeRequestType.of(info, await change_requests.review(info.context, id, approve, note))
    @_authenticated("Import a spreadsheet of mines (docs/import-format.md) as a GraphQL multipart request: a dry "
                    "run unless `apply`; applying is all or nothing. The -001 accounts of the nation, a province, "
                    "a city or a county, for the mines of their jurisdiction.")
    async def import_mines(self, info: Info, file: Upload, apply: bool = False) -> ImportReportType:
        outcome = await imports.upload_import(info.context, file, apply)
        return ImportReportType.of(info, outcome, outcome.rows, outcome.passwords)
