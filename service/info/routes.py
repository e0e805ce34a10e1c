"""The ``info`` blueprint: liveness and the server's description for clients."""

from __future__ import annotations

from pydantic import BaseModel
from sanic import Request
from sanic.response import HTTPResponse, json

from .. import __version__
from ..auth.models import ErrorResponse
from ..auth.tokens import bearer_token
from ..errors import ApiBlueprint, Unauthorized
from ..storage import now_ms, store_answers
from .api_docs import Inline, Query, describe

bp = ApiBlueprint("info")


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
@describe(
    "Liveness: answers as long as the server serves requests", responses={200: HealthResponse}
)
async def health(request: Request) -> HTTPResponse:
    return json(HealthResponse(status="ok", timestamp=now_ms()).model_dump())


@bp.get("/readyz")
@describe(
    "Readiness: 200 once the databases answer and the model client is loaded",
    responses={200: Inline(ReadyResponse), 503: Inline(ReadyResponse)},
)
async def readyz(request: Request) -> HTTPResponse:
    store = getattr(request.app.ctx, "store", None)
    hub = getattr(request.app.ctx, "hub", None)
    if store is None or hub is None or not hub.model_ready or not store_answers(store):
        return json(ReadyResponse(status="starting").model_dump(), status=503)
    return json(ReadyResponse(status="ready").model_dump())


@bp.get("/agentx/info")
@describe(
    "Server version and WebSocket path (needs a token)",
    secured=True,
    query=(Query("token", str, "The token, for clients that cannot set headers"),),
    responses={200: InfoResponse, 401: ErrorResponse},
)
async def agentx_info(request: Request) -> HTTPResponse:
    token = bearer_token(request.headers.get("authorization")) or request.args.get("token")
    if not token:
        raise Unauthorized("Unauthorized")
    request.app.ctx.auth.authenticate(token)
    body = InfoResponse(version=__version__, wsPath="/ws", demo=request.app.ctx.settings.demo)
    return json(body.model_dump())
