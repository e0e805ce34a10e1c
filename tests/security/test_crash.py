"""kill -9 while ten conversations stream and run tools: nothing finished is lost, the
databases are intact, interrupted runs are marked, and every conversation goes on with its
context. (tests/ws/test_restart.py has the single-conversation cases.)"""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from support.server import Client, ServerProcess, http_json, register

from service.standin import Reply, Text, ThreadedStandIn, ToolUse, text_reply

pytestmark = pytest.mark.timeout(240)

USERS = 5
SESSIONS_PER_USER = 2
WORDS = [f"w{i} " for i in range(400)]


def last_text(message: dict[str, Any]) -> str:
    content = message["content"]
    if isinstance(content, str):
        return content
    texts = [block["text"] for block in content if block.get("type") == "text"]
    return texts[-1] if texts else ""


def responder(body: dict[str, Any]) -> Reply:
    """Each conversation's script, told apart by what it is sent: ``first N`` gets an answer;
    ``work N`` runs a tool (a long sleep for even N, a quick file write for odd N) and the tool's
    result gets a slow streamed reply; ``continue`` gets a short answer."""
    last = body["messages"][-1]
    text = last_text(last)
    if text.startswith("continue"):
        return text_reply("Continuing where we were.")
    if any(block.get("type") == "tool_result" for block in last["content"]):
        return Reply([Text("".join(WORDS), chunks=WORDS)], token_delay=0.05)
    if text.startswith("first"):
        return text_reply(f"Answer to {text}.")
    number = int(text.split()[1])
    command = "sleep 60" if number % 2 == 0 else f"echo done-{number} > proof-{number}.txt"
    return Reply([ToolUse("bash", {"command": command})])


def integrity(database: Path) -> str:
    with sqlite3.connect(database) as connection:
        return connection.execute("PRAGMA integrity_check").fetchone()[0]


def test_kill_9_during_ten_streaming_conversations_loses_nothing_finished(
    standin: ThreadedStandIn, tmp_path: Path
) -> None:
    standin.set_responder(responder)
    data_dir = tmp_path / "data"
    server = ServerProcess(data_dir, standin.url or "").start()
    users = [register(server.base, f"crash{index}") for index in range(USERS)]
    conversations: list[tuple[dict[str, Any], str, int]] = []  # (user, session id, number)

    async def until_the_kill() -> None:
        # One socket per conversation (two per user), as two browser tabs would have.
        sockets = []
        for user in users:
            for _ in range(SESSIONS_PER_USER):
                client = await Client.connect(server.ws_url, user["token"])
                session = (await client.call("session.create"))["session"]["id"]
                conversations.append((user, session, len(conversations)))
                sockets.append(client)

        async def converse(user: dict[str, Any], session: str, number: int) -> None:
            client = sockets[number]
            await client.run_to_end(session, f"first {number}")
            await client.call("message.send", sessionId=session, content=f"work {number}")
            if number % 2 == 0:  # the sleep is running
                await client.wait_for_event(session, "TOOL_CALL_END", within=30)
            else:  # the reply after the tool is streaming
                await client.wait_for(
                    lambda f: (
                        f["type"] == "event"
                        and f["sessionId"] == session
                        and f["event"].get("delta") == "w3 "
                    ),
                    within=30,
                )

        await asyncio.gather(*(converse(*conversation) for conversation in conversations))
        await asyncio.sleep(0.3)
        server.kill()

    asyncio.run(until_the_kill())
    for name in ("portagent.db", "agentx.db"):
        assert integrity(data_dir / "data" / name) == "ok", name

    restarted = ServerProcess(data_dir, standin.url or "").start()
    try:

        async def after() -> None:
            for user in users:
                status, signed = http_json(
                    restarted.base,
                    "POST",
                    "/api/auth/login",
                    {"usernameOrEmail": user["user"]["username"], "password": "secret-pass"},
                )
                assert status == 200, "no user lost"
                user["token"] = signed["token"]
            for user in users:
                client = await Client.connect(restarted.ws_url, user["token"])
                mine = [c for c in conversations if c[0] is user]
                listed = {s["id"] for s in (await client.call("session.list"))["sessions"]}
                assert listed == {session for _, session, _ in mine}, "no session lost"
                for _, session, number in mine:
                    await check_conversation(client, restarted, standin, user, session, number)
                await client.close()

        asyncio.run(after())
    finally:
        restarted.stop()


async def check_conversation(
    client: Client,
    server: ServerProcess,
    standin: ThreadedStandIn,
    user: dict[str, Any],
    session: str,
    number: int,
) -> None:
    got = await client.call("session.get", sessionId=session)
    messages = got["messages"]
    assert [m["content"] for m in messages[:3]] == [
        f"first {number}",
        f"Answer to first {number}.",
        f"work {number}",
    ]
    assert messages[3]["role"] == "assistant" and messages[3]["toolCalls"]
    if number % 2:
        # The quick tool finished before the kill: its result is kept and the file is there.
        assert [m["role"] for m in messages] == ["user", "assistant", "user", "assistant", "tool"]
        workspace = server.data_dir / "containers" / user["user"]["containerId"] / "workspace"
        assert (workspace / f"proof-{number}.txt").read_text() == f"done-{number}\n"
    else:
        assert len(messages) == 4, "the killed tool's result was never written"
    runs = [(run["status"], run.get("error", {}).get("code")) for run in got["runs"]]
    assert runs == [("completed", None), ("interrupted", "interrupted")]
    frames = await client.run_to_end(session, "continue please")
    assert frames[-1]["event"]["type"] == "RUN_FINISHED"
    sent = next(
        request.body["messages"]
        for request in reversed(standin.model.requests)
        if last_text(request.body["messages"][-1]) == "continue please"
        and last_text(request.body["messages"][0]) == f"first {number}"
    )
    assert last_text(sent[1]) == f"Answer to first {number}.", "the context is kept"
