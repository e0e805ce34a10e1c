"""Every kind of bad token is refused on HTTP and on the /ws handshake of a real server, and
an open socket ends when its token stops being good."""

from __future__ import annotations

import asyncio
import base64
import json
import time
from pathlib import Path
from typing import Any

import jwt
import pytest
import websockets
from harness import Deployment
from support.server import Client, http_json, register

pytestmark = pytest.mark.timeout(120)

TOKEN_ROUTES = ["/api/auth/verify", "/agentx/info", "/api/usage", "/api/admin/users"]


def b64(data: dict[str, Any]) -> str:
    raw = json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def secret(deployment: Deployment) -> str:
    path = Path(deployment.server.data_dir) / "data" / ".jwt_secret"
    return path.read_text().strip()


def forgeries(user_id: str, key: str) -> dict[str, str]:
    """Tokens for ``user_id`` (the admin) that must all be refused."""
    now = int(time.time())
    claims = {"sub": user_id, "iat": now, "exp": now + 3600, "jti": "attack"}
    good = jwt.encode(claims, key, algorithm="HS256")
    head, _, signature = good.split(".")
    unsigned = f"{b64({'alg': 'none', 'typ': 'JWT'})}.{b64(claims)}"
    without = lambda name: {k: v for k, v in claims.items() if k != name}  # noqa: E731
    return {
        "forged signature": jwt.encode(claims, "k" * 48, algorithm="HS256"),
        "alg none": unsigned + ".",
        "alg none with a real signature": f"{unsigned}.{signature}",
        "HS512": jwt.encode(claims, key, algorithm="HS512"),
        "alg confusion header": f"{b64({'alg': 'RS256', 'typ': 'JWT'})}.{b64(claims)}.{signature}",
        "claims swapped": f"{head}.{b64({**claims, 'sub': 'x'})}.{signature}",
        "expired": jwt.encode({**claims, "iat": now - 7200, "exp": now - 60}, key, "HS256"),
        "not yet valid": jwt.encode({**claims, "nbf": now + 3600}, key, "HS256"),
        "issued in the future with nbf": jwt.encode(
            {**claims, "iat": now + 3600, "nbf": now + 3600}, key, "HS256"
        ),
        "missing sub": jwt.encode(without("sub"), key, "HS256"),
        "missing exp": jwt.encode(without("exp"), key, "HS256"),
        "missing jti": jwt.encode(without("jti"), key, "HS256"),
        "sub of nobody": jwt.encode({**claims, "sub": "nobody"}, key, "HS256"),
        "gen from the future": jwt.encode({**claims, "gen": 7}, key, "HS256"),
        "gen not a number": jwt.encode({**claims, "gen": "1"}, key, "HS256"),
        "garbage": "not.a.token",
        "empty parts": "..",
    }


def refused_everywhere(deployment: Deployment, token: str) -> None:
    for route in TOKEN_ROUTES:
        status, body = http_json(deployment.server.base, "GET", route, token=token)
        assert status == 401, (route, status, body)
    status, _ = http_json(deployment.server.base, "GET", f"/agentx/info?token={token}", token=None)
    assert status == 401

    async def handshake() -> None:
        for url, headers in (
            (f"{deployment.server.ws_url}?token={token}", {}),
            (deployment.server.ws_url, {"Authorization": f"Bearer {token}"}),
        ):
            with pytest.raises(websockets.InvalidStatus) as refused:
                await websockets.connect(url, additional_headers=headers, open_timeout=10)
            assert refused.value.response.status_code == 401

    asyncio.run(handshake())


KINDS = list(forgeries("u", "s" * 48))


@pytest.mark.parametrize("kind", KINDS)
def test_a_bad_token_is_refused_on_http_and_ws(deployment: Deployment, kind: str) -> None:
    token = forgeries(deployment.admin["user"]["userId"], secret(deployment))[kind]
    refused_everywhere(deployment, token)


def test_the_forgeries_are_not_refused_for_another_reason(deployment: Deployment) -> None:
    """The same recipe with nothing wrong is accepted on every route and on /ws."""
    now = int(time.time())
    claims = {"sub": deployment.admin["user"]["userId"], "iat": now, "exp": now + 60, "jti": "ok"}
    token = jwt.encode(claims, secret(deployment), algorithm="HS256")
    for route in TOKEN_ROUTES:
        assert http_json(deployment.server.base, "GET", route, token=token)[0] == 200, route

    async def handshake() -> None:
        client = await Client.connect(deployment.server.ws_url, token)
        await client.close()

    asyncio.run(handshake())


def test_revoked_deactivated_and_reset_tokens_are_refused_and_their_sockets_end(
    deployment: Deployment,
) -> None:
    base, admin = deployment.server.base, deployment.admin["token"]
    leaver, blocked, reset = (register(base, name) for name in ("leaver", "blocked", "reset"))

    async def scenario() -> None:
        sockets = {
            name: await Client.connect(deployment.server.ws_url, user["token"])
            for name, user in (("leaver", leaver), ("blocked", blocked), ("reset", reset))
        }
        actions = {
            "leaver": ("POST", "/api/auth/logout", None, leaver["token"]),
            "blocked": (
                "POST",
                f"/api/admin/users/{blocked['user']['userId']}/deactivate",
                None,
                admin,
            ),
            "reset": (
                "POST",
                f"/api/admin/users/{reset['user']['userId']}/password",
                {"password": "a-new-password"},
                admin,
            ),
        }
        for name, (method, path, body, token) in actions.items():
            status, _ = await asyncio.to_thread(http_json, base, method, path, body, token)
            assert status == 200, name
            with pytest.raises(websockets.ConnectionClosed) as closed:
                while True:
                    await sockets[name].next_frame(5)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401, name

    asyncio.run(scenario())
    for user in (leaver, blocked, reset):
        refused_everywhere(deployment, user["token"])
