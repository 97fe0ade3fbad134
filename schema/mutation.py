"""Root mutation."""

from __future__ import annotations


import strawberry
from strawberry.types import Info

from auth.sessions import login
from models.errors import BadUserInput
from schema.types.account import AuthPayloadType, UserType


@strawberry.type
class Mutation:
    @strawberry.mutation(description="Log in with username and password; returns a bearer token.")
    async def login(
        self, info: Info, username: str, password: str, wechat_code: str | None = None
    ) -> AuthPayloadType:
        ctx = info.context
        if wechat_code is not None:
            # Binding a WeChat account needs the jscode2session exchange (not built yet).
            raise BadUserInput("wechatCode is not supported yet: log in without it")
        token, user = await login(ctx.engine, username, password, ctx.settings.token_ttl_hours)
        ctx.sign_in(user)  # the payload's nested fields resolve as the new user
        return AuthPayloadType(token=token, user=UserType.of(user))
