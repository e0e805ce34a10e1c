"""History, model context and seq survive a clean restart; a crash leaves history consistent."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest
from support.server import Client, ServerProcess, http_json, register, types

from service.standin import Reply, ScriptedResponder, Text, ThreadedStandIn, ToolUse, text_reply

pytestmark = pytest.mark.timeout(90)


def new_server(standin: ThreadedStandIn, data_dir: Path, **env: str) -> ServerProcess:
    return ServerProcess(data_dir, standin.url or "", **env)


def login(base: str, username: str) -> str:
    status, body = http_json(
        base, "POST", "/api/auth/login", {"usernameOrEmail": username, "password": "secret-pass"}
    )
    assert status == 200, body
    return body["token"]


def test_history_context_and_seq_survive_a_clean_restart(
    standin: ThreadedStandIn, tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    standin.set_responder(
        ScriptedResponder(
            [text_reply("Noted: your cat is called Miso."), text_reply("Your cat is Miso.")]
        )
    )
    first = new_server(standin, data_dir).start()
    token = register(first.base, "keeper")["token"]

    async def before() -> tuple[str, int]:
        client = await Client.connect(first.ws_url, token)
        session = (await client.call("session.create"))["session"]["id"]
        frames = await client.run_to_end(session, "My cat is called Miso.")
        await client.close()
        return session, frames[-1]["seq"]

    session, last_seq = asyncio.run(before())
    assert first.stop() == 0
    second = new_server(standin, data_dir).start()
    try:
        # The same token still works: the generated JWT secret was kept.
        async def after() -> None:
            client = await Client.connect(second.ws_url, token)
            listed = (await client.call("session.list"))["sessions"]
            assert [s["id"] for s in listed] == [session]
            got = await client.call("session.get", sessionId=session)
            assert [m["content"] for m in got["messages"]] == [
                "My cat is called Miso.",
                "Noted: your cat is called Miso.",
            ]
            assert got["lastSeq"] == last_seq
            frames = await client.run_to_end(session, "What is my cat called?")
            assert frames[0]["seq"] == last_seq + 1, "seq continues across a clean restart"
            sent = standin.model.requests[-1].body["messages"]
            assert [m["role"] for m in sent] == ["user", "assistant", "user"]
            assert sent[1]["content"][0]["text"] == "Noted: your cat is called Miso."
            await client.close()

        asyncio.run(after())
    finally:
        second.stop()


def test_kill_mid_run_leaves_consistent_history_and_the_conversation_continues(
    standin: ThreadedStandIn, tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    words = [f"part{i} " for i in range(300)]
    standin.set_responder(
        ScriptedResponder(
            [
                text_reply("First answer, complete."),
                Reply([ToolUse("bash", {"command": "echo tool-ran > proof.txt"})]),
                Reply([Text("".join(words), chunks=words)], token_delay=0.02),
                text_reply("I remember the first answer."),
            ]
        )
    )
    server = new_server(standin, data_dir).start()
    token = register(server.base, "crasher")["token"]

    async def before_kill() -> tuple[str, int]:
        client = await Client.connect(server.ws_url, token)
        session = (await client.call("session.create"))["session"]["id"]
        await client.run_to_end(session, "question one")
        await client.call("message.send", sessionId=session, content="question two")
        await client.wait_for(
            lambda f: f["type"] == "event" and f["event"].get("delta") == "part3 "
        )
        last_seen = client.events(session)[-1]["seq"]
        server.kill()
        return session, last_seen

    session, last_seen = asyncio.run(before_kill())
    database = data_dir / "data" / "agentx.db"
    with sqlite3.connect(database) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"

    restarted = new_server(standin, data_dir).start()
    try:

        async def after() -> None:
            client = await Client.connect(restarted.ws_url, token)
            got = await client.call("session.get", sessionId=session)
            roles = [m["role"] for m in got["messages"]]
            # Everything finished before the kill is there: the first exchange, the second
            # question, the tool call and its result. The reply being streamed is lost.
            assert roles == ["user", "assistant", "user", "assistant", "tool"]
            assert got["messages"][2]["content"] == "question two"
            statuses = [(r["status"], r.get("error", {}).get("code")) for r in got["runs"]]
            assert statuses == [("completed", None), ("interrupted", "interrupted")]
            assert got["runs"][1]["usage"]["outputTokens"] > 0, "usage of the finished turns"
            assert got["session"]["running"] is False
            # The stream of the interrupted run is closed with RUN_ERROR interrupted.
            data = await client.call(
                "session.subscribe", sessionId=session, afterSeq=got["lastSeq"] - 1
            )
            assert data["lastSeq"] > last_seen, "seq never goes back after a crash"
            closing = await client.wait_for_event(session, "RUN_ERROR")
            assert closing["event"]["code"] == "interrupted"
            stale = await client.call("session.subscribe", sessionId=session, afterSeq=last_seen)
            assert stale["replay"] == "unavailable"
            frames = await client.run_to_end(session, "do you remember?")
            assert types(frames)[-1] == "RUN_FINISHED"
            assert frames[0]["seq"] > got["lastSeq"]
            sent = standin.model.requests[-1].body["messages"]
            assert sent[0]["content"][0]["text"] == "question one"
            assert sent[1]["content"][0]["text"] == "First answer, complete."
            assert sent[3]["content"][0]["type"] == "tool_use"
            assert sent[4]["content"][0]["type"] == "tool_result"
            assert sent[4]["content"][-1]["text"] == "do you remember?"
            await client.close()

        asyncio.run(after())
        status, _ = http_json(restarted.base, "GET", "/health")
        assert status == 200
        assert login(restarted.base, "crasher")
    finally:
        restarted.stop()


def test_a_clean_stop_mid_run_marks_it_interrupted(
    standin: ThreadedStandIn, tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    words = [f"x{i} " for i in range(500)]
    standin.set_responder(
        ScriptedResponder([Reply([Text("".join(words), chunks=words)], token_delay=0.02)])
    )
    server = new_server(standin, data_dir).start()
    token = register(server.base, "stopper")["token"]

    async def during() -> tuple[str, list[str]]:
        client = await Client.connect(server.ws_url, token)
        session = (await client.call("session.create"))["session"]["id"]
        await client.call("message.send", sessionId=session, content="long one")
        await client.wait_for(lambda f: f["type"] == "event" and f["event"].get("delta") == "x3 ")
        server.process.send_signal(15)  # type: ignore[union-attr]
        end = await client.wait_for_event(session, "RUN_ERROR")
        assert end["event"]["code"] == "interrupted"
        return session, types(client.events(session))

    session, seen = asyncio.run(during())
    assert seen[-2:] == ["TEXT_MESSAGE_END", "RUN_ERROR"]
    assert server.process is not None and server.process.wait(15) == 0
    restarted = new_server(standin, data_dir).start()
    try:

        async def after() -> None:
            client = await Client.connect(restarted.ws_url, token)
            got = await client.call("session.get", sessionId=session)
            assert got["runs"][0]["status"] == "interrupted"
            assert got["messages"][-1]["role"] == "assistant"
            assert got["messages"][-1]["content"].startswith("x0 x1 x2 x3")
            await client.close()

        asyncio.run(after())
    finally:
        restarted.stop()
