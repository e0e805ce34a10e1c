"""No user can see or touch another's sessions, events or files; tools never see secrets."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import pytest
from support.server import SERVER_KEY, Client, ServerProcess

from service.standin import Reply, ScriptedResponder, Text, ThreadedStandIn, ToolUse, text_reply

pytestmark = pytest.mark.timeout(60)


def test_another_user_gets_not_found_for_everything(
    server: ServerProcess, standin: ThreadedStandIn, new_user: Callable
) -> None:
    alice, bob = new_user(), new_user()
    standin.set_responder(
        ScriptedResponder([Reply([Text("a slow secret answer")], token_delay=0.2)])
    )

    async def scenario() -> None:
        a = await Client.connect(server.ws_url, alice["token"])
        b = await Client.connect(server.ws_url, bob["token"])
        session = (await a.call("session.create", title="Alice's plans"))["session"]
        await a.call("message.send", sessionId=session["id"], content="my secret")
        attempts: list[tuple[str, dict[str, Any]]] = [
            ("session.get", {}),
            ("session.subscribe", {"afterSeq": 0}),
            ("message.send", {"content": "hijack"}),
            ("run.cancel", {}),
            ("session.rename", {"title": "mine now"}),
            ("session.delete", {}),
            ("session.unsubscribe", {}),
        ]
        for kind, fields in attempts:
            result = await b.request(kind, sessionId=session["id"], **fields)
            assert result["ok"] is False, kind
            assert result["error"]["code"] == "not_found", (kind, result)
        assert (await b.call("session.list"))["sessions"] == []
        await a.wait_for_event(session["id"], "RUN_FINISHED")
        # Alice's run was not cancelled, renamed or deleted by Bob.
        got = await a.call("session.get", sessionId=session["id"])
        assert got["session"]["title"] == "Alice's plans"
        assert got["runs"][0]["status"] == "completed"
        await b.call("ping")
        seen_by_bob = [f for f in b.frames if f["type"] in ("event", "notice")]
        assert seen_by_bob == []
        await a.close()
        await b.close()

    asyncio.run(scenario())


def test_two_tabs_of_one_user_see_the_same_stream_and_notices(
    server: ServerProcess, standin: ThreadedStandIn, new_user: Callable
) -> None:
    alice = new_user()
    standin.set_responder(ScriptedResponder([text_reply("shared answer for both tabs")]))

    async def scenario() -> None:
        tab1 = await Client.connect(server.ws_url, alice["token"])
        tab2 = await Client.connect(server.ws_url, alice["token"])
        session = (await tab1.call("session.create"))["session"]
        created = await tab2.wait_for(lambda f: f.get("name") == "session.created")
        assert created["session"]["id"] == session["id"]
        await tab2.call("session.subscribe", sessionId=session["id"])
        await tab1.run_to_end(session["id"], "hi both")
        await tab2.wait_for_event(session["id"], "RUN_FINISHED")
        one = [(f["seq"], f["event"]) for f in tab1.events(session["id"])]
        two = [(f["seq"], f["event"]) for f in tab2.events(session["id"])]
        assert one == two
        await tab1.call("session.rename", sessionId=session["id"], title="Renamed")
        renamed = await tab2.wait_for(
            lambda f: f.get("name") == "session.updated" and f["session"]["title"] == "Renamed"
        )
        assert renamed["session"]["running"] is False
        await tab1.close()
        await tab2.close()

    asyncio.run(scenario())


def _run_bash(standin: ThreadedStandIn, command: str) -> None:
    standin.set_responder(
        ScriptedResponder([Reply([ToolUse("bash", {"command": command})]), text_reply("done")])
    )


async def _tool_output(client: Client, session_id: str, content: str) -> str:
    frames = await client.run_to_end(session_id, content)
    results = [f["event"]["content"] for f in frames if f["event"]["type"] == "TOOL_CALL_RESULT"]
    assert results, frames
    return results[0]


def test_tools_cannot_reach_another_workspace_the_data_dir_or_secrets(
    server: ServerProcess, standin: ThreadedStandIn, new_user: Callable
) -> None:
    alice, bob = new_user(), new_user()
    data_dir = server.data_dir
    jwt_secret = (data_dir / "data" / ".jwt_secret").read_text().strip()
    alice_workspace = data_dir / "containers" / alice["user"]["containerId"] / "workspace"

    async def scenario() -> None:
        a = await Client.connect(server.ws_url, alice["token"])
        b = await Client.connect(server.ws_url, bob["token"])
        session_a = (await a.call("session.create"))["session"]["id"]
        session_b = (await b.call("session.create"))["session"]["id"]
        _run_bash(standin, "echo alice-private > diary.txt && pwd")
        assert "alice-private" not in await _tool_output(a, session_a, "write my diary")
        assert (alice_workspace / "diary.txt").read_text() == "alice-private\n"

        probe = (
            f"cat {alice_workspace}/diary.txt; ls {data_dir}; ls {data_dir}/data; "
            f"cat {data_dir}/data/portagent.db | head -c 100; cat {data_dir}/logs/portagent.log; "
            "env; cat /proc/*/environ 2>/dev/null | tr '\\0' '\\n'; "
            "cat /proc/*/cmdline 2>/dev/null | tr '\\0' ' '; ls /; echo probe-finished"
        )
        _run_bash(standin, probe)
        output = await _tool_output(b, session_b, "look around")
        assert "probe-finished" in output
        assert "alice-private" not in output
        assert SERVER_KEY not in output
        assert jwt_secret not in output
        assert "SQLite format" not in output
        assert "No such file or directory" in output, "the data dir does not exist in the sandbox"
        assert "LLM_PROVIDER" not in output and "JWT_SECRET" not in output

        standin.set_responder(
            ScriptedResponder(
                [
                    Reply(
                        [
                            ToolUse(
                                "str_replace_based_edit_tool",
                                {"command": "view", "path": f"{alice_workspace}/diary.txt"},
                            )
                        ]
                    ),
                    text_reply("done"),
                ]
            )
        )
        frames = await b.run_to_end(session_b, "read alice's diary")
        result = next(f["event"] for f in frames if f["event"]["type"] == "TOOL_CALL_RESULT")
        assert "alice-private" not in result["content"]
        history = (await b.call("session.get", sessionId=session_b))["messages"]
        assert any(m["role"] == "tool" and m.get("error") for m in history)
        await a.close()
        await b.close()

    asyncio.run(scenario())


def test_the_editor_refuses_paths_that_leave_the_workspace(
    server: ServerProcess, standin: ThreadedStandIn, new_user: Callable
) -> None:
    user = new_user()

    async def scenario() -> None:
        client = await Client.connect(server.ws_url, user["token"])
        session = (await client.call("session.create"))["session"]["id"]
        for path in ["../../data/.jwt_secret", "/etc/passwd", "/workspace/../../etc/hostname"]:
            standin.set_responder(
                ScriptedResponder(
                    [
                        Reply(
                            [
                                ToolUse(
                                    "str_replace_based_edit_tool",
                                    {"command": "view", "path": path},
                                )
                            ]
                        ),
                        text_reply("ok"),
                    ]
                )
            )
            frames = await client.run_to_end(session, f"view {path}")
            assert frames[-1]["event"]["type"] == "RUN_FINISHED"
            sent = standin.model.requests[-1].body["messages"][-1]["content"][0]
            assert sent["type"] == "tool_result" and sent["is_error"] is True, (path, sent)
            assert "root:" not in json.dumps(sent)
        await client.close()

    asyncio.run(scenario())
