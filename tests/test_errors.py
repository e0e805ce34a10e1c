"""No request, however malformed, gets a 500 or anything but ``{"error": ...}`` JSON; and CORS
is closed unless named origins open it."""

from __future__ import annotations

import http.client
import json
import re
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sanic import Request, Sanic
from sanic_testing.reusable import ReusableClient
from support.server import ServerProcess, http_json

MIB = 1024 * 1024
JSON = {"content-type": "application/json"}
AUTH_POSTS = ["/api/auth/register", "/api/auth/login"]


def assert_json_error(response: Any, status: int) -> str:
    """The status, a JSON content type, and a body of exactly ``{"error": "<message>"}``."""
    assert response.status == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = json.loads(response.text)
    assert set(body) == {"error"}, body
    assert isinstance(body["error"], str) and body["error"]
    assert "Traceback" not in response.text
    return body["error"]


def post_raw(client: Any, path: str, content: bytes, headers: dict[str, str] = JSON) -> Any:
    _, response = client.post(path, content=content, headers=headers)
    return response


@pytest.mark.parametrize("path", AUTH_POSTS)
@pytest.mark.parametrize(
    "content",
    [
        b"{",
        b'{"username": "alice", "password": ',
        b'{"username": "alice" "password": "x"}',
        b"{'username': 'alice'}",
        b'{"username": "alice",}',
        b"undefined",
        b"\xff\xfe\x00{",
        b'{"username": "\xc3\x28"}',
        b'{"username": 1' + b"0" * 5000 + b"}",
    ],
)
def test_malformed_json_is_400(shared_client: Any, path: str, content: bytes) -> None:
    assert_json_error(post_raw(shared_client, path, content), 400)


@pytest.mark.parametrize("path", AUTH_POSTS)
@pytest.mark.parametrize("content", [b"[]", b'["alice"]', b'"alice"', b"42", b"true", b"null"])
def test_a_body_that_is_not_an_object_is_400(shared_client: Any, path: str, content: bytes) -> None:
    message = assert_json_error(post_raw(shared_client, path, content), 400)
    assert "object" in message


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/api/auth/register", "Username and password are required"),
        ("/api/auth/login", "Username/email and password are required"),
    ],
)
@pytest.mark.parametrize("content", [b"", b"{}", b"   ", b'{"unknown": 1}'])
def test_an_empty_body_is_missing_fields(
    shared_client: Any, path: str, message: str, content: bytes
) -> None:
    assert assert_json_error(post_raw(shared_client, path, content), 400) == message


@pytest.mark.parametrize(
    "body",
    [
        {"username": 1, "password": "secret-password"},
        {"username": 1.5, "password": "secret-password"},
        {"username": {"$gt": ""}, "password": "secret-password"},
        {"username": "alice", "password": ["secret-password"]},
        {"username": "alice", "password": "secret-password", "email": {"a": 1}},
        {"username": "alice", "password": "secret-password", "avatar": 7},
        {"usernameOrEmail": {"$ne": None}, "password": "x"},
        {"usernameOrEmail": "alice", "password": 123456},
    ],
)
@pytest.mark.parametrize("path", AUTH_POSTS)
def test_wrong_field_types_are_400_never_500(
    shared_client: Any, path: str, body: dict[str, Any]
) -> None:
    _, response = shared_client.post(path, json=body)
    assert_json_error(response, 400)


@pytest.mark.parametrize("path", AUTH_POSTS)
@pytest.mark.parametrize(
    "content",
    [
        b'{"username": "alice", "password": "\\ud800\\udfff\\ud800x"}',
        b'{"username": "alice", "password": "secret-\\udc00-password"}',
        b'{"usernameOrEmail": "\\ud800@example.com", "password": "secret-password"}',
        b'{"username": "alice", "password": "secret-password", "email": "\\ud800@ex.com"}',
        b'{"username": "alice", "password": "secret-password", "displayName": "\\udfff"}',
        b'{"\\ud800": 1, "username": "alice", "password": "secret-password"}',
    ],
)
def test_lone_surrogate_escapes_are_400_never_500(
    shared_client: Any, path: str, content: bytes
) -> None:
    assert_json_error(post_raw(shared_client, path, content), 400)


def test_escaped_surrogate_pairs_are_fine(shared_client: Any) -> None:
    # "\ud83d\ude00" is one emoji, written as a valid surrogate pair.
    content = b'{"username": "emoji", "password": "pw-\\ud83d\\ude00-pw", "displayName": "A"}'
    assert post_raw(shared_client, "/api/auth/register", content).status == 201
    _, response = shared_client.post(
        "/api/auth/login", json={"usernameOrEmail": "emoji", "password": "pw-\U0001f600-pw"}
    )
    assert response.status == 200


@pytest.mark.parametrize("path", AUTH_POSTS)
@pytest.mark.parametrize(
    "content",
    [
        b"[" * 100_000 + b"]" * 100_000,
        b'{"a":' * 50_000 + b"1" + b"}" * 50_000,
        b'{"username": ' + b"[" * 100_000 + b"]" * 100_000 + b', "password": "x"}',
    ],
)
def test_deep_nesting_is_400(shared_client: Any, path: str, content: bytes) -> None:
    assert_json_error(post_raw(shared_client, path, content), 400)


@pytest.mark.parametrize("path", AUTH_POSTS)
@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"],
)
def test_a_body_not_declared_as_json_is_refused(
    shared_client: Any, path: str, content_type: str
) -> None:
    body = b'{"username": "alice", "password": "secret-password"}'
    response = post_raw(shared_client, path, body, {"content-type": content_type})
    message = assert_json_error(response, 415)
    assert "application/json" in message


def test_json_with_a_charset_is_fine(shared_client: Any) -> None:
    body = b'{"username": "charset", "password": "secret-password"}'
    headers = {"content-type": "application/json; charset=utf-8"}
    assert post_raw(shared_client, "/api/auth/register", body, headers).status == 201


def test_a_body_over_1_mib_is_413(shared_client: Any) -> None:
    body = json.dumps({"username": "big", "password": "x" * MIB}).encode()
    assert len(body) > MIB
    for path in (*AUTH_POSTS, "/api/auth/logout"):
        assert_json_error(post_raw(shared_client, path, body), 413)


def test_a_body_just_under_1_mib_is_read(shared_client: Any) -> None:
    padding = MIB - 100
    body = json.dumps({"username": "big", "password": "p" * padding}).encode()
    assert len(body) < MIB
    message = assert_json_error(post_raw(shared_client, "/api/auth/register", body), 400)
    assert message == "Password must be at most 256 characters"


def test_a_chunked_body_over_1_mib_is_413(tmp_path: Path) -> None:
    """A chunked body has no Content-Length: the server must count as it reads. The client sends
    just over 1 MiB and then waits (no final chunk), so the answer cannot race a reset caused
    by unread bytes. A real server process, since the test client serves only during its own
    requests."""
    chunk = b"x" * 65_536
    head = (
        b"POST /api/auth/login HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    body = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(MIB // len(chunk) + 1))
    with (
        ServerProcess(tmp_path / "data", "http://127.0.0.1:9") as server,
        socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock,
    ):
        sock.sendall(head + body)
        answer = b""
        while b"\r\n\r\n" not in answer or not answer.rstrip().endswith(b"}"):
            part = sock.recv(65_536)
            if not part:
                break
            answer += part
    status_line, _, rest = answer.partition(b"\r\n")
    assert status_line.split()[1] == b"413", answer[:300]
    payload = json.loads(rest.split(b"\r\n\r\n", 1)[1])
    assert payload == {"error": "Request body too large (limit 1 MiB)"}


def test_a_client_still_uploading_a_big_body_reads_the_413(tmp_path: Path) -> None:
    """A client that sends its whole body before reading (as ``http.client`` and browsers do)
    gets the 413, not a connection reset: the server reads and drops the rest of the body
    after answering instead of closing on unread bytes. At 8 MiB every attempt used to end in
    a reset."""
    body = b"x" * (8 * MIB)
    with ServerProcess(tmp_path / "data", "http://127.0.0.1:9") as server:
        for _ in range(5):
            connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=15)
            try:
                connection.request("POST", "/api/auth/login", body=body, headers=JSON)
                response = connection.getresponse()
                payload = json.loads(response.read())
            finally:
                connection.close()
            assert response.status == 413
            assert payload == {"error": "Request body too large (limit 1 MiB)"}
        assert http_json(server.base, "GET", "/health")[0] == 200


@pytest.mark.parametrize(
    ("method", "path"),
    [
        # Other GET paths without an extension are the web UI's client routes (index.html).
        ("get", "/nowhere.txt"),
        ("get", "/api/auth/nowhere"),
        ("post", "/api/nowhere"),
        ("get", "/api/auth/register/extra"),
        ("get", "/agentx/nowhere"),
        ("get", "/%00"),
        ("get", "/api/" + "a" * 5000),
    ],
)
def test_an_unknown_route_is_404_json(shared_client: Any, method: str, path: str) -> None:
    _, response = getattr(shared_client, method)(path)
    assert_json_error(response, 404)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/auth/register"),
        ("get", "/api/auth/login"),
        ("put", "/api/auth/login"),
        ("delete", "/api/auth/verify"),
        ("post", "/api/auth/verify"),
        ("get", "/api/auth/logout"),
        ("post", "/health"),
        ("patch", "/agentx/info"),
        ("post", "/api/auth/config"),
    ],
)
def test_a_wrong_method_is_405_json(shared_client: Any, method: str, path: str) -> None:
    _, response = getattr(shared_client, method)(path)
    assert_json_error(response, 405)
    assert "allow" in response.headers


def test_query_strings_do_not_confuse_the_routes(shared_client: Any) -> None:
    _, response = shared_client.get("/health?x=1&x=2&%ff=%00")
    assert response.status == 200
    _, response = shared_client.post(
        "/api/auth/login?usernameOrEmail=alice", json={"password": "x"}
    )
    assert assert_json_error(response, 400) == "Username/email and password are required"


def test_an_unexpected_failure_is_a_generic_500_with_a_request_id(
    make_app: Callable[..., Any], free_port: Callable[[], int]
) -> None:
    app = make_app()

    async def explode(request: Request) -> Any:
        raise RuntimeError("database password is hunter2")

    app.add_route(explode, "/explode")
    with ReusableClient(app, host="127.0.0.1", port=free_port()) as client:
        _, response = client.get("/explode")
    assert response.status == 500
    body = response.json
    assert set(body) == {"error", "requestId"}
    assert body["error"] == "Internal server error"
    assert body["requestId"] and re.fullmatch(r"[\w-]+", body["requestId"])
    assert "hunter2" not in response.text
    log = (app.ctx.settings.data_dir / "logs" / "portagent.log").read_text()
    assert body["requestId"] in log
    assert "RuntimeError" in log


# --- CORS ----------------------------------------------------------------------------------------

PREFLIGHT = {
    "access-control-request-method": "POST",
    "access-control-request-headers": "content-type, authorization",
}


def test_no_cors_headers_by_default(shared_client: Any) -> None:
    origin = {"origin": "https://elsewhere.example.com"}
    _, response = shared_client.get("/health", headers=origin)
    assert response.status == 200
    _, preflight = shared_client.options("/api/auth/login", headers={**origin, **PREFLIGHT})
    _, post = shared_client.post("/api/auth/login", json={}, headers=origin)
    for answer in (response, preflight, post):
        assert not [name for name in answer.headers if name.lower().startswith("access-control")]


def test_a_named_origin_is_allowed(serve: Callable[..., Any]) -> None:
    allowed = "https://chat.example.com"
    with serve(CORS_ORIGINS=f"{allowed},https://other.example.com") as client:
        _, preflight = client.options("/api/auth/login", headers={"origin": allowed, **PREFLIGHT})
        _, post = client.post("/api/auth/login", json={}, headers={"origin": allowed})
        _, stranger = client.get("/health", headers={"origin": "https://evil.example.com"})
        _, stranger_preflight = client.options(
            "/api/auth/login", headers={"origin": "https://evil.example.com", **PREFLIGHT}
        )

    assert preflight.status in (200, 204)
    assert preflight.headers["access-control-allow-origin"] == allowed
    assert "POST" in preflight.headers["access-control-allow-methods"].upper()
    allowed_headers = preflight.headers["access-control-allow-headers"].lower()
    assert "content-type" in allowed_headers and "authorization" in allowed_headers
    assert post.headers["access-control-allow-origin"] == allowed
    assert_json_error(post, 400)
    for answer in (stranger, stranger_preflight):
        assert "access-control-allow-origin" not in answer.headers


@pytest.mark.parametrize("origins", ["*", "https://chat.example.com"])
def test_never_a_wildcard_with_credentials(serve: Callable[..., Any], origins: str) -> None:
    origin = "https://chat.example.com"
    with serve(CORS_ORIGINS=origins) as client:
        answers = [
            client.options("/api/auth/login", headers={"origin": origin, **PREFLIGHT})[1],
            client.get("/health", headers={"origin": origin})[1],
        ]
    for answer in answers:
        allow_origin = answer.headers.get("access-control-allow-origin")
        assert allow_origin is not None
        credentials = answer.headers.get("access-control-allow-credentials", "").lower()
        assert not (allow_origin == "*" and credentials == "true")


def test_an_answer_that_takes_too_long_is_503_with_retry_after(
    make_app: Callable[..., Any], free_port: Callable[[], int]
) -> None:
    """Sanic's response timeout (here forced short, while a cost-14 bcrypt hash runs) is an
    overloaded server, not a bug: 503 JSON with Retry-After, never a 500."""
    app = make_app(BCRYPT_ROUNDS="14")
    app.config.RESPONSE_TIMEOUT = 0.2
    try:
        with ReusableClient(app, host="127.0.0.1", port=free_port()) as client:
            _, response = client.post(
                "/api/auth/register", json={"username": "slow", "password": "a-good-password"}
            )
    finally:
        Sanic.unregister_app(app)
    assert_json_error(response, 503)
    assert response.json["error"].startswith("The server is too busy")
    assert int(response.headers["retry-after"]) > 0
