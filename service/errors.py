"""One hierarchy of domain errors, turned into JSON answers in one place.

Every error a client can cause is a :class:`PortagentError` with an HTTP status, a stable
``code`` (used on the WebSocket) and a message that says what was wrong. ``register_error_handler``
maps these, Sanic's own routing and size errors, and anything unexpected to ``{"error": ...}``.
"""

from __future__ import annotations

import logging
from typing import Any

from sanic import Blueprint, Request, Sanic
from sanic.exceptions import (
    BadRequest as SanicBadRequest,
)
from sanic.exceptions import (
    MethodNotAllowed,
    NotFound,
    PayloadTooLarge,
    SanicException,
    ServiceUnavailable,
)
from sanic.response import HTTPResponse, json

log = logging.getLogger("portagent.errors")

BUSY_RETRY_AFTER_SECONDS = 5

DRAIN_AFTER_413_BYTES = 16 * 1024 * 1024
"""How much of a refused body the server still reads (and drops) after answering 413."""


class PortagentError(Exception):
    """A failure the client caused or must know about."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str, *, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        return {"error": self.message}


class BadRequest(PortagentError):
    status = 400
    code = "bad_request"


class Unauthorized(PortagentError):
    status = 401
    code = "unauthorized"


class Forbidden(PortagentError):
    status = 403
    code = "forbidden"


class NotFoundError(PortagentError):
    status = 404
    code = "not_found"


class Conflict(PortagentError):
    status = 409
    code = "conflict"


class Busy(PortagentError):
    """A reply is still being written in this session."""

    status = 409
    code = "busy"


class TooLarge(PortagentError):
    status = 413
    code = "too_large"


class UnsupportedMediaType(PortagentError):
    status = 415
    code = "bad_request"


class RateLimited(PortagentError):
    status = 429
    code = "rate_limited"

    def __init__(self, retry_after: int) -> None:
        retry_after = max(1, retry_after)
        super().__init__(
            f"Too many attempts, try again in {retry_after} seconds",
            headers={"Retry-After": str(retry_after)},
        )
        self.retry_after = retry_after


class QuotaExceeded(PortagentError):
    """A user's daily token budget or concurrent-run cap is reached."""

    status = 429
    code = "quota_exceeded"


class InvalidToken(Unauthorized):
    """A bearer token that is malformed, forged, expired, revoked or whose user is gone."""

    def __init__(self) -> None:
        super().__init__("Invalid token")


def error_response(error: PortagentError) -> HTTPResponse:
    return json(error.body(), status=error.status, headers=error.headers)


def _request_id(request: Request | None) -> str:
    if request is None:
        return "-"
    return getattr(request.ctx, "request_id", None) or "-"


def handle_exception(request: Request, exception: Exception) -> HTTPResponse:
    """The one place where exceptions become answers."""
    if isinstance(exception, PortagentError):
        return error_response(exception)
    if isinstance(exception, NotFound):
        return json({"error": "Not found"}, status=404)
    if isinstance(exception, MethodNotAllowed):
        return json(
            {"error": f"Method {request.method} not allowed on {request.path}"},
            status=405,
            headers=dict(exception.headers or {}),
        )
    if isinstance(exception, PayloadTooLarge):
        _drain_refused_body(request)
        return json({"error": "Request body too large (limit 1 MiB)"}, status=413)
    if isinstance(exception, ServiceUnavailable):
        # Sanic's response timeout: the server is overloaded, which a retry may get past.
        return json(
            {"error": "The server is too busy to answer in time; try again in a moment"},
            status=503,
            headers={"Retry-After": str(BUSY_RETRY_AFTER_SECONDS)},
        )
    if isinstance(exception, SanicBadRequest):
        return json({"error": "Malformed request"}, status=400)
    if isinstance(exception, SanicException) and 400 <= (exception.status_code or 500) < 500:
        return json(
            {"error": str(exception.message or "Bad request")}, status=exception.status_code
        )
    request_id = _request_id(request)
    log.error(
        "unhandled error on %s %s (request %s)",
        request.method if request else "-",
        request.path if request else "-",
        request_id,
        exc_info=exception,
    )
    return json({"error": "Internal server error", "requestId": request_id}, status=500)


def _drain_refused_body(request: Request | None) -> None:
    """Let Sanic read and drop the rest of a body it refused, up to DRAIN_AFTER_413_BYTES.

    After a 413, Sanic tries to consume the rest of the body, but under the same limit that
    refused it, so it stops at once and closes the socket with the client's upload still
    unread. The kernel then answers with a reset instead of a normal close, and a client
    still sending (a browser uploading, ``http.client``) sees a network error, not the 413.
    Raising this one connection's limit lets the body drain after the answer is sent; the
    connection still closes (Sanic has set ``keep_alive`` off). A body larger than the drain
    limit, or an endless chunked one, is cut off there, as before.
    """
    stream = getattr(request, "stream", None)
    protocol = getattr(stream, "protocol", None)
    if stream is None or protocol is None or not hasattr(stream, "request_max_size"):
        return
    stream.request_max_size = DRAIN_AFTER_413_BYTES
    protocol.request_max_size = DRAIN_AFTER_413_BYTES


def register_error_handler(app: Sanic) -> None:
    app.error_handler.add(Exception, handle_exception)


class ApiBlueprint(Blueprint):
    """A blueprint whose routes declare ``error_format="json"``.

    Every error is answered by :func:`handle_exception`, in JSON, whatever the route. Sanic
    still picks a format for each route without one by reading the handler's source and
    parsing it when the route is declared, which was about 20 ms of start-up across our
    routes; declaring the format skips that.
    """

    def route(self, *args: Any, error_format: str | None = None, **kwargs: Any) -> Any:  # type: ignore[override]
        return super().route(*args, error_format=error_format or "json", **kwargs)
