"""Serving the built UI: files, the client-route fallback, caching, headers, and no traversal.

These tests use a small ``dist`` of their own (``app.ctx.web_dist``), so they do not depend on
the real build; the browser tests run the real one.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sanic import Sanic
from sanic_testing.reusable import ReusableClient
from support.server import free_port

from service.app import create_app, next_test_app_name
from service.config import load_settings

INDEX = (
    '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Portagent</title>'
    '<script type="module" crossorigin src="./assets/index-abc123.js"></script></head>'
    '<body><div id="app"></div></body></html>'
)
SCRIPT = "console.log('portagent');\n"


def make_dist(root: Path) -> Path:
    (root / "assets").mkdir(parents=True)
    (root / "index.html").write_text(INDEX)
    (root / "assets" / "index-abc123.js").write_text(SCRIPT)
    (root / "assets" / "index-abc123.css").write_text("body{color:red}")
    (root / "favicon.svg").write_text('<svg xmlns="http://www.w3.org/2000/svg"/>')
    (root / ".hidden").write_text("not for you")
    (root.parent / "secret.txt").write_text("outside the dist folder")
    return root


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ReusableClient]:
    """One server with a small built UI for the module's read-only checks."""
    root = tmp_path_factory.mktemp("web-serving")
    settings = load_settings(
        environ={},
        overrides={
            "DATA_DIR": str(root / "data-dir"),
            "LLM_PROVIDER_KEY": "sk-ant-test-0123456789abcdefghijklmnop",
            "INVITE_CODE_REQUIRED": "false",
        },
        cwd=root,
    )
    app = create_app(settings, name=next_test_app_name())
    app.ctx.web_dist = make_dist(root / "dist")
    try:
        with ReusableClient(app, host="127.0.0.1", port=free_port()) as reusable:
            yield reusable
    finally:
        Sanic.unregister_app(app)


@pytest.mark.parametrize("path", ["/", "/login", "/register", "/chat", "/chat/abc-123", "/x/y/z"])
def test_client_routes_answer_the_index_with_a_base_href(client, path: str) -> None:
    _, response = client.get(path)
    assert response.status == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert response.headers["cache-control"] == "no-cache"
    assert '<head><base href="/">' in response.text
    assert "./assets/index-abc123.js" in response.text


def test_the_page_carries_security_headers(client) -> None:
    _, response = client.get("/chat")
    policy = response.headers["content-security-policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";"))
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"
    assert directives["object-src"] == "'none'"
    assert directives["connect-src"].startswith("'self' ws://127.0.0.1:")
    assert "unsafe-eval" not in policy
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["x-frame-options"] == "DENY"


def test_hashed_assets_are_cached_for_a_year(client) -> None:
    _, script = client.get("/assets/index-abc123.js")
    assert script.status == 200 and script.text == SCRIPT
    assert script.headers["content-type"] == "text/javascript; charset=utf-8"
    assert script.headers["cache-control"] == "public, max-age=31536000, immutable"
    _, style = client.get("/assets/index-abc123.css")
    assert style.headers["content-type"] == "text/css; charset=utf-8"
    _, icon = client.get("/favicon.svg")
    assert icon.headers["content-type"] == "image/svg+xml"
    assert icon.headers["cache-control"] == "no-cache"


def test_etags_answer_304_when_unchanged(client) -> None:
    for path in ("/assets/index-abc123.js", "/", "/chat/1"):
        _, first = client.get(path)
        etag = first.headers["etag"]
        _, again = client.get(path, headers={"if-none-match": etag})
        assert again.status == 304, path
        assert again.body == b""
        _, other = client.get(path, headers={"if-none-match": '"something-else"'})
        assert other.status == 200


def test_head_answers_headers_without_a_body(client) -> None:
    _, head = client.head("/assets/index-abc123.js")
    assert head.status == 200
    assert head.body == b""
    assert head.headers["content-type"] == "text/javascript; charset=utf-8"
    _, page = client.head("/login")
    assert page.status == 200 and page.body == b""


@pytest.mark.parametrize(
    "path",
    [
        "/api/nothing-here",
        "/api/auth/nothing",
        "/agentx/other",
        "/docs/nothing",
        "/health/x",
        "/ws/x",
        "/missing.js",
        "/assets/index-000000.js",
        "/.hidden",
        "/assets/../../secret.txt",
        "/%2e%2e/secret.txt",
        "/assets/%2e%2e/%2e%2e/secret.txt",
        "/assets/..%2f..%2fsecret.txt",
        "/..%5c..%5csecret.txt",
        "/chat/%00",
        "/assets/index-abc123.js%00.html",
    ],
)
def test_server_paths_and_unknown_files_are_json_404s(client, path: str) -> None:
    _, response = client.get(path)
    assert response.status == 404, response.text
    assert response.json == {"error": "Not found"}
    assert "outside the dist folder" not in response.text


@pytest.mark.parametrize(
    ("method", "path"), [("post", "/api/nowhere"), ("post", "/login"), ("delete", "/chat/1")]
)
def test_other_methods_on_unknown_paths_are_404s(client, method: str, path: str) -> None:
    _, response = getattr(client, method)(path)
    assert response.status == 404
    assert response.json == {"error": "Not found"}


def test_the_api_is_never_shadowed(client) -> None:
    _, config = client.get("/api/auth/config")
    assert config.json == {"inviteCodeRequired": False}
    _, health = client.get("/health")
    assert health.json["status"] == "ok"
    _, wrong_method = client.get("/api/auth/login")
    assert wrong_method.status == 405
    assert wrong_method.json["error"] == "Method GET not allowed on /api/auth/login"
    _, put = client.put("/api/auth/login")
    assert put.status == 405
    _, unknown = client.get("/api/unknown")
    assert unknown.status == 404 and unknown.json == {"error": "Not found"}
    _, spec = client.get("/docs/openapi.json")
    assert not any(path == "/" or "<" in path for path in spec.json["paths"])
    _, docs = client.get("/docs/swagger")
    assert docs.status == 200 and "swagger" in docs.text.lower()
    _, not_upgraded = client.get("/ws")
    assert "text/html" not in not_upgraded.headers.get("content-type", "")


def test_the_ui_moves_under_the_base_path(serve, tmp_path: Path) -> None:
    with serve(BASE_PATH="/portagent") as client:
        client.app.ctx.web_dist = make_dist(tmp_path / "dist")
        for path in ("/portagent/", "/portagent", "/portagent/chat/42"):
            _, page = client.get(path)
            assert page.status == 200, path
            assert '<base href="/portagent/">' in page.text
        _, script = client.get("/portagent/assets/index-abc123.js")
        assert script.status == 200 and script.text == SCRIPT
        _, outside = client.get("/chat")
        assert outside.status == 404
        _, api = client.get("/portagent/api/unknown")
        assert api.status == 404 and api.json == {"error": "Not found"}


def test_without_a_build_the_page_says_how_to_make_one(serve, tmp_path: Path) -> None:
    with serve() as client:
        client.app.ctx.web_dist = tmp_path / "never-built"
        _, page = client.get("/")
        assert page.status == 503
        assert "npm ci &amp;&amp; npm run build" in page.text and "make run" in page.text
        assert page.headers["cache-control"] == "no-store"
        assert page.headers["content-security-policy"].startswith("default-src 'none'")
        _, route = client.get("/chat/1")
        assert route.status == 503
        _, asset = client.get("/assets/index-abc123.js")
        assert asset.status == 404
        _, health = client.get("/health")
        assert health.status == 200
