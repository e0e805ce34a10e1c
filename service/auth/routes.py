"""The ``/api/auth`` blueprint: HTTP in and out, the work is in ``AuthService``."""

from __future__ import annotations

from sanic import Request
from sanic.response import HTTPResponse, json
from sanic_ext import openapi

from ..bodies import json_object_body
from ..errors import ApiBlueprint, InvalidToken
from ..net import client_address
from .models import (
    AuthConfigResponse,
    AuthResponse,
    ErrorResponse,
    LoginRequest,
    LogoutResponse,
    RegisterRequest,
    VerifyResponse,
)
from .service import AuthService, SignedIn, public_user
from .tokens import TOKEN_TTL_LABEL, bearer_token

bp = ApiBlueprint("auth", url_prefix="/api/auth")

# Models are documented as components built from pydantic's own JSON schema
# (``openapi.Component``), so the description shows their names and required fields.
JSON = "application/json"


def _auth(request: Request) -> AuthService:
    return request.app.ctx.auth


def _signed_in(result: SignedIn, status: int) -> HTTPResponse:
    body = AuthResponse(token=result.token, user=result.user, expiresIn=TOKEN_TTL_LABEL)
    return json(body.model_dump(), status=status)


@bp.get("/config")
@openapi.summary("Whether registration needs an invite code")
@openapi.response(200, {JSON: openapi.Component(AuthConfigResponse)})
async def auth_config(request: Request) -> HTTPResponse:
    return json(
        AuthConfigResponse(inviteCodeRequired=_auth(request).invite_code_required).model_dump()
    )


@bp.post("/register")
@openapi.summary("Create an account and sign in")
@openapi.body({JSON: openapi.Component(RegisterRequest)})
@openapi.response(201, {JSON: openapi.Component(AuthResponse)})
@openapi.response(400, {JSON: openapi.Component(ErrorResponse)})
@openapi.response(409, {JSON: openapi.Component(ErrorResponse)})
@openapi.response(429, {JSON: openapi.Component(ErrorResponse)})
async def register(request: Request) -> HTTPResponse:
    body = json_object_body(request)
    address = client_address(request, request.app.ctx.trusted_proxies)
    return _signed_in(await _auth(request).register(body, address), 201)


@bp.post("/login")
@openapi.summary("Sign in with a username or email and a password")
@openapi.body({JSON: openapi.Component(LoginRequest)})
@openapi.response(200, {JSON: openapi.Component(AuthResponse)})
@openapi.response(400, {JSON: openapi.Component(ErrorResponse)})
@openapi.response(401, {JSON: openapi.Component(ErrorResponse)})
@openapi.response(429, {JSON: openapi.Component(ErrorResponse)})
async def login(request: Request) -> HTTPResponse:
    body = json_object_body(request)
    address = client_address(request, request.app.ctx.trusted_proxies)
    return _signed_in(await _auth(request).login(body, address), 200)


@bp.get("/verify")
@openapi.summary("Check a bearer token")
@openapi.secured("bearer")
@openapi.response(200, {JSON: openapi.Component(VerifyResponse)})
@openapi.response(401, {JSON: openapi.Component(VerifyResponse)})
async def verify(request: Request) -> HTTPResponse:
    try:
        authenticated = _auth(request).authenticate(
            bearer_token(request.headers.get("authorization"))
        )
    except InvalidToken:
        return json({"valid": False}, status=401)
    body = VerifyResponse(valid=True, user=public_user(authenticated.user))
    return json(body.model_dump())


@bp.post("/logout")
@openapi.summary("Revoke the bearer token, if one is given")
@openapi.secured("bearer")
@openapi.response(200, {JSON: openapi.Component(LogoutResponse)})
async def logout(request: Request) -> HTTPResponse:
    _auth(request).logout(bearer_token(request.headers.get("authorization")))
    return json(LogoutResponse(success=True).model_dump())
