"""The ``/ws`` blueprint: refuse strangers before the handshake, then run the socket."""

from __future__ import annotations

import asyncio
import logging
from urllib.parse import urlsplit

from sanic import Blueprint, Request
from sanic.exceptions import WebsocketClosed
from sanic.response import HTTPResponse, json
from sanic.server.websockets.impl import WebsocketImplProtocol
from websockets.exceptions import ConnectionClosed

from .. import __version__
from ..auth.service import Authenticated, public_user
from ..auth.tokens import bearer_token
from ..errors import InvalidToken
from ..net import public_host
from .connection import PROTOCOL_VERSION, Connection, handle_frame

log = logging.getLogger("portagent.ws")

bp = Blueprint("ws")


def _origin_allowed(request: Request) -> bool:
    """Browsers always send Origin: accept our own and the configured ones. Other clients
    (no Origin) are accepted; they authenticate with their token like everyone else."""
    origin = request.headers.get("origin")
    if not origin:
        return True
    settings = request.app.ctx.settings
    if "*" in settings.cors_origins or origin.rstrip("/") in settings.cors_origins:
        return True
    parts = urlsplit(origin)
    host = public_host(request, request.app.ctx.trusted_proxies)
    return bool(parts.netloc) and parts.netloc.lower() == host.lower()


@bp.on_request
async def authenticate_socket(request: Request) -> HTTPResponse | None:
    if not _origin_allowed(request):
        return json({"error": "Origin not allowed"}, status=403)
    token = request.args.get("token") or bearer_token(request.headers.get("authorization"))
    if not token:
        return json({"error": "Unauthorized"}, status=401)
    try:
        request.ctx.authenticated = request.app.ctx.auth.authenticate(token)
    except InvalidToken:
        return json({"error": "Invalid token"}, status=401)
    return None


@bp.websocket("/ws")
async def socket(request: Request, ws: WebsocketImplProtocol) -> None:
    authenticated: Authenticated = request.ctx.authenticated
    user = public_user(authenticated.user)
    hub = request.app.ctx.hub
    registry = request.app.ctx.sockets
    conn = Connection(
        ws,
        hub,
        user,
        token_id=authenticated.claims.jti,
        token_expires_at=authenticated.claims.expires_at,
    )
    hub.connect(conn)
    registry.add(conn)
    writer = asyncio.get_running_loop().create_task(conn.write_loop())
    log.info("socket opened user=%s sockets=%d", user.userId, hub.socket_count)
    conn.send_json(
        {
            "type": "hello",
            "protocol": PROTOCOL_VERSION,
            "user": user.model_dump(),
            "server": {"version": __version__, "demo": request.app.ctx.settings.demo},
        }
    )
    try:
        while True:
            frame = await ws.recv()
            if frame is None:
                continue
            handle_frame(conn, frame)
    except (ConnectionClosed, WebsocketClosed):
        pass
    finally:
        hub.disconnect(conn)
        registry.discard(conn)
        writer.cancel()
        log.info("socket closed user=%s sockets=%d", user.userId, hub.socket_count)
