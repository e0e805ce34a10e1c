"""What the model is sent: prompt-cache marks, the context budget, thinking, system prompts."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from support.server import Client, ServerProcess, register

from service.standin import Reply, ScriptedResponder, Text, Thinking, ThreadedStandIn, text_reply

pytestmark = pytest.mark.timeout(90)


def test_stable_prefix_is_marked_for_the_prompt_cache(
    server: ServerProcess, standin: ThreadedStandIn, new_user
) -> None:
    user = new_user()
    standin.set_responder(ScriptedResponder([text_reply("one"), text_reply("two")]))

    async def scenario() -> None:
        client = await Client.connect(server.ws_url, user["token"])
        session = (await client.call("session.create", systemPrompt="You are terse."))["session"]
        await client.run_to_end(session["id"], "first")
        frames = await client.run_to_end(session["id"], "second")
        body = standin.model.requests[-1].body
        assert body["system"][0]["text"].startswith("You are terse.")
        assert body["system"][-1]["cache_control"] == {"type": "ephemeral"}
        assert body["tools"][-1]["cache_control"] == {"type": "ephemeral"}
        assert {tool["name"] for tool in body["tools"]} == {"bash", "str_replace_based_edit_tool"}
        assert body["messages"][-1]["content"][-1]["cache_control"] == {"type": "ephemeral"}
        usage = frames[-1]["event"]["usage"][0]
        assert usage["cachedInputTokens"] > 0, "the second call reads the cached prefix"
        got = await client.call("session.get", sessionId=session["id"])
        reply_usage = got["messages"][-1]["usage"]
        assert reply_usage["cacheReadTokens"] == usage["cachedInputTokens"]
        assert reply_usage["inputTokens"] >= 0 and reply_usage["outputTokens"] > 0
        await client.close()

    asyncio.run(scenario())


def test_long_history_is_trimmed_to_the_budget_but_stored_whole(
    standin: ThreadedStandIn, tmp_path: Path
) -> None:
    long_reply = "word " * 250
    standin.set_responder(ScriptedResponder([text_reply(long_reply)], repeat_last=True))
    process = ServerProcess(
        tmp_path / "data",
        standin.url or "",
        AGENT_CONTEXT_TOKENS="2500",
        AGENT_MAX_TOKENS="100",
        AGENT_TOOLS="none",
    )
    with process:
        user = register(process.base, "talker")

        async def scenario() -> None:
            client = await Client.connect(process.ws_url, user["token"])
            session = (await client.call("session.create"))["session"]["id"]
            for turn in range(8):
                await client.run_to_end(session, f"question {turn} " + "pad " * 200)
            sent = standin.model.requests[-1].body["messages"]
            assert sent[-1]["content"][0]["text"].startswith("question 7")
            assert sent[0]["role"] == "user"
            assert not sent[0]["content"][0]["text"].startswith("question 0"), "oldest left out"
            assert "tools" not in standin.model.requests[-1].body
            got = await client.call("session.get", sessionId=session)
            assert len(got["messages"]) == 16, "the stored history stays complete"
            await client.close()

        asyncio.run(scenario())
        assert "context budget: left out" in (tmp_path / "data/logs/portagent.log").read_text()


def test_extended_thinking_is_requested_and_its_signature_sent_back(
    standin: ThreadedStandIn, tmp_path: Path
) -> None:
    standin.set_responder(
        ScriptedResponder(
            [
                Reply([Thinking("Pondering.", signature="c2lnbmF0dXJl"), Text("Answer one.")]),
                text_reply("Answer two."),
            ]
        )
    )
    process = ServerProcess(tmp_path / "data", standin.url or "", AGENT_THINKING_BUDGET="1024")
    with process:
        user = register(process.base, "thinker")

        async def scenario() -> None:
            client = await Client.connect(process.ws_url, user["token"])
            session = (await client.call("session.create"))["session"]["id"]
            frames = await client.run_to_end(session, "think first")
            assert "REASONING_MESSAGE_CONTENT" in [f["event"]["type"] for f in frames]
            first = standin.model.requests[-1].body
            assert first["thinking"] == {"type": "enabled", "budget_tokens": 1024}
            assert first["max_tokens"] > 1024
            await client.run_to_end(session, "and again")
            second = standin.model.requests[-1].body["messages"]
            thinking = second[1]["content"][0]
            assert thinking == {
                "type": "thinking",
                "thinking": "Pondering.",
                "signature": "c2lnbmF0dXJl",
            }
            await client.close()

        asyncio.run(scenario())
