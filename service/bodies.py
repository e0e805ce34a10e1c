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
    _require_encodable(value)
    return value


def _require_encodable(value: dict[str, Any]) -> None:
    """Refuse strings that cannot be written back as UTF-8.

    JSON may spell an unpaired surrogate (``"\\ud800"``); Python decodes it into a ``str`` that
    later fails to encode (hashing, SQLite), which would surface as a 500.
    """
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise BadRequest("Request body holds an invalid Unicode escape (lone surrogate)") from None
