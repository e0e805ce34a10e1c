"""A live session keeps its history in memory; it must always equal what the database holds.

The check: after runs of every kind (text, a tool call, a cancelled run, a run that broke off,
a run the model refused), a copy of the data directory is taken while the server is running,
and a second server is started on the copy. Its history comes from SQLite alone, so
``session.get`` and the conversation it sends the model for the same next message are what
the first server's must be.
"""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from support.server import Client, ServerProcess, register

from service.standin import Reply, ScriptedResponder, Text, ThreadedStandIn, ToolUse, text_reply

pytestmark = pytest.mark.timeout(120)

WORDS = [f"word{i} " for i in range(400)]
SCRIPT = [
    text_reply("Hello there, ünïcode friend."),
    Reply([Text("Let me check."), ToolUse("bash", {"command": "echo from-the-tool"})]),
    text_reply("The tool said from-the-tool."),
    Reply([Text("".join(WORDS), chunks=WORDS)], token_delay=0.02),  # cancelled
    Reply([Text("This reply breaks off here and never ends")], fail_after=3),
    Reply(status_error=(400, "invalid_request_error", "Refused.")),
]
PROBE = "What have we talked about?"


def copy_data_dir(source: Path, target: Path) -> None:
    """A consistent copy of a running server's data directory (SQLite through its backup
    API, so committed rows still in the write-ahead log are included)."""
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("*.db*"))
    for database in source.rglob("*.db"):
        copied = target / database.relative_to(source)
        with sqlite3.connect(database) as live, sqlite3.connect(copied) as backup:
            live.backup(backup)


async def fill(client: Client, session: str) -> None:
    assert (await client.run_to_end(session, "Hi!"))[-1]["event"]["type"] == "RUN_FINISHED"
    await client.run_to_end(session, "Run a command.")
    await client.call("message.send", sessionId=session, content="Tell me a long story.")
    await client.wait_for(
        lambda f: f["type"] == "event" and f["event"].get("delta") == "word5 ", within=20
    )
    await client.call("run.cancel", sessionId=session)
    await client.wait_for_event(session, "RUN_FINISHED")
    broken = await client.run_to_end(session, "Try again.")
    assert broken[-1]["event"]["type"] == "RUN_ERROR"
    refused = await client.run_to_end(session, "And once more.")
    assert refused[-1]["event"]["type"] == "RUN_ERROR"


async def probe(
    process: ServerProcess, standin: ThreadedStandIn, token: str, session: str
) -> dict[str, Any]:
    """session.get, then one more message; what the model was sent for it."""
    client = await Client.connect(process.ws_url, token)
    got = await client.call("session.get", sessionId=session)
    frames = await client.run_to_end(session, PROBE)
    assert frames[-1]["event"]["type"] == "RUN_FINISHED"
    await client.close()
    return {"get": got, "messages": standin.model.requests[-1].body["messages"]}


def test_history_in_memory_equals_a_fresh_load_from_the_database(
    standin: ThreadedStandIn, tmp_path: Path
) -> None:
    for name in ("warm", "cold"):
        (tmp_path / name).mkdir()
    warm = ServerProcess(tmp_path / "warm" / "data", standin.url or "")
    cold = ServerProcess(tmp_path / "cold" / "data", standin.url or "")
    standin.set_responder(ScriptedResponder(SCRIPT))
    with warm:
        token = register(warm.base, "keeper")["token"]

        async def build() -> str:
            client = await Client.connect(warm.ws_url, token)
            session = (await client.call("session.create"))["session"]["id"]
            await fill(client, session)
            # The warm server has the history in memory now (it ran every turn).
            before = await client.call("session.get", sessionId=session)
            assert [m["role"] for m in before["messages"]] == [
                "user", "assistant",  # text
                "user", "assistant", "tool", "assistant",  # tool call, then the answer
                "user", "assistant",  # cancelled with part of the story
                "user", "assistant",  # broke off with part of a reply
                "user",  # refused: no reply
            ]  # fmt: skip
            assert [r["status"] for r in before["runs"]] == [
                "completed",
                "completed",
                "cancelled",
                "failed",
                "failed",
            ]
            await client.close()
            return session

        session = asyncio.run(build())
        copy_data_dir(warm.data_dir, cold.data_dir)
        standin.set_responder(ScriptedResponder([text_reply("Many things.")]))
        from_memory = asyncio.run(probe(warm, standin, token, session))
    standin.set_responder(ScriptedResponder([text_reply("Many things.")]))
    with cold:
        from_database = asyncio.run(probe(cold, standin, token, session))

    assert from_memory["get"]["messages"] == from_database["get"]["messages"]
    assert from_memory["get"]["runs"] == from_database["get"]["runs"]
    assert from_memory["messages"] == from_database["messages"]
    sent = from_memory["messages"]
    assert [turn["role"] for turn in sent] == ["user", "assistant"] * 5 + ["user"]
    texts = [b.get("text") for b in sent[-1]["content"]]
    assert texts == ["And once more.", PROBE], "the refused message joins the next one"
    assert sent[-1]["content"][-1]["cache_control"] == {"type": "ephemeral"}
    marked = [b for turn in sent for b in turn["content"] if "cache_control" in b]
    assert len(marked) == 1, "no cache mark left behind on the shared history"
    assert sent[4]["content"][0]["type"] == "tool_result"


def test_a_loaded_session_deleted_by_another_process_is_not_found(
    standin: ThreadedStandIn, tmp_path: Path
) -> None:
    """message.send trusts the loaded session for its owner, and finds out at the commit that
    the row is gone: not_found, and the server stays well."""
    standin.set_responder(ScriptedResponder([text_reply("First."), text_reply("Second.")]))
    with ServerProcess(tmp_path / "data", standin.url or "") as server:
        user = register(server.base, "vanishing")

        async def scenario() -> None:
            client = await Client.connect(server.ws_url, user["token"])
            session = (await client.call("session.create"))["session"]["id"]
            await client.run_to_end(session, "Hello")
            with sqlite3.connect(next((tmp_path / "data").rglob("agentx.db"))) as database:
                database.execute("PRAGMA foreign_keys=ON")
                assert database.execute("DELETE FROM sessions WHERE id = ?", (session,)).rowcount
            result = await client.request("message.send", sessionId=session, content="Again")
            assert result["ok"] is False
            assert result["error"]["code"] == "not_found"
            other = (await client.call("session.create"))["session"]["id"]
            assert (await client.run_to_end(other, "Still there?"))[-1]["event"]["type"] == (
                "RUN_FINISHED"
            )
            await client.close()

        asyncio.run(scenario())
