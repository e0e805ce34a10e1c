"""Dropped sockets resume with no gap and no duplicate; runs go on without their client."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
from agui.verify import assert_valid_agui
from support.server import Client, ServerProcess

from service.standin import Reply, ScriptedResponder, Text, ThreadedStandIn

pytestmark = pytest.mark.timeout(60)

WORDS = [f"w{i} " for i in range(120)]


def slow_reply() -> ScriptedResponder:
    return ScriptedResponder([Reply([Text("".join(WORDS), chunks=WORDS)], token_delay=0.01)])


def test_resume_after_a_dropped_socket_has_no_gap_and_no_duplicate(
    server: ServerProcess, standin: ThreadedStandIn, new_user: Callable
) -> None:
    user = new_user()
    standin.set_responder(slow_reply())

    async def scenario() -> None:
        first = await Client.connect(server.ws_url, user["token"])
        session = (await first.call("session.create"))["session"]["id"]
        await first.call("message.send", sessionId=session, content="tell me a long story")
        await first.wait_for(lambda f: f["type"] == "event" and f["event"].get("delta") == "w10 ")
        seen = first.events(session)
        last_seq = seen[-1]["seq"]
        first.ws.transport.abort()  # a dropped connection, not a clean close
        await asyncio.sleep(0.3)

        second = await Client.connect(server.ws_url, user["token"])
        data = await second.call("session.subscribe", sessionId=session, afterSeq=last_seq)
        assert "replay" not in data
        assert data["lastSeq"] >= last_seq
        await second.wait_for_event(session, "RUN_FINISHED")
        resumed = second.events(session)
        everything = seen + resumed
        seqs = [f["seq"] for f in everything]
        assert seqs == list(range(1, len(everything) + 1)), "no gap, no duplicate"
        text = "".join(
            f["event"]["delta"]
            for f in everything
            if f["event"]["type"] == "TEXT_MESSAGE_CONTENT" and f["seq"] > 4
        )
        assert text == "".join(WORDS)
        assert_valid_agui([[f["event"] for f in everything]])
        await second.close()

    asyncio.run(scenario())


def test_a_run_goes_on_without_its_client_and_is_stored(
    server: ServerProcess, standin: ThreadedStandIn, new_user: Callable
) -> None:
    user = new_user()
    standin.set_responder(slow_reply())

    async def scenario() -> None:
        client = await Client.connect(server.ws_url, user["token"])
        session = (await client.call("session.create"))["session"]["id"]
        await client.call("message.send", sessionId=session, content="write while I am away")
        await client.close()
        await asyncio.sleep(2.5)
        again = await Client.connect(server.ws_url, user["token"])
        got = await again.call("session.get", sessionId=session)
        assert got["runs"][0]["status"] == "completed"
        assert got["messages"][-1]["content"] == "".join(WORDS)
        # The whole run can be watched again from the start.
        data = await again.call("session.subscribe", sessionId=session, afterSeq=0)
        assert data["running"] is False
        await again.wait_for_event(session, "RUN_FINISHED")
        assert [f["seq"] for f in again.events(session)] == list(range(1, data["lastSeq"] + 1))
        await again.close()

    asyncio.run(scenario())


def test_subscribe_mid_run_from_session_get_sees_the_whole_current_run(
    server: ServerProcess, standin: ThreadedStandIn, new_user: Callable
) -> None:
    user = new_user()
    standin.set_responder(slow_reply())

    async def scenario() -> None:
        writer = await Client.connect(server.ws_url, user["token"])
        session = (await writer.call("session.create"))["session"]["id"]
        await writer.call("message.send", sessionId=session, content="go")
        await writer.wait_for(lambda f: f["type"] == "event" and f["event"].get("delta") == "w5 ")
        reader = await Client.connect(server.ws_url, user["token"])
        got = await reader.call("session.get", sessionId=session)
        assert got["session"]["running"] is True
        assert got["runStartSeq"] == 1
        await reader.call("session.subscribe", sessionId=session, afterSeq=got["runStartSeq"] - 1)
        await reader.wait_for_event(session, "RUN_FINISHED")
        await writer.wait_for_event(session, "RUN_FINISHED")
        assert reader.events(session) == writer.events(session)
        assert reader.events(session)[0]["event"]["type"] == "RUN_STARTED"
        await writer.close()
        await reader.close()

    asyncio.run(scenario())
