"""BASE_PATH puts every route under a sub-path, for a reverse proxy that serves one."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from sanic import Sanic

from service.config import ConfigError


def test_every_route_moves_under_the_base_path(make_app: Callable[..., Sanic]) -> None:
    app = make_app(BASE_PATH="/portagent/")
    _, health = app.test_client.get("/portagent/health")
    assert health.status == 200 and health.json["status"] == "ok"
    _, config = app.test_client.get("/portagent/api/auth/config")
    assert config.json == {"inviteCodeRequired": False}
    _, outside = app.test_client.get("/health")
    assert outside.status == 404 and outside.json == {"error": "Not found"}
    _, spec = app.test_client.get("/portagent/docs/openapi.json")
    assert "/portagent/api/auth/register" in spec.json["paths"]
    _, page = app.test_client.get("/portagent/docs/swagger")
    assert 'src="/portagent/docs/assets/' in page.text
    _, registered = app.test_client.post(
        "/portagent/api/auth/register",
        json={"username": "basil", "password": "secret-pass"},
    )
    token = registered.json["token"]

    async def hello(ws) -> None:  # noqa: ANN001 - sanic-testing's client socket
        frame = json.loads(await ws.recv())
        assert frame["type"] == "hello"
        await ws.send(json.dumps({"type": "ping", "id": "p"}))
        assert json.loads(await ws.recv())["ok"] is True

    _, socket = app.test_client.websocket(f"/portagent/ws?token={token}", mimic=hello)
    assert socket.opened


@pytest.mark.parametrize("value", ["portagent", "/a b", "/../x", "/a//b"])
def test_a_malformed_base_path_stops_the_start(make_settings, value: str) -> None:
    with pytest.raises(ConfigError, match="BASE_PATH"):
        make_settings(BASE_PATH=value)
