"""The ``web`` blueprint: the built UI at ``/``, falling back to ``index.html`` for client routes.

- A path that names a file in ``dist`` answers that file. Files under ``assets/`` have content
  hashes in their names, so they are cached for a year; everything else is revalidated (ETag).
- Any other path without a file extension (``/login``, ``/chat/<id>``) answers ``index.html``,
  with ``<base href="{BASE_PATH}/">`` injected so the UI resolves every URL against it, and the
  page's security headers (a Content-Security-Policy that allows only this origin).
- Paths under the server's own areas (``/api``, ``/agentx``, ``/ws``, ``/health``, ``/readyz``,
  ``/docs``) and paths with an extension that name no file answer the usual JSON 404.
- Without ``dist`` (a source checkout where the UI was never built) the HTML routes answer 503
  with a page that says how to build it; the API is unaffected.
"""

from __future__ import annotations

import asyncio
import hashlib
import html
import mimetypes
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote

from sanic import Request
from sanic.response import HTTPResponse, raw
from sanic_ext import openapi

from ..errors import ApiBlueprint, NotFoundError

DEFAULT_DIST_DIR = Path(__file__).resolve().parent / "dist"
INDEX = "index.html"

# First path segments that belong to the server: never answered with the UI.
SERVER_AREAS = frozenset({"api", "agentx", "ws", "health", "readyz", "docs"})

IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"

CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".map": "application/json",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".webmanifest": "application/manifest+json",
    ".woff2": "font/woff2",
    ".woff": "font/woff",
    ".txt": "text/plain; charset=utf-8",
}

_HOST = re.compile(r"^[A-Za-z0-9.\-]+(:\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](:\d{1,5})?$")
_HEAD_TAG = re.compile(rb"<head(\s[^>]*)?>", re.IGNORECASE)
_BASE_TAG = re.compile(rb"<base\s[^>]*>", re.IGNORECASE)

MISSING_UI_PAGE = """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Portagent: the web UI is not built</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 3rem auto; \
padding: 0 1rem; line-height: 1.5">
<h1>The web UI is not built</h1>
<p>This Portagent server runs from a source checkout whose browser UI has not been built yet.
The API, <code>/ws</code> and <a href="docs">/docs</a> work as usual.</p>
<p>Build the UI (it needs Node.js 20 or newer), then reload this page:</p>
<pre>cd web &amp;&amp; npm ci &amp;&amp; npm run build</pre>
<p>or start the server with <code>make run</code>, which builds it first.
Installed packages (<code>pip install portagent</code>, the Docker image) include the built UI.</p>
</body>
</html>
"""

# The build hint is one static page with its own inline style, and nothing else.
MISSING_UI_POLICY = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'"

bp = ApiBlueprint("web")


@dataclass(frozen=True)
class _Loaded:
    stamp: tuple[int, int]
    body: bytes
    etag: str


_cache: dict[Path, _Loaded] = {}


def dist_dir(request: Request) -> Path:
    """Where the built UI is: ``app.ctx.web_dist`` when set (tests), else the package's own."""
    return getattr(request.app.ctx, "web_dist", None) or DEFAULT_DIST_DIR


def _safe_file(root: Path, path: str) -> Path | None:
    """The regular file ``path`` names inside ``root``, or None: no ``..``, no hidden files,
    no NUL or backslash, and nothing that resolves (through links) outside ``root``."""
    segments = path.split("/")
    for segment in segments:
        if not segment or segment.startswith(".") or "\x00" in segment or "\\" in segment:
            return None
    try:
        base = root.resolve()
        candidate = (base / path).resolve()
    except (OSError, ValueError):
        return None
    if not candidate.is_relative_to(base) or not candidate.is_file():
        return None
    return candidate


def _read(path: Path) -> _Loaded:
    """The file's bytes, from memory while its size and mtime are unchanged."""
    info = path.stat()
    stamp = (info.st_mtime_ns, info.st_size)
    cached = _cache.get(path)
    if cached is not None and cached.stamp == stamp:
        return cached
    loaded = _Loaded(stamp, path.read_bytes(), f'"{stamp[0]:x}-{stamp[1]:x}"')
    _cache[path] = loaded
    return loaded


def _not_modified(request: Request, etag: str) -> bool:
    wanted = request.headers.get("if-none-match")
    if not wanted:
        return False
    tags = {tag.strip().removeprefix("W/") for tag in wanted.split(",")}
    return "*" in tags or etag in tags


def _answer(
    request: Request, body: bytes, etag: str, content_type: str, headers: dict[str, str]
) -> HTTPResponse:
    headers = {**headers, "etag": etag}
    if _not_modified(request, etag):
        return HTTPResponse(status=304, headers=headers)
    return raw(body, content_type=content_type, headers=headers)


def content_security_policy(request: Request) -> str:
    """Only this origin: scripts and styles from our files, the WebSocket to our own host.

    ``'self'`` covers ``ws:``/``wss:`` of the page's host in current browsers; the explicit
    ``ws://host wss://host`` is for older ones. Images may come from https (users' avatars).
    No inline scripts or styles: the UI needs none (Preact sets styles through the CSSOM, which
    the policy does not restrict), and a ``style`` attribute in a model's Markdown cannot
    restyle the page.
    """
    connect = ["'self'"]
    host = request.headers.get("host", "")
    if _HOST.match(host):
        connect += [f"ws://{host}", f"wss://{host}"]
    directives = [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data: https:",
        "font-src 'self' data:",
        f"connect-src {' '.join(connect)}",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
    return "; ".join(directives)


def page_headers(request: Request) -> dict[str, str]:
    return {
        "cache-control": REVALIDATE,
        "content-security-policy": content_security_policy(request),
        "referrer-policy": "no-referrer",
        "x-frame-options": "DENY",
        "x-content-type-options": "nosniff",
    }


def render_index(template: bytes, base_path: str) -> bytes:
    """``index.html`` with ``<base href="{base_path}/">`` as the first element of ``<head>``
    (replacing a ``<base>`` the build may carry), so relative URLs work on every client route."""
    tag = f'<base href="{html.escape(base_path, quote=True)}/">'.encode()
    template = _BASE_TAG.sub(b"", template)
    match = _HEAD_TAG.search(template)
    if match is None:
        return tag + template
    return template[: match.end()] + tag + template[match.end() :]


async def _index(request: Request) -> HTTPResponse:
    headers = page_headers(request)
    index = _safe_file(dist_dir(request), INDEX)
    if index is None:
        return raw(
            MISSING_UI_PAGE.encode(),
            status=503,
            content_type=CONTENT_TYPES[".html"],
            headers={
                **headers,
                "cache-control": "no-store",
                "content-security-policy": MISSING_UI_POLICY,
            },
        )
    loaded = await asyncio.to_thread(_read, index)
    body = render_index(loaded.body, request.app.ctx.settings.base_path)
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    return _answer(request, body, etag, CONTENT_TYPES[".html"], headers)


def _content_type(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix in CONTENT_TYPES:
        return CONTENT_TYPES[suffix]
    guessed, _ = mimetypes.guess_type(path.name)
    return guessed or "application/octet-stream"


@bp.route("/", methods=["GET", "HEAD"], name="index")
@openapi.exclude()
async def index(request: Request) -> HTTPResponse:
    return await _index(request)


# Every method: other than GET and HEAD, an unknown path answers 404 as it would without the
# UI, rather than the 405 a GET-only catch-all would cause.
@bp.route("/<path:path>", methods=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"], name="ui_path")
@openapi.exclude()
async def ui_path(request: Request, path: str) -> HTTPResponse:
    """A file of the built UI, or ``index.html`` for a client route."""
    if request.method not in ("GET", "HEAD"):
        raise NotFoundError("Not found")
    # Sanic's router does not decode ``path`` parameters: decode once, then check.
    path = unquote(path)
    segments = path.split("/")
    if segments[0] in SERVER_AREAS or any(s in (".", "..") or "\x00" in s for s in segments):
        raise NotFoundError("Not found")
    if path == INDEX:
        return await _index(request)
    found = _safe_file(dist_dir(request), path)
    if found is not None:
        loaded = await asyncio.to_thread(_read, found)
        cache = IMMUTABLE if path.startswith("assets/") else REVALIDATE
        return _answer(
            request, loaded.body, loaded.etag, _content_type(found), {"cache-control": cache}
        )
    if "." in segments[-1]:
        raise NotFoundError("Not found")
    return await _index(request)
