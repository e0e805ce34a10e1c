"""The ``/api/auth`` blueprint: HTTP in and out, the work is in ``AuthService``."""

from __future__ import annotations

from sanic import Request
from sanic.response import HTTPResponse, json

from ..bodies import json_object_body
from ..errors import ApiBlueprint, InvalidToken
from ..info.api_docs import describe
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


def _auth(request: Request) -> AuthService:
    return request.app.ctx.auth


def _signed_in(result: SignedIn, status: int) -> HTTPResponse:
    body = AuthResponse(token=result.token, user=result.user, expiresIn=TOKEN_TTL_LABEL)
    return json(body.model_dump(), status=status)


@bp.get("/config")
@describe("Whether registration needs an invite code", responses={200: AuthConfigResponse})
async def auth_config(request: Request) -> HTTPResponse:
    return json(
        AuthConfigResponse(inviteCodeRequired=_auth(request).invite_code_required).model_dump()
    )


@bp.post("/register")
@describe(
    "Create an account and sign in",
    body=RegisterRequest,
    responses={201: AuthResponse, 400: ErrorResponse, 409: ErrorResponse, 429: ErrorResponse},
)
async def register(request: Request) -> HTTPResponse:
    body = json_object_body(request)
    address = client_address(request, request.app.ctx.trusted_proxies)
    return _signed_in(await _auth(request).register(body, address), 201)


@bp.post("/login")
@describe(
    "Sign in with a username or email and a password",
    body=LoginRequest,
    responses={200: AuthResponse, 400: ErrorResponse, 401: ErrorResponse, 429: ErrorResponse},
)
async def login(request: Request) -> HTTPResponse:
    body = json_object_body(request)
    address = client_address(request, request.app.ctx.trusted_proxies)
    return _signed_in(await _auth(request).login(body, address), 200)


@bp.get("/verify")
@describe(
    "Check a bearer token", secured=True, responses={200: VerifyResponse, 401: VerifyResponse}
)
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
@describe("Revoke the bearer token, if one is given", secured=True, responses={200: LogoutResponse})
async def logout(request: Request) -> HTTPResponse:
    _auth(request).logout(bearer_token(request.headers.get("authorization")))
    return json(LogoutResponse(success=True).model_dump())
