"""Reading JSON request bodies with the product's error messages."""

from __future__ import annotations

import json
from typing import Any

from sanic import Request

from .errors import BadRequest, UnsupportedMediaType


def _is_json_type(content_type: str) -> bool:
    media_type = content_type.split(";", 1)[0].strip().lower()
    return media_type == "application/json" or media_type.endswith("+json")


def json_object_body(request: Request) -> dict[str, Any]:
    """The body as a JSON object; an empty body counts as ``{}``.

    A non-empty body must be declared as JSON: this also stops cross-site form posts, which
    browsers may send without asking (``text/plain`` or form types).
    """
    raw = request.body
    if not raw or not raw.strip():
        return {}
    if not _is_json_type(request.headers.get("content-type", "")):
        raise UnsupportedMediaType("Content-Type must be application/json")
    try:
        text = raw.decode("utf-8")
        value = json.loads(text)
    except UnicodeDecodeError:
        raise BadRequest("Request body must be UTF-8 encoded JSON") from None
    except RecursionError:
        raise BadRequest("Request body is nested too deeply") from None
    except ValueError:
        raise BadRequest("Invalid JSON in request body") from None
    if not isinstance(value, dict):
        raise BadRequest("Request body must be a JSON object")
    return value
