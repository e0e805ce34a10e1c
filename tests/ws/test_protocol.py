"""The /ws protocol against a real server: every command, every error code, exact event order."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import pytest
import websockets
from agui.verify import assert_valid_agui
from support.server import Client, ServerProcess, http_json, types

from service.standin import (
    ErrorEvent,
    Reply,
    ScriptedResponder,
    StatusError,
    Text,
    Thinking,
    ThreadedStandIn,
    ToolUse,
    text_reply,
)

pytestmark = pytest.mark.timeout(60)


def agui_events(frames: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [frame["event"] for frame in frames]


async def connect(server: ServerProcess, user: dict[str, Any]) -> Client:
    return await Client.connect(server.ws_url, user["token"])


def test_hello_names_the_user_and_protocol(server: ServerProcess, new_user: Callable) -> None:
    user = new_user()

    async def scenario() -> None:
        client = await connect(server, user)
        assert client.hello["protocol"] == 1
        assert client.hello["user"] == user["user"]
        assert client.hello["server"]["version"]
        await client.close()

    asyncio.run(scenario())


@pytest.mark.parametrize(
    ("query", "headers", "status"),
    [
        ("", {}, 401),
        ("?token=not-a-jwt", {}, 401),
        ("?token=", {}, 401),
    ],
)
def test_upgrade_without_a_valid_token_is_refused_with_401(
    server: ServerProcess, query: str, headers: dict[str, str], status: int
) -> None:
    async def scenario() -> None:
        with pytest.raises(websockets.InvalidStatus) as refused:
            await websockets.connect(server.ws_url + query, additional_headers=headers)
        assert refused.value.response.status_code == status

    asyncio.run(scenario())


def test_bearer_header_is_accepted_and_a_revoked_token_is_refused(
    server: ServerProcess, new_user: Callable
) -> None:
    user = new_user()

    async def scenario() -> None:
        ws = await websockets.connect(
            server.ws_url, additional_headers={"Authorization": f"Bearer {user['token']}"}
        )
        assert json.loads(await ws.recv())["type"] == "hello"
        status, _ = http_json(server.base, "POST", "/api/auth/logout", token=user["token"])
        assert status == 200
        # The open socket ends with 4401, and a new one is refused.
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), 5)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401
        with pytest.raises(websockets.InvalidStatus) as refused:
            await websockets.connect(f"{server.ws_url}?token={user['token']}")
        assert refused.value.response.status_code == 401

    asyncio.run(scenario())


def test_foreign_origin_is_refused_with_403_and_own_origin_accepted(
    server: ServerProcess, new_user: Callable
) -> None:
    user = new_user()

    async def scenario() -> None:
        with pytest.raises(websockets.InvalidStatus) as refused:
            await websockets.connect(
                f"{server.ws_url}?token={user['token']}", origin="https://evil.example"
            )
        assert refused.value.response.status_code == 403
        own = f"http://127.0.0.1:{server.port}"
        ws = await websockets.connect(f"{server.ws_url}?token={user['token']}", origin=own)
        assert json.loads(await ws.recv())["type"] == "hello"
        await ws.close()

    asyncio.run(scenario())


def test_session_commands_round_trip(server: ServerProcess, new_user: Callable) -> None:
    user = new_user()

    async def scenario() -> None:
        client = await connect(server, user)
        first = (await client.call("session.create", title="Plans"))["session"]
        assert first["title"] == "Plans"
        assert first["running"] is False and first["messageCount"] == 0
        assert set(first) == {"id", "title", "createdAt", "updatedAt", "running", "messageCount"}
        second = (await client.call("session.create"))["session"]
        assert second["title"] == "New conversation"
        listed = (await client.call("session.list"))["sessions"]
        assert [s["id"] for s in listed] == [second["id"], first["id"]]
        renamed = await client.call("session.rename", sessionId=first["id"], title="Trips")
        assert renamed["session"]["title"] == "Trips"
        listed = (await client.call("session.list"))["sessions"]
        assert listed[0]["id"] == first["id"], "renaming updates the session"
        got = await client.call("session.get", sessionId=first["id"])
        assert got["session"]["title"] == "Trips" and got["messages"] == [] and got["runs"] == []
        assert await client.call("ping") == {}
        assert await client.call("run.cancel", sessionId=first["id"]) == {}
        assert await client.call("session.delete", sessionId=first["id"]) == {}
        listed = (await client.call("session.list"))["sessions"]
        assert [s["id"] for s in listed] == [second["id"]]
        result = await client.request("session.get", sessionId=first["id"])
        assert result["error"]["code"] == "not_found"
        notices = [f["name"] for f in client.frames if f["type"] == "notice"]
        assert notices == [
            "session.created",
            "session.created",
            "session.updated",
            "session.deleted",
        ]
        await client.close()

    asyncio.run(scenario())


def test_bad_frames_get_bad_request_and_the_socket_stays_open(
    server: ServerProcess, new_user: Callable
) -> None:
    user = new_user()

    async def scenario() -> None:
        client = await connect(server, user)
        for raw in ["not json", "[1, 2]", '"text"', "{" * 5000 + "}" * 5000, '{"id": 5}']:
            await client.ws.send(raw)
            frame = await client.next_frame()
            assert frame["type"] == "result" and frame["ok"] is False
            assert frame["id"] is None
            assert frame["error"]["code"] == "bad_request"
        bad = [
            ({"type": "nope"}, "bad_request"),
            ({"type": 7}, "bad_request"),
            ({"type": "session.get"}, "bad_request"),
            ({"type": "session.get", "sessionId": 12}, "bad_request"),
            ({"type": "session.get", "sessionId": "missing"}, "not_found"),
            ({"type": "session.create", "title": ["x"]}, "bad_request"),
            ({"type": "session.create", "title": "x" * 201}, "too_large"),
            ({"type": "session.rename", "sessionId": "missing", "title": ""}, "bad_request"),
            ({"type": "message.send", "sessionId": "missing", "content": "hi"}, "not_found"),
            ({"type": "session.subscribe", "sessionId": "missing", "afterSeq": "1"}, "bad_request"),
        ]
        for index, (command, code) in enumerate(bad):
            await client.ws.send(json.dumps({**command, "id": f"bad{index}"}))
            frame = await client.wait_for(lambda f, i=index: f.get("id") == f"bad{i}")
            assert frame["ok"] is False and frame["error"]["code"] == code, (command, frame)
            assert frame["error"]["message"]
        session = (await client.call("session.create"))["session"]
        too_long = await client.request(
            "message.send", sessionId=session["id"], content="x" * 100_001
        )
        assert too_long["error"]["code"] == "too_large"
        wrong_type = await client.request("message.send", sessionId=session["id"], content=5)
        assert wrong_type["error"]["code"] == "bad_request"
        assert await client.call("ping") == {}
        await client.close()

    asyncio.run(scenario())


def test_a_frame_over_one_mebibyte_closes_with_1009(
    server: ServerProcess, new_user: Callable
) -> None:
    user = new_user()

    async def scenario() -> None:
        client = await connect(server, user)
        await client.ws.send(json.dumps({"type": "ping", "id": "big", "pad": "x" * (1 << 20)}))
        with pytest.raises(websockets.ConnectionClosed) as closed:
            while True:
                await client.next_frame()
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009

    asyncio.run(scenario())


def test_a_flood_of_commands_is_rate_limited(server: ServerProcess, new_user: Callable) -> None:
    user = new_user()

    async def scenario() -> None:
        client = await connect(server, user)
        for index in range(120):
            await client.ws.send(json.dumps({"type": "ping", "id": f"p{index}"}))
        results = [await client.wait_for(lambda f, i=i: f.get("id") == f"p{i}") for i in range(120)]
        codes = {r["error"]["code"] for r in results if not r["ok"]}
        assert codes == {"rate_limited"}
        assert sum(r["ok"] for r in results) >= 60
        await client.close()

    asyncio.run(scenario())


def test_text_reply_event_order(
    server: ServerProcess, standin: ThreadedStandIn, new_user: Callable
) -> None:
    user = new_user()
    standin.set_responder(ScriptedResponder([Reply([Text("Hello there, friend.")])]))

    async def scenario() -> None:
        client = await connect(server, user)
        session = (await client.call("session.create"))["session"]
        frames = await client.run_to_end(session["id"], "Say hello")
        assert types(frames) == [
            "RUN_STARTED",
            "TEXT_MESSAGE_START",
            "TEXT_MESSAGE_CONTENT",
            "TEXT_MESSAGE_END",
            "TEXT_MESSAGE_START",
            "TEXT_MESSAGE_CONTENT",
            "TEXT_MESSAGE_CONTENT",
            "TEXT_MESSAGE_CONTENT",
            "TEXT_MESSAGE_END",
            "RUN_FINISHED",
        ]
        seqs = [f["seq"] for f in frames]
        assert seqs == list(range(1, len(frames) + 1)), "seq starts at 1 and grows by one"
        started, user_start = frames[0]["event"], frames[1]["event"]
        assert started["threadId"] == session["id"]
        assert user_start["role"] == "user"
        assert frames[2]["event"]["delta"] == "Say hello"
        assert frames[4]["event"]["role"] == "assistant"
        text = "".join(f["event"]["delta"] for f in frames[5:8])
        assert text == "Hello there, friend."
        finished = frames[-1]["event"]
        assert finished["outcome"] == {"type": "success"}
        assert finished["usage"][0]["outputTokens"] > 0
        assert_valid_agui([agui_events(frames)])

        history = await client.call("session.get", sessionId=session["id"])
        assert [m["role"] for m in history["messages"]] == ["user", "assistant"]
        assert history["messages"][0]["id"] == user_start["messageId"]
        assert history["messages"][1]["id"] == frames[4]["event"]["messageId"]
        assert history["messages"][1]["content"] == "Hello there, friend."
        (run,) = history["runs"]
        assert run["id"] == started["runId"] and run["status"] == "completed"
        assert run["messageIds"] == [m["id"] for m in history["messages"]]
        assert run["usage"]["outputTokens"] > 0
        assert history["session"]["title"] == "Say hello"
        assert history["session"]["messageCount"] == 2
        await client.close()

    asyncio.run(scenario())


def test_tool_use_reply_runs_bash_and_the_editor(
    server: ServerProcess, standin: ThreadedStandIn, new_user: Callable
) -> None:
    user = new_user()
    standin.set_responder(
        ScriptedResponder(
            [
                Reply(
                    [
                        Text("Writing it."),
                        ToolUse(
                            "str_replace_based_edit_tool",
                            {"command": "create", "path": "notes.txt", "file_text": "alpha\n"},
                        ),
                    ]
                ),
                Reply([ToolUse("bash", {"command": "cat notes.txt; echo done"})]),
                Reply([Text("All done.")]),
            ]
        )
    )

    async def scenario() -> None:
        client = await connect(server, user)
        session = (await client.call("session.create"))["session"]
        frames = await client.run_to_end(session["id"], "make a note")
        assert types(frames) == [
            "RUN_STARTED",
            "TEXT_MESSAGE_START",
            "TEXT_MESSAGE_CONTENT",
            "TEXT_MESSAGE_END",
            "TEXT_MESSAGE_START",
            "TEXT_MESSAGE_CONTENT",
            "TEXT_MESSAGE_CONTENT",
            "TEXT_MESSAGE_END",
            "TOOL_CALL_START",
            "TOOL_CALL_ARGS",
            "TOOL_CALL_ARGS",
            "TOOL_CALL_ARGS",
            "TOOL_CALL_END",
            "TOOL_CALL_RESULT",
            # The second model turn has only a tool call: no empty text message.
            "TOOL_CALL_START",
            "TOOL_CALL_ARGS",
            "TOOL_CALL_ARGS",
            "TOOL_CALL_ARGS",
            "TOOL_CALL_END",
            "TOOL_CALL_RESULT",
            "TEXT_MESSAGE_START",
            "TEXT_MESSAGE_CONTENT",
            "TEXT_MESSAGE_CONTENT",
            "TEXT_MESSAGE_END",
            "RUN_FINISHED",
        ]
        events = agui_events(frames)
        first_call, second_call = events[8], events[14]
        assert first_call["toolCallName"] == "str_replace_based_edit_tool"
        assert first_call["parentMessageId"] == events[4]["messageId"]
        assert second_call["toolCallName"] == "bash"
        assert events[19]["content"].startswith("alpha\ndone")
        assert "metadata" not in events[13] and "metadata" not in events[19]
        assert_valid_agui([events])

        history = (await client.call("session.get", sessionId=session["id"]))["messages"]
        assert [m["role"] for m in history] == [
            "user",
            "assistant",
            "tool",
            "assistant",
            "tool",
            "assistant",
        ]
        assert history[1]["toolCalls"][0]["function"]["name"] == "str_replace_based_edit_tool"
        assert (
            json.loads(history[1]["toolCalls"][0]["function"]["arguments"])["path"] == "notes.txt"
        )
        assert history[2]["toolCallId"] == first_call["toolCallId"]
        assert history[3]["id"] == second_call["parentMessageId"]
        assert history[3]["content"] == ""
        assert history[4]["content"].startswith("alpha")
        # The model got each tool result back, paired with its call.
        last_request = standin.model.requests[-1].body
        results = last_request["messages"][-1]["content"]
        assert results[0]["type"] == "tool_result"
        assert results[0]["tool_use_id"] == second_call["toolCallId"]
        await client.close()

    asyncio.run(scenario())


def test_thinking_is_streamed_as_reasoning(
    server: ServerProcess, standin: ThreadedStandIn, new_user: Callable
) -> None:
    user = new_user()
    standin.set_responder(
        ScriptedResponder([Reply([Thinking("Let me weigh it."), Text("Forty-two.")])])
    )

    async def scenario() -> None:
        client = await connect(server, user)
        session = (await client.call("session.create"))["session"]
        frames = await client.run_to_end(session["id"], "meaning of life?")
        assert types(frames)[4:] == [
            "REASONING_START",
            "REASONING_MESSAGE_START",
            "REASONING_MESSAGE_CONTENT",
            "REASONING_MESSAGE_CONTENT",
            "REASONING_MESSAGE_CONTENT",
            "REASONING_MESSAGE_CONTENT",
            "REASONING_MESSAGE_END",
            "REASONING_END",
            "TEXT_MESSAGE_START",
            "TEXT_MESSAGE_CONTENT",
            "TEXT_MESSAGE_END",
            "RUN_FINISHED",
        ]
        assert_valid_agui([agui_events(frames)])
        history = (await client.call("session.get", sessionId=session["id"]))["messages"]
        assert [m["role"] for m in history] == ["user", "reasoning", "assistant"]
        assert history[1]["content"] == "Let me weigh it."
        assert history[1]["id"] == frames[4]["event"]["messageId"]
        await client.close()

    asyncio.run(scenario())


@pytest.mark.parametrize(
    ("reply", "code"),
    [
        (Reply(status_error=StatusError(429)), "provider_rate_limited"),
        (Reply(status_error=StatusError(529)), "provider_overloaded"),
        (Reply(status_error=StatusError(500)), "provider_error"),
        (Reply(status_error=StatusError(401)), "provider_auth"),
        (Reply([Text("partial words here")], fail_after=1, failure="drop"), "provider_unreachable"),
        (
            Reply([Text("partial words here")], fail_after=1, failure="error_event"),
            "provider_overloaded",
        ),
        (
            Reply(
                [Text("partial words here")],
                fail_after=1,
                failure="error_event",
                error_event=ErrorEvent("api_error", "boom"),
            ),
            "provider_error",
        ),
    ],
)
def test_provider_errors_end_the_run_with_a_code_and_the_session_stays_usable(
    server: ServerProcess, standin: ThreadedStandIn, new_user: Callable, reply: Reply, code: str
) -> None:
    user = new_user()
    standin.set_responder(ScriptedResponder([reply, text_reply("Back again.")]))

    async def scenario() -> None:
        client = await connect(server, user)
        session = (await client.call("session.create"))["session"]
        frames = await client.run_to_end(session["id"], "hello?")
        error = frames[-1]["event"]
        assert error["type"] == "RUN_ERROR" and error["code"] == code
        assert error["message"]
        assert "sk-ant" not in error["message"]
        assert_valid_agui([agui_events(frames)])
        again = await client.run_to_end(session["id"], "and now?")
        assert again[-1]["event"]["type"] == "RUN_FINISHED"
        history = await client.call("session.get", sessionId=session["id"])
        assert [r["status"] for r in history["runs"]] == ["failed", "completed"]
        assert history["runs"][0]["error"]["code"] == code
        # The failed run's message stays in history: merged with the next one when no reply
        # began, or followed by the partial reply that was kept.
        sent = standin.model.requests[-1].body["messages"]
        roles = [m["role"] for m in sent]
        assert roles == (["user"] if reply.fail_after is None else ["user", "assistant", "user"])
        texts = [b["text"] for m in sent if m["role"] == "user" for b in m["content"]]
        assert texts == ["hello?", "and now?"]
        await client.close()

    asyncio.run(scenario())


def test_cancel_mid_stream_keeps_partial_text_and_closes_open_messages(
    server: ServerProcess, standin: ThreadedStandIn, new_user: Callable
) -> None:
    user = new_user()
    words = [f"word{i} " for i in range(400)]
    standin.set_responder(
        ScriptedResponder(
            [Reply([Text("".join(words), chunks=words)], token_delay=0.02), text_reply("Next.")]
        )
    )

    async def scenario() -> None:
        client = await connect(server, user)
        session = (await client.call("session.create"))["session"]
        sent = await client.call("message.send", sessionId=session["id"], content="ramble")
        await client.wait_for(
            lambda f: (
                f["type"] == "event"
                and f["event"]["type"] == "TEXT_MESSAGE_CONTENT"
                and f["event"]["delta"] == "word5 "
            )
        )
        loop = asyncio.get_running_loop()
        asked = loop.time()
        assert await client.call("run.cancel", sessionId=session["id"]) == {}
        end = await client.wait_for_event(session["id"], "RUN_FINISHED")
        assert loop.time() - asked < 1.0, "cancel takes effect within a second"
        assert end["event"]["outcome"] == {"type": "cancelled"}
        frames = [f for f in client.events(session["id"])]
        assert types(frames)[-2:] == ["TEXT_MESSAGE_END", "RUN_FINISHED"]
        assert_valid_agui([agui_events(frames)])
        streamed = "".join(
            f["event"]["delta"]
            for f in frames
            if f["event"]["type"] == "TEXT_MESSAGE_CONTENT"
            and f["event"]["messageId"] != sent["messageId"]
        )
        history = await client.call("session.get", sessionId=session["id"])
        assert history["messages"][-1]["content"] == streamed
        assert 0 < len(streamed) < len("".join(words))
        assert history["runs"][0]["status"] == "cancelled"
        again = await client.run_to_end(session["id"], "go on")
        assert again[-1]["event"]["type"] == "RUN_FINISHED"
        await client.close()

    asyncio.run(scenario())


def test_cancel_while_a_tool_runs_answers_the_tool_call(
    server: ServerProcess, standin: ThreadedStandIn, new_user: Callable
) -> None:
    user = new_user()
    standin.set_responder(
        ScriptedResponder([Reply([ToolUse("bash", {"command": "sleep 30"})]), text_reply("ok")])
    )

    async def scenario() -> None:
        client = await connect(server, user)
        session = (await client.call("session.create"))["session"]
        await client.call("message.send", sessionId=session["id"], content="wait a bit")
        await client.wait_for_event(session["id"], "TOOL_CALL_END")
        await asyncio.sleep(0.3)
        loop = asyncio.get_running_loop()
        asked = loop.time()
        await client.call("run.cancel", sessionId=session["id"])
        await client.wait_for_event(session["id"], "RUN_FINISHED")
        assert loop.time() - asked < 1.5
        frames = client.events(session["id"])
        assert types(frames)[-2:] == ["TOOL_CALL_RESULT", "RUN_FINISHED"]
        assert "Cancelled" in frames[-2]["event"]["content"]
        # A failed call says so while it streams, as session.get's "error" does afterwards.
        assert frames[-2]["event"]["metadata"] == {"isError": True}
        assert_valid_agui([agui_events(frames)])
        again = await client.run_to_end(session["id"], "and?")
        assert again[-1]["event"]["type"] == "RUN_FINISHED"
        sent = standin.model.requests[-1].body["messages"]
        assert sent[1]["content"][0]["type"] == "tool_use"
        assert sent[2]["content"][0]["type"] == "tool_result"
        assert sent[2]["content"][0]["is_error"] is True
        await client.close()

    asyncio.run(scenario())


def test_second_send_while_running_is_busy(
    server: ServerProcess, standin: ThreadedStandIn, new_user: Callable
) -> None:
    user = new_user()
    standin.set_responder(ScriptedResponder([Reply([Text("slow reply coming")], token_delay=0.3)]))

    async def scenario() -> None:
        client = await connect(server, user)
        session = (await client.call("session.create"))["session"]
        await client.call("message.send", sessionId=session["id"], content="one")
        busy = await client.request("message.send", sessionId=session["id"], content="two")
        assert busy["ok"] is False and busy["error"]["code"] == "busy"
        listed = (await client.call("session.list"))["sessions"]
        assert listed[0]["running"] is True
        await client.wait_for_event(session["id"], "RUN_FINISHED")
        await client.close()

    asyncio.run(scenario())


def test_max_turns_ends_the_run_with_max_turns(
    standin: ThreadedStandIn, tmp_path_factory: pytest.TempPathFactory
) -> None:
    standin.set_responder(
        ScriptedResponder([Reply([ToolUse("bash", {"command": "echo again"})])], repeat_last=True)
    )
    process = ServerProcess(
        tmp_path_factory.mktemp("maxturns") / "data", standin.url or "", AGENT_MAX_TURNS="3"
    )
    with process:
        from support.server import register

        user = register(process.base, "looper")

        async def scenario() -> None:
            client = await Client.connect(process.ws_url, user["token"])
            session = (await client.call("session.create"))["session"]
            frames = await client.run_to_end(session["id"], "loop forever")
            assert frames[-1]["event"]["type"] == "RUN_ERROR"
            assert frames[-1]["event"]["code"] == "max_turns"
            assert types(frames).count("TOOL_CALL_RESULT") == 3
            assert_valid_agui([agui_events(frames)])
            await client.close()

        asyncio.run(scenario())
