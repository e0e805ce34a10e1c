"""The server answers before the model SDK has loaded: a message sent at once still gets its
whole reply, and /readyz says "starting" until the model client exists."""

from __future__ import annotations

import asyncio
import time
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
