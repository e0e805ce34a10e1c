"""Model provider faults against a real server: each run ends with the right RUN_ERROR code
within the configured timeout, a cancel during a hang works within a second, and the session
is usable after every fault. (Single faults with exact messages are in tests/ws/test_protocol.)"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.server import Client, ServerProcess, register

from service.standin import ErrorEvent, Reply, ScriptedResponder, StatusError, Text, ThreadedStandIn
from service.standin import text_reply as ok

pytestmark = pytest.mark.timeout(180)

LLM_TIMEOUT = 2.0
# (name, scripted reply, RUN_ERROR code)
FAULTS = [
    ("429 rate limited", Reply(status_error=StatusError(429)), "provider_rate_limited"),
    ("500 server error", Reply(status_error=StatusError(500)), "provider_error"),
    ("529 overloaded", Reply(status_error=StatusError(529)), "provider_overloaded"),
    ("401 bad key", Reply(status_error=StatusError(401)), "provider_auth"),
    ("403 forbidden", Reply(status_error=StatusError(403)), "provider_auth"),
    ("connection dropped before answering", Reply(no_response="drop"), "provider_unreachable"),
    (
        "connection dropped mid-stream",
        Reply([Text("half of it")], fail_after=1),
        "provider_unreachable",
    ),  # noqa: E501
    (
        "error event mid-stream",
        Reply(
            [Text("a b c")],
            fail_after=1,
            failure="error_event",
            error_event=ErrorEvent("overloaded_error", "Overloaded"),
        ),
        "provider_overloaded",
    ),  # fmt: skip
    ("hang before answering", Reply(no_response="hang"), "provider_unreachable"),
    (
        "hang mid-stream",
        Reply([Text("x y z w")], fail_after=1, failure="hang"),
        "provider_unreachable",
    ),  # noqa: E501
]


@pytest.fixture(scope="module")
def impatient(
    standin: ThreadedStandIn, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    data_dir = tmp_path_factory.mktemp("faults") / "data"
    with ServerProcess(data_dir, standin.url or "", LLM_TIMEOUT=str(LLM_TIMEOUT)) as server:
        yield server


def test_every_fault_ends_its_run_with_its_code_and_the_session_goes_on(
    impatient: ServerProcess, standin: ThreadedStandIn
) -> None:
    replies = []
    for _name, fault, _code in FAULTS:
        replies += [fault, ok("Recovered.")]
    standin.set_responder(ScriptedResponder(replies))
    user = register(impatient.base, "faulty")

    async def scenario() -> None:
        client = await Client.connect(impatient.ws_url, user["token"])
        session = (await client.call("session.create"))["session"]["id"]
        for name, _fault, code in FAULTS:
            started = time.monotonic()
            frames = await client.run_to_end(session, f"try: {name}", within=LLM_TIMEOUT + 10)
            took = time.monotonic() - started
            end = frames[-1]["event"]
            assert (end["type"], end.get("code")) == ("RUN_ERROR", code), name
            assert "sk-ant" not in end["message"], name
            assert took < LLM_TIMEOUT + 3, (name, took)
            again = await client.run_to_end(session, "still there?")
            assert again[-1]["event"]["type"] == "RUN_FINISHED", name
        history = await client.call("session.get", sessionId=session)
        statuses = [run["status"] for run in history["runs"]]
        assert statuses == ["failed", "completed"] * len(FAULTS)
        await client.close()

    asyncio.run(scenario())


@pytest.mark.parametrize("hang", ["before answering", "mid-stream"])
def test_a_cancel_during_a_hang_ends_the_run_within_a_second(
    standin: ThreadedStandIn, tmp_path: Path, hang: str
) -> None:
    fault = (
        Reply(no_response="hang")
        if hang == "before answering"
        else Reply([Text("one two three four")], fail_after=2, failure="hang")
    )
    standin.set_responder(ScriptedResponder([fault, ok("Back.")]))
    with ServerProcess(tmp_path / "data", standin.url or "", LLM_TIMEOUT="60") as server:
        user = register(server.base, "waiter")

        async def scenario() -> None:
            client = await Client.connect(server.ws_url, user["token"])
            session = (await client.call("session.create"))["session"]["id"]
            await client.call("message.send", sessionId=session, content="hello?")
            await client.wait_for_event(session, "RUN_STARTED")
            await asyncio.sleep(1.0)  # the model is hanging now
            loop = asyncio.get_running_loop()
            asked = loop.time()
            await client.call("run.cancel", sessionId=session)
            end = await client.wait_for_event(session, "RUN_FINISHED", within=5)
            assert loop.time() - asked < 1.0
            assert end["event"]["outcome"] == {"type": "cancelled"}
            again = await client.run_to_end(session, "and now?")
            assert again[-1]["event"]["type"] == "RUN_FINISHED"
            await client.close()

        asyncio.run(scenario())


def test_a_key_the_provider_refuses_is_reported_without_the_key(
    standin: ThreadedStandIn, tmp_path: Path
) -> None:
    wrong_key = "sk-ant-wrong-key-0123456789abcdefghij"
    standin.set_responder(ScriptedResponder([ok("never sent")]))
    with ServerProcess(tmp_path / "data", standin.url or "", LLM_PROVIDER_KEY=wrong_key) as server:
        user = register(server.base, "keyless")

        async def scenario() -> None:
            client = await Client.connect(server.ws_url, user["token"])
            session = (await client.call("session.create"))["session"]["id"]
            for _ in range(2):
                frames = await client.run_to_end(session, "hello")
                end = frames[-1]["event"]
                assert (end["type"], end["code"]) == ("RUN_ERROR", "provider_auth")
                assert wrong_key not in str(frames)
            await client.close()

        asyncio.run(scenario())
        output = server.output()
        assert "refused the API key (HTTP 401)" in output
        assert wrong_key not in output
