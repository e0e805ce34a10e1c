"""The server answers before the model SDK has loaded: a message sent at once still gets its
whole reply, and /readyz says "starting" until the model client exists."""

from __future__ import annotations

import asyncio
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from support.server import Client, ServerProcess, http_json, register, types

from service.standin import ThreadedStandIn, text_reply

pytestmark = pytest.mark.timeout(90)


def test_a_message_sent_the_moment_the_server_answers_gets_its_reply(
    standin: ThreadedStandIn, tmp_path: Path
) -> None:
    standin.set_responder(lambda body: text_reply("Awake and answering."))
    with ServerProcess(tmp_path / "data", standin.url or "") as server:
        token = register(server.base, "early")["token"]

        async def chat() -> list[str]:
            client = await Client.connect(server.ws_url, token)
            session = (await client.call("session.create"))["session"]
            frames = await client.run_to_end(session["id"], "are you there?")
            await client.close()
            return types(frames)

        kinds = asyncio.run(chat())
        assert kinds[0] == "RUN_STARTED" and kinds[-1] == "RUN_FINISHED"
        assert "TEXT_MESSAGE_CONTENT" in kinds

        deadline = time.monotonic() + 30
        status, body = http_json(server.base, "GET", "/readyz")
        while status != 200 and time.monotonic() < deadline:
            assert (status, body) == (503, {"status": "starting"})
            time.sleep(0.1)
            status, body = http_json(server.base, "GET", "/readyz")
        assert (status, body) == (200, {"status": "ready"})


def _answer(base: str, method: str, path: str) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(base + path, method=method)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def test_head_and_options_routes_added_at_start_answer(
    standin: ThreadedStandIn, tmp_path: Path
) -> None:
    """sanic-ext adds a HEAD route to every GET route and an OPTIONS route to every path when
    the server starts; the app compiles them in one go (PortagentApp.amend), and each answers."""
    with ServerProcess(tmp_path / "data", standin.url or "") as server:
        head_status, _, head_body = _answer(server.base, "HEAD", "/health")
        options_status, headers, _ = _answer(server.base, "OPTIONS", "/api/auth/login")
        invites_status, invites, _ = _answer(server.base, "OPTIONS", "/api/admin/invites")
        post_status, _, _ = _answer(server.base, "POST", "/api/auth/login")
        spec_status, spec = http_json(server.base, "GET", "/docs/openapi.json")

    assert (head_status, head_body) == (200, b"")
    assert options_status == 204
    assert headers["allow"] == "POST,OPTIONS"
    assert invites_status == 204
    assert set(invites["allow"].split(",")) == {"GET", "HEAD", "POST", "OPTIONS"}
    assert post_status == 400  # the route itself still answers, with its own error
    # The description is built on this first request for it (service/info/api_docs.py).
    assert spec_status == 200
    login = spec["paths"]["/api/auth/login"]["post"]
    assert login["summary"].startswith("Sign in")
    assert set(login["responses"]) == {"200", "400", "401", "429"}
    assert login["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/LoginRequest"
    }
