"""The ``/api/admin`` blueprint (admins only) and ``/api/usage`` (every signed-in user).

``setup_admin`` runs after the app's own start-up listener (a blueprint's listeners are
registered after the app factory's), so the auth service, the hub and the socket registry exist
when it wires the quotas into the hub.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import BaseModel
from sanic import Request, Sanic
from sanic.response import HTTPResponse, json

from ..auth.models import ErrorResponse
from ..auth.tokens import bearer_token
from ..bodies import json_object_body
from ..errors import ApiBlueprint
from ..info.api_docs import Body, Query, describe
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


def _admin_route(
    summary: str,
    answer: tuple[int, type[BaseModel]],
    errors: tuple[int, ...] = (),
    body: type[BaseModel] | None = None,
    query: tuple[Query, ...] = (),
) -> Callable[[Any], Any]:
    """An admin route's description: bearer-secured, 401 and 403 besides ``errors``."""
    responses: dict[int, Body] = {answer[0]: answer[1]}
    responses.update((status, ErrorResponse) for status in (401, 403, *errors))
    return describe(summary, responses=responses, body=body, secured=True, query=query)


@bp.get("/users")
@_admin_route("Every user with today's usage", (200, AdminUsersResponse))
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
@_admin_route(
    "Deactivate a user: their tokens, sockets and runs end at once",
    (200, AdminUserResponse),
    errors=(400, 404),
)
async def deactivate_user(request: Request, user_id: str) -> HTTPResponse:
    return await _set_active(request, user_id, False)


@bp.post("/users/<user_id:str>/activate")
@_admin_route("Let a deactivated user sign in again", (200, AdminUserResponse), errors=(400, 404))
async def activate_user(request: Request, user_id: str) -> HTTPResponse:
    return await _set_active(request, user_id, True)


@bp.post("/users/<user_id:str>/password")
@_admin_route(
    "Set a new password; the user's existing tokens stop working",
    (200, SuccessResponse),
    errors=(400, 404),
    body=PasswordResetRequest,
)
async def reset_password(request: Request, user_id: str) -> HTTPResponse:
    admin = _admin(request)
    acting = admin.require_admin(_token(request))
    await admin.reset_password(acting, user_id, json_object_body(request))
    return json(SuccessResponse(success=True).model_dump())


@bp.post("/users/<user_id:str>/quota")
@_admin_route(
    "Set a user's own daily token limit (null: the server's default)",
    (200, AdminUserResponse),
    errors=(400, 404),
    body=QuotaRequest,
)
async def set_quota(request: Request, user_id: str) -> HTTPResponse:
    admin = _admin(request)
    acting = admin.require_admin(_token(request))
    user = admin.set_quota(acting, user_id, json_object_body(request))
    return json(AdminUserResponse(user=user).model_dump())


@bp.get("/invites")
@_admin_route("Invite codes (their text is never shown again)", (200, InvitesResponse))
async def list_invites(request: Request) -> HTTPResponse:
    _admin(request).require_admin(_token(request))
    return json(InvitesResponse(invites=_admin(request).invites()).model_dump())


@bp.post("/invites")
@_admin_route(
    "Create an invite code; the answer is the only time it is shown",
    (201, InviteCreatedResponse),
    errors=(400,),
    body=InviteCreateRequest,
)
async def create_invite(request: Request) -> HTTPResponse:
    admin = _admin(request)
    acting = admin.require_admin(_token(request))
    created = admin.create_invite(acting, json_object_body(request))
    return json(created.model_dump(), status=201)


@bp.delete("/invites/<invite_id:str>")
@_admin_route("Revoke an invite code", (200, SuccessResponse), errors=(404,))
async def revoke_invite(request: Request, invite_id: str) -> HTTPResponse:
    admin = _admin(request)
    acting = admin.require_admin(_token(request))
    admin.revoke_invite(acting, invite_id)
    return json(SuccessResponse(success=True).model_dump())


@bp.get("/usage")
@_admin_route(
    "Tokens per user per UTC day",
    (200, AdminUsageResponse),
    errors=(400,),
    query=(Query("days", int, "How many days back, today included (1-366)"),),
)
async def usage(request: Request) -> HTTPResponse:
    admin = _admin(request)
    admin.require_admin(_token(request))
    return json(admin.usage(request.args.get("days")).model_dump())


@usage_bp.get("")
@describe(
    "Your own token usage, limit and when it resets",
    secured=True,
    responses={200: UsageResponse, 401: ErrorResponse},
)
async def my_usage(request: Request) -> HTTPResponse:
    admin = _admin(request)
    authenticated = admin.authenticate(_token(request))
    return json(admin.user_usage(authenticated.user).model_dump())
