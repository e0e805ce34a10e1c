"""The ``/api/admin`` blueprint (admins only) and ``/api/usage`` (every signed-in user).

``setup_admin`` runs after the app's own start-up listener (a blueprint's listeners are
registered after the app factory's), so the auth service, the hub and the socket registry exist
when it wires the quotas into the hub.
"""

from __future__ import annotations

from sanic import Request, Sanic
from sanic.response import HTTPResponse, json
from sanic_ext import openapi

from ..auth.models import ErrorResponse
from ..auth.tokens import bearer_token
from ..bodies import json_object_body
from ..errors import ApiBlueprint
from .models import (
    AdminUsageResponse,
    AdminUserResponse,
    AdminUsersResponse,
    InviteCreatedResponse,
    InviteCreateRequest,
    InvitesResponse,
    PasswordResetRequest,
    QuotaRequest,
    SuccessResponse,
    UsageResponse,
)
from .service import AdminService

bp = ApiBlueprint("admin", url_prefix="/api/admin")
usage_bp = ApiBlueprint("usage", url_prefix="/api/usage")

JSON = "application/json"
ERROR = {JSON: openapi.Component(ErrorResponse)}


@bp.before_server_start
async def setup_admin(app: Sanic) -> None:
    sockets, hub = app.ctx.sockets, app.ctx.hub

    def stop_user(user_id: str, reason: str) -> None:
        sockets.close_user(user_id, reason)
        hub.stop_user_runs(user_id)

    app.ctx.admin = AdminService(
        app.ctx.settings, app.ctx.store, app.ctx.auth, running=hub.running_runs, stop_user=stop_user
    )
    hub.admit = app.ctx.admin.quotas.check


def _admin(request: Request) -> AdminService:
    return request.app.ctx.admin


def _token(request: Request) -> str | None:
    return bearer_token(request.headers.get("authorization"))


def _errors(*statuses: int):  # noqa: ANN202 - a decorator
    def decorate(handler):  # noqa: ANN001, ANN202
        for status in (401, 403, *statuses):
            handler = openapi.response(status, ERROR)(handler)
        return openapi.secured("bearer")(handler)

    return decorate


@bp.get("/users")
@openapi.summary("Every user with today's usage")
@openapi.response(200, {JSON: openapi.Component(AdminUsersResponse)})
@_errors()
async def list_users(request: Request) -> HTTPResponse:
    _admin(request).require_admin(_token(request))
    return json(AdminUsersResponse(users=_admin(request).users()).model_dump())


async def _set_active(request: Request, user_id: str, active: bool) -> HTTPResponse:
    admin = _admin(request)
    acting = admin.require_admin(_token(request))
    json_object_body(request)
    user = admin.set_active(acting, user_id, active)
    return json(AdminUserResponse(user=user).model_dump())


@bp.post("/users/<user_id:str>/deactivate")
@openapi.summary("Deactivate a user: their tokens, sockets and runs end at once")
@openapi.response(200, {JSON: openapi.Component(AdminUserResponse)})
@_errors(400, 404)
async def deactivate_user(request: Request, user_id: str) -> HTTPResponse:
    return await _set_active(request, user_id, False)


@bp.post("/users/<user_id:str>/activate")
@openapi.summary("Let a deactivated user sign in again")
@openapi.response(200, {JSON: openapi.Component(AdminUserResponse)})
@_errors(400, 404)
async def activate_user(request: Request, user_id: str) -> HTTPResponse:
    return await _set_active(request, user_id, True)


@bp.post("/users/<user_id:str>/password")
@openapi.summary("Set a new password; the user's existing tokens stop working")
@openapi.body({JSON: openapi.Component(PasswordResetRequest)})
@openapi.response(200, {JSON: openapi.Component(SuccessResponse)})
@_errors(400, 404)
async def reset_password(request: Request, user_id: str) -> HTTPResponse:
    admin = _admin(request)
    acting = admin.require_admin(_token(request))
    await admin.reset_password(acting, user_id, json_object_body(request))
    return json(SuccessResponse(success=True).model_dump())


@bp.post("/users/<user_id:str>/quota")
@openapi.summary("Set a user's own daily token limit (null: the server's default)")
@openapi.body({JSON: openapi.Component(QuotaRequest)})
@openapi.response(200, {JSON: openapi.Component(AdminUserResponse)})
@_errors(400, 404)
async def set_quota(request: Request, user_id: str) -> HTTPResponse:
    admin = _admin(request)
    acting = admin.require_admin(_token(request))
    user = admin.set_quota(acting, user_id, json_object_body(request))
    return json(AdminUserResponse(user=user).model_dump())


@bp.get("/invites")
@openapi.summary("Invite codes (their text is never shown again)")
@openapi.response(200, {JSON: openapi.Component(InvitesResponse)})
@_errors()
async def list_invites(request: Request) -> HTTPResponse:
    _admin(request).require_admin(_token(request))
    return json(InvitesResponse(invites=_admin(request).invites()).model_dump())


@bp.post("/invites")
@openapi.summary("Create an invite code; the answer is the only time it is shown")
@openapi.body({JSON: openapi.Component(InviteCreateRequest)})
@openapi.response(201, {JSON: openapi.Component(InviteCreatedResponse)})
@_errors(400)
async def create_invite(request: Request) -> HTTPResponse:
    admin = _admin(request)
    acting = admin.require_admin(_token(request))
    created = admin.create_invite(acting, json_object_body(request))
    return json(created.model_dump(), status=201)


@bp.delete("/invites/<invite_id:str>")
@openapi.summary("Revoke an invite code")
@openapi.response(200, {JSON: openapi.Component(SuccessResponse)})
@_errors(404)
async def revoke_invite(request: Request, invite_id: str) -> HTTPResponse:
    admin = _admin(request)
    acting = admin.require_admin(_token(request))
    admin.revoke_invite(acting, invite_id)
    return json(SuccessResponse(success=True).model_dump())


@bp.get("/usage")
@openapi.summary("Tokens per user per UTC day")
@openapi.parameter("days", int, "query", description="How many days back, today included (1-366)")
@openapi.response(200, {JSON: openapi.Component(AdminUsageResponse)})
@_errors(400)
async def usage(request: Request) -> HTTPResponse:
    admin = _admin(request)
    admin.require_admin(_token(request))
    return json(admin.usage(request.args.get("days")).model_dump())


@usage_bp.get("")
@openapi.summary("Your own token usage, limit and when it resets")
@openapi.secured("bearer")
@openapi.response(200, {JSON: openapi.Component(UsageResponse)})
@openapi.response(401, ERROR)
async def my_usage(request: Request) -> HTTPResponse:
    admin = _admin(request)
    authenticated = admin.authenticate(_token(request))
    return json(admin.user_usage(authenticated.user).model_dump())
