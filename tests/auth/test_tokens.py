"""Tokens: their claims, /verify, /agentx/info, logout and revocation, and every kind of bad
token being refused the same way."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable
from importlib.metadata import version
from typing import Any

import jwt
import pytest
from pony.orm import db_session

PASSWORD = "secret-password"
SEVEN_DAYS = 7 * 24 * 3600


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def secret_of(client: Any) -> str:
    """The generated signing secret, as kept in the data directory."""
    return (client.app.ctx.settings.data_dir / "data" / ".jwt_secret").read_text().strip()


def verify(client: Any, headers: dict[str, str] | None = None) -> tuple[int, Any]:
    _, response = client.get("/api/auth/verify", headers=headers or {})
    return response.status, response.json


def info(client: Any, path: str = "/agentx/info", headers: dict[str, str] | None = None) -> Any:
    _, response = client.get(path, headers=headers or {})
    return response


@pytest.fixture(scope="module")
def alice(shared_client: Any) -> dict[str, Any]:
    _, response = shared_client.post(
        "/api/auth/register", json={"username": "alice", "password": PASSWORD}
    )
    assert response.status == 201
    return response.json


def sign_in(client: Any, username: str = "alice") -> str:
    _, response = client.post(
        "/api/auth/login", json={"usernameOrEmail": username, "password": PASSWORD}
    )
    assert response.status == 200
    return response.json["token"]


def b64(data: dict[str, Any]) -> str:
    raw = json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def test_a_token_is_hs256_with_sub_iat_exp_and_jti(
    shared_client: Any, alice: dict[str, Any]
) -> None:
    token = alice["token"]
    assert jwt.get_unverified_header(token)["alg"] == "HS256"
    claims = jwt.decode(token, secret_of(shared_client), algorithms=["HS256"])
    assert claims["sub"] == alice["user"]["userId"]
    assert abs(claims["iat"] - time.time()) < 60
    assert claims["exp"] - claims["iat"] == SEVEN_DAYS
    assert isinstance(claims["jti"], str) and claims["jti"]


def test_every_token_has_its_own_jti(shared_client: Any, alice: dict[str, Any]) -> None:
    secret = secret_of(shared_client)
    jtis = {
        jwt.decode(sign_in(shared_client), secret, algorithms=["HS256"])["jti"] for _ in range(3)
    }
    assert len(jtis) == 3


def test_verify_answers_valid_and_the_user(shared_client: Any, alice: dict[str, Any]) -> None:
    assert verify(shared_client, bearer(alice["token"])) == (
        200,
        {"valid": True, "user": alice["user"]},
    )


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": ""},
        {"Authorization": "Bearer"},
        {"Authorization": "Token abc"},
        {"Authorization": "Basic YWxpY2U6c2VjcmV0"},
        {"Authorization": "Bearer not-a-jwt"},
        {"Authorization": "Bearer a.b.c"},
    ],
)
def test_verify_without_a_good_token_answers_valid_false(
    shared_client: Any, headers: dict[str, str]
) -> None:
    assert verify(shared_client, headers) == (401, {"valid": False})


def test_agentx_info_with_a_token_describes_the_server(
    shared_client: Any, alice: dict[str, Any]
) -> None:
    for response in (
        info(shared_client, headers=bearer(alice["token"])),
        info(shared_client, f"/agentx/info?token={alice['token']}"),
    ):
        assert response.status == 200
        assert response.json["version"] == version("portagent")
        assert response.json["wsPath"] == "/ws"


def test_agentx_info_without_a_token_is_unauthorized(shared_client: Any) -> None:
    for path in ("/agentx/info", "/agentx/info?token="):
        response = info(shared_client, path)
        assert response.status == 401
        assert response.json == {"error": "Unauthorized"}


def test_agentx_info_with_a_bad_token_is_invalid_token(shared_client: Any) -> None:
    for response in (
        info(shared_client, "/agentx/info?token=garbage"),
        info(shared_client, headers=bearer("garbage")),
    ):
        assert response.status == 401
        assert response.json == {"error": "Invalid token"}


def _forged_tokens(user_id: str, secret: str) -> dict[str, str]:
    now = int(time.time())
    claims = {"sub": user_id, "iat": now, "exp": now + 3600, "jti": "forged-jti"}
    unsigned = f"{b64({'alg': 'none', 'typ': 'JWT'})}.{b64(claims)}"
    good = jwt.encode(claims, secret, algorithm="HS256")
    head, body, signature = good.split(".")
    tampered_body = b64({**claims, "sub": "someone-else"})
    return {
        "another secret": jwt.encode(claims, "x" * 32 + "another-secret", algorithm="HS256"),
        "alg none": unsigned + ".",
        "alg none, no signature part": unsigned,
        "alg none, with the real signature": f"{unsigned}.{signature}",
        "HS512 with the right secret": jwt.encode(claims, secret, algorithm="HS512"),
        "HS384 with the right secret": jwt.encode(claims, secret, algorithm="HS384"),
        "tampered claims": f"{head}.{tampered_body}.{signature}",
        "expired": jwt.encode(
            {**claims, "iat": now - SEVEN_DAYS - 60, "exp": now - 60}, secret, algorithm="HS256"
        ),
        "no sub": jwt.encode(
            {k: v for k, v in claims.items() if k != "sub"}, secret, algorithm="HS256"
        ),
        "empty sub": jwt.encode({**claims, "sub": ""}, secret, algorithm="HS256"),
        "numeric sub": jwt.encode({**claims, "sub": 1}, secret, algorithm="HS256"),
        "no exp": jwt.encode(
            {k: v for k, v in claims.items() if k != "exp"}, secret, algorithm="HS256"
        ),
        "no jti": jwt.encode(
            {k: v for k, v in claims.items() if k != "jti"}, secret, algorithm="HS256"
        ),
        "unknown user": jwt.encode({**claims, "sub": "no-such-user"}, secret, algorithm="HS256"),
        "not yet valid": jwt.encode({**claims, "nbf": now + 3600}, secret, algorithm="HS256"),
    }


FORGERIES = list(_forged_tokens("u", "s" * 64))


@pytest.mark.parametrize("kind", FORGERIES)
def test_bad_tokens_are_refused_everywhere(
    shared_client: Any, alice: dict[str, Any], kind: str
) -> None:
    token = _forged_tokens(alice["user"]["userId"], secret_of(shared_client))[kind]
    assert verify(shared_client, bearer(token)) == (401, {"valid": False})
    for response in (
        info(shared_client, headers=bearer(token)),
        info(shared_client, f"/agentx/info?token={token}"),
    ):
        assert response.status == 401
        assert response.json == {"error": "Invalid token"}


def test_the_forgery_check_is_not_vacuous(shared_client: Any, alice: dict[str, Any]) -> None:
    """A token made the same way as the forgeries, but correctly, is accepted."""
    now = int(time.time())
    claims = {"sub": alice["user"]["userId"], "iat": now, "exp": now + 3600, "jti": "my-own"}
    token = jwt.encode(claims, secret_of(shared_client), algorithm="HS256")
    assert verify(shared_client, bearer(token))[0] == 200


def test_logout_without_a_token_succeeds(shared_client: Any) -> None:
    for headers in ({}, bearer("garbage"), {"Authorization": "Basic abc"}):
        _, response = shared_client.post("/api/auth/logout", headers=headers)
        assert response.status == 200
        assert response.json == {"success": True}


def test_logout_revokes_that_token_everywhere_and_only_that_one(
    shared_client: Any, alice: dict[str, Any]
) -> None:
    leaving, staying = sign_in(shared_client), sign_in(shared_client)
    _, response = shared_client.post("/api/auth/logout", headers=bearer(leaving))
    assert response.status == 200
    assert response.json == {"success": True}

    assert verify(shared_client, bearer(leaving)) == (401, {"valid": False})
    for response in (
        info(shared_client, headers=bearer(leaving)),
        info(shared_client, f"/agentx/info?token={leaving}"),
    ):
        assert response.status == 401
        assert response.json == {"error": "Invalid token"}

    assert verify(shared_client, bearer(staying))[0] == 200
    assert info(shared_client, headers=bearer(staying)).status == 200
    # A second logout with the revoked token is harmless.
    _, response = shared_client.post("/api/auth/logout", headers=bearer(leaving))
    assert response.json == {"success": True}


def test_revocation_survives_a_restart(
    serve: Callable[..., Any], register_user: Callable[..., dict[str, Any]]
) -> None:
    with serve() as client:
        token = register_user(client, "bob", PASSWORD)["token"]
        client.post("/api/auth/logout", headers=bearer(token))
    with serve() as client:
        assert verify(client, bearer(token)) == (401, {"valid": False})


def test_a_deleted_users_token_is_refused(
    serve: Callable[..., Any], register_user: Callable[..., dict[str, Any]]
) -> None:
    with serve() as client:
        registered = register_user(client, "carol", PASSWORD)
        assert verify(client, bearer(registered["token"]))[0] == 200
        with db_session:
            client.app.ctx.store.auth.User[registered["user"]["userId"]].delete()
        assert verify(client, bearer(registered["token"])) == (401, {"valid": False})
        response = info(client, headers=bearer(registered["token"]))
        assert response.status == 401
        assert response.json == {"error": "Invalid token"}
