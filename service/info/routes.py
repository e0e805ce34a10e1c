"""The ``info`` blueprint: liveness and the server's description for clients."""

from __future__ import annotations

from pydantic import BaseModel
from sanic import Request
from sanic.response import HTTPResponse, json
from sanic_ext import openapi

from .. import __version__
from ..auth.models import ErrorResponse
from ..auth.tokens import bearer_token
from ..errors import ApiBlueprint, Unauthorized
from ..storage import now_ms, store_answers

bp = ApiBlueprint("info")

JSON = "application/json"


class HealthResponse(BaseModel):
    status: str
    timestamp: int


class ReadyResponse(BaseModel):
    status: str


class InfoResponse(BaseModel):
    version: str
    wsPath: str
    demo: bool


@bp.get("/health")
@openapi.summary("Liveness: answers as long as the server serves requests")
@openapi.response(200, {JSON: openapi.Component(HealthResponse)})
async def health(request: Request) -> HTTPResponse:
    return json(HealthResponse(status="ok", timestamp=now_ms()).model_dump())


@bp.get("/readyz")
@openapi.summary("Readiness: 200 once the databases answer and the model client is loaded")
@openapi.response(200, {JSON: ReadyResponse})
@openapi.response(503, {JSON: ReadyResponse})
async def readyz(request: Request) -> HTTPResponse:
    store = getattr(request.app.ctx, "store", None)
    hub = getattr(request.app.ctx, "hub", None)
    if store is None or hub is None or not hub.model_ready or not store_answers(store):
        return json(ReadyResponse(status="starting").model_dump(), status=503)
    return json(ReadyResponse(status="ready").model_dump())


@bp.get("/agentx/info")
@openapi.summary("Server version and WebSocket path (needs a token)")
@openapi.secured("bearer")
@openapi.parameter(
    "token", str, "query", description="The token, for clients that cannot set headers"
)
@openapi.response(200, {JSON: openapi.Component(InfoResponse)})
@openapi.response(401, {JSON: openapi.Component(ErrorResponse)})
async def agentx_info(request: Request) -> HTTPResponse:
    token = bearer_token(request.headers.get("authorization")) or request.args.get("token")
    if not token:
        raise Unauthorized("Unauthorized")
    request.app.ctx.auth.authenticate(token)
    body = InfoResponse(version=__version__, wsPath="/ws", demo=request.app.ctx.settings.demo)
    return json(body.model_dump())
