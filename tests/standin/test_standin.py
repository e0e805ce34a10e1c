"""The stand-in model speaks the Messages API well enough for the real SDK.

Every test talks to a real loopback server through ``anthropic.AsyncAnthropic``;
nothing in the SDK is mocked.
"""

from __future__ import annotations

import asyncio
import json
import time
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import anthropic
import httpx2
import pytest

from service.standin import (
    ErrorEvent,
    InvalidRequest,
    Reply,
    ScriptedResponder,
    StandInModel,
    StatusError,
    Text,
    Thinking,
    ThreadedStandIn,
    ToolUse,
    demo_responder,
    text_reply,
    tokens_responder,
    validate_messages_request,
)

KEY = "sk-standin-test"
MODEL = "claude-standin-test"
HELLO = [{"role": "user", "content": "Hello"}]
BASH = [{"type": "bash_20250124", "name": "bash"}]
EDITOR = [{"type": "text_editor_20250728", "name": "str_replace_based_edit_tool"}]


@pytest.fixture(scope="module")
def server() -> Iterator[ThreadedStandIn]:
    with ThreadedStandIn(api_key=KEY) as standin:
        yield standin


@pytest.fixture
def standin(server: ThreadedStandIn) -> ThreadedStandIn:
    server.set_responder(demo_responder)
    server.model.clear_requests()
    server.model.prompt_cache.clear()
    return server


@asynccontextmanager
async def client(url: str | None, **options: Any) -> AsyncIterator[anthropic.AsyncAnthropic]:
    options.setdefault("api_key", KEY)
    options.setdefault("max_retries", 0)
    async with anthropic.AsyncAnthropic(base_url=url, **options) as c:
        yield c


async def stream_once(
    url: str | None, messages: list[dict[str, Any]] = HELLO, **params: Any
) -> tuple[list[Any], anthropic.types.Message]:
    """One streamed request: every raw event and the SDK's final message."""
    async with (
        client(url) as c,
        c.messages.stream(model=MODEL, max_tokens=1024, messages=messages, **params) as stream,
    ):
        events = [event async for event in stream]
        return events, await stream.get_final_message()


def deltas(events: list[Any], kind: str) -> list[Any]:
    return [e.delta for e in events if e.type == "content_block_delta" and e.delta.type == kind]


def post(url: str, body: dict[str, Any], headers: dict[str, str]) -> tuple[int, dict[str, Any]]:
    """A raw POST /v1/messages, for what the SDK would not send."""
    request = urllib.request.Request(
        f"{url}/v1/messages",
        data=json.dumps(body).encode(),
        headers={"content-type": "application/json", **headers},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


# --- streaming ---------------------------------------------------------------


def test_streamed_text_arrives_as_the_deltas_sent(standin: ThreadedStandIn) -> None:
    chunks = ["Hel", "lo, ", "wor", "ld!"]
    standin.set_responder(lambda body: Reply([Text("Hello, world!", chunks=chunks)]))

    events, message = asyncio.run(stream_once(standin.url))

    assert [d.text for d in deltas(events, "text_delta")] == chunks
    assert [e.type for e in events if e.type != "text"] == [
        "message_start",
        "content_block_start",
        *["content_block_delta"] * 4,
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]
    assert message.id.startswith("msg_")
    assert message.model == MODEL
    assert message.content[0].text == "Hello, world!"
    assert message.stop_reason == "end_turn"


def test_text_streams_word_by_word_by_default(standin: ThreadedStandIn) -> None:
    standin.set_responder(lambda body: text_reply("one two  three\nfour"))
    events, _ = asyncio.run(stream_once(standin.url))
    assert [d.text for d in deltas(events, "text_delta")] == ["one ", "two  ", "three\n", "four"]


def test_thinking_block_streams_thinking_then_signature(standin: ThreadedStandIn) -> None:
    standin.set_responder(
        lambda body: Reply([Thinking("Let me see.", signature="sig-1"), Text("Done.")])
    )

    events, message = asyncio.run(stream_once(standin.url))

    assert "".join(d.thinking for d in deltas(events, "thinking_delta")) == "Let me see."
    assert [d.signature for d in deltas(events, "signature_delta")] == ["sig-1"]
    thinking, text = message.content
    assert (thinking.type, thinking.thinking, thinking.signature) == (
        "thinking",
        "Let me see.",
        "sig-1",
    )
    assert text.text == "Done."


def test_tool_use_input_is_streamed_in_parts_and_reassembled(standin: ThreadedStandIn) -> None:
    tool_input = {"command": "ls -la /tmp", "restart": False, "env": {"A": "1", "B": [1, 2]}}
    standin.set_responder(
        lambda body: Reply([Text("Listing."), ToolUse("bash", tool_input, id="toolu_fixed")])
    )

    events, message = asyncio.run(stream_once(standin.url, tools=BASH))

    parts = [d.partial_json for d in deltas(events, "input_json_delta")]
    assert len(parts) >= 3
    assert json.loads("".join(parts)) == tool_input
    tool_use = message.content[1]
    assert (tool_use.type, tool_use.id, tool_use.name) == ("tool_use", "toolu_fixed", "bash")
    assert tool_use.input == tool_input
    assert message.stop_reason == "tool_use"


def test_tool_use_ids_are_fresh_when_not_given(standin: ThreadedStandIn) -> None:
    standin.set_responder(lambda body: Reply([ToolUse("bash", {"command": "ls"})]))
    _, first = asyncio.run(stream_once(standin.url, tools=BASH))
    _, second = asyncio.run(stream_once(standin.url, tools=BASH))
    assert first.content[0].id.startswith("toolu_")
    assert first.content[0].id != second.content[0].id


@pytest.mark.parametrize("stop_reason", ["end_turn", "max_tokens", "stop_sequence"])
def test_stop_reason_and_output_tokens(standin: ThreadedStandIn, stop_reason: str) -> None:
    standin.set_responder(
        lambda body: Reply([Text("Cut")], stop_reason=stop_reason, output_tokens=42)
    )
    _, message = asyncio.run(stream_once(standin.url))
    assert message.stop_reason == stop_reason
    assert message.usage.output_tokens == 42


def test_usage_estimates_input_and_simulates_prompt_caching(standin: ThreadedStandIn) -> None:
    standin.set_responder(lambda body: text_reply("Sure."))
    system = [
        {"type": "text", "text": "You are terse. " * 40, "cache_control": {"type": "ephemeral"}}
    ]
    first_turn = [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "Hi " * 30, "cache_control": {"type": "ephemeral"}}
            ],
        }
    ]
    second_turn = [
        {"role": "user", "content": [{"type": "text", "text": "Hi " * 30}]},
        {"role": "assistant", "content": [{"type": "text", "text": "Sure."}]},
        {
            "role": "user",
            "content": [{"type": "text", "text": "Again", "cache_control": {"type": "ephemeral"}}],
        },
    ]

    async def scenario() -> list[anthropic.types.Usage]:
        usages = []
        for messages in (first_turn, second_turn):
            _, message = await stream_once(standin.url, messages, system=system)
            usages.append(message.usage)
        _, uncached = await stream_once(standin.url, [{"role": "user", "content": "Hi " * 30}])
        usages.append(uncached.usage)
        return usages

    first, second, uncached = asyncio.run(scenario())

    assert first.cache_read_input_tokens == 0
    assert first.cache_creation_input_tokens > 150  # ~600 characters of system prompt
    assert second.cache_read_input_tokens == first.cache_creation_input_tokens
    assert 0 < second.cache_creation_input_tokens < first.cache_creation_input_tokens
    assert (uncached.cache_read_input_tokens, uncached.cache_creation_input_tokens) == (0, 0)
    assert uncached.input_tokens >= 20  # ~90 characters / 4
    assert first.output_tokens >= 1


def test_non_streaming_request_gets_a_whole_message(standin: ThreadedStandIn) -> None:
    standin.set_responder(
        lambda body: Reply(
            [Thinking("Hmm."), Text("Hi there."), ToolUse("bash", {"command": "pwd"})]
        )
    )

    async def call() -> anthropic.types.Message:
        async with client(standin.url) as c:
            return await c.messages.create(model=MODEL, max_tokens=100, messages=HELLO, tools=BASH)

    message = asyncio.run(call())
    assert [b.type for b in message.content] == ["thinking", "text", "tool_use"]
    assert message.content[2].input == {"command": "pwd"}
    assert message.stop_reason == "tool_use"
    assert message.usage.input_tokens > 0


def test_async_responders_are_awaited(standin: ThreadedStandIn) -> None:
    async def respond(body: dict[str, Any]) -> Reply:
        await asyncio.sleep(0.01)
        return text_reply(f"{len(body['messages'])} message(s)")

    standin.set_responder(respond)
    _, message = asyncio.run(stream_once(standin.url))
    assert message.content[0].text == "1 message(s)"


def test_requests_are_recorded_and_connections_reused(standin: ThreadedStandIn) -> None:
    standin.set_responder(lambda body: text_reply("ok"))
    opened_before = standin.model.connections_opened

    async def two_calls() -> None:
        async with client(standin.url) as c:
            for _ in range(2):
                async with c.messages.stream(model=MODEL, max_tokens=10, messages=HELLO) as s:
                    await s.get_final_message()

    asyncio.run(two_calls())

    recorded = standin.requests
    assert len(recorded) == 2
    assert recorded[0].path == "/v1/messages"
    assert recorded[0].body["messages"] == HELLO
    assert recorded[0].body["stream"] is True
    assert recorded[0].headers["authorization"] == f"Bearer {KEY}"
    assert "anthropic-version" in recorded[0].headers
    assert standin.model.connections_opened - opened_before == 1


def test_count_tokens(standin: ThreadedStandIn) -> None:
    async def count() -> int:
        async with client(standin.url) as c:
            result = await c.messages.count_tokens(model=MODEL, messages=HELLO)
            return result.input_tokens

    assert asyncio.run(count()) >= 1


# --- authentication and errors -------------------------------------------------


def test_wrong_key_is_an_authentication_error(standin: ThreadedStandIn) -> None:
    async def call() -> None:
        async with client(standin.url, api_key="wrong") as c:
            await c.messages.create(model=MODEL, max_tokens=10, messages=HELLO)

    with pytest.raises(anthropic.AuthenticationError) as excinfo:
        asyncio.run(call())
    assert excinfo.value.body == {
        "type": "error",
        "error": {"type": "authentication_error", "message": "invalid x-api-key"},
        "request_id": excinfo.value.body["request_id"],
    }


def test_x_api_key_header_is_accepted_too(standin: ThreadedStandIn) -> None:
    body = {"model": MODEL, "max_tokens": 10, "messages": HELLO}
    assert post(standin.url, body, {"x-api-key": KEY})[0] == 200
    status, error = post(standin.url, body, {"x-api-key": "nope"})
    assert status == 401
    assert error["error"] == {"type": "authentication_error", "message": "invalid x-api-key"}
    assert post(standin.url, body, {})[0] == 401


@pytest.mark.parametrize(
    ("status", "error_class", "error_type"),
    [
        (400, anthropic.BadRequestError, "invalid_request_error"),
        (401, anthropic.AuthenticationError, "authentication_error"),
        (429, anthropic.RateLimitError, "rate_limit_error"),
        (500, anthropic.InternalServerError, "api_error"),
        (529, anthropic.OverloadedError, "overloaded_error"),
    ],
)
def test_status_errors_map_to_sdk_exceptions(
    standin: ThreadedStandIn, status: int, error_class: type[Exception], error_type: str
) -> None:
    standin.set_responder(lambda body: Reply(status_error=StatusError(status, message="Nope.")))

    with pytest.raises(error_class) as excinfo:
        asyncio.run(stream_once(standin.url))

    error = excinfo.value
    assert isinstance(error, anthropic.APIStatusError)
    assert error.status_code == status
    assert error.body["error"] == {"type": error_type, "message": "Nope."}
    if status in (429, 529):
        assert error.response.headers["retry-after"] == "1"


def test_status_error_as_a_tuple_and_custom_retry_after(standin: ThreadedStandIn) -> None:
    standin.set_responder(lambda body: Reply(status_error=(429, "rate_limit_error", "Slow down.")))
    with pytest.raises(anthropic.RateLimitError, match="Slow down."):
        asyncio.run(stream_once(standin.url))

    standin.set_responder(lambda body: Reply(status_error=StatusError(429, retry_after=0.25)))
    with pytest.raises(anthropic.RateLimitError) as excinfo:
        asyncio.run(stream_once(standin.url))
    assert excinfo.value.response.headers["retry-after-ms"] == "250"


def test_sdk_retries_honour_retry_after(standin: ThreadedStandIn) -> None:
    standin.set_responder(
        ScriptedResponder(
            [Reply(status_error=StatusError(529, retry_after=0.05)), text_reply("Recovered.")]
        )
    )

    async def call() -> anthropic.types.Message:
        async with client(standin.url, max_retries=1) as c:
            return await c.messages.create(model=MODEL, max_tokens=10, messages=HELLO)

    message = asyncio.run(call())
    assert message.content[0].text == "Recovered."
    assert standin.requests[-1].headers["x-stainless-retry-count"] == "1"


def test_error_event_mid_stream_raises(standin: ThreadedStandIn) -> None:
    standin.set_responder(
        lambda body: Reply(
            [Text("a b c d")],
            fail_after=2,
            failure="error_event",
            error_event=ErrorEvent("overloaded_error", "Overloaded"),
        )
    )
    received: list[str] = []

    async def consume() -> None:
        async with (
            client(standin.url) as c,
            c.messages.stream(model=MODEL, max_tokens=10, messages=HELLO) as stream,
        ):
            async for text in stream.text_stream:
                received.append(text)

    # A mid-stream error arrives with HTTP status 200, so the SDK raises the
    # base APIStatusError, not OverloadedError.
    with pytest.raises(anthropic.APIStatusError) as excinfo:
        asyncio.run(consume())
    assert received == ["a ", "b "]
    assert excinfo.value.body["error"]["type"] == "overloaded_error"


def test_dropped_stream_raises_a_transport_error(standin: ThreadedStandIn) -> None:
    standin.set_responder(lambda body: Reply([Text("a b c d")], fail_after=1, failure="drop"))
    # anthropic 2.16 let httpx2's error through mid-stream; 2.17 wraps it. Both reach the
    # agent's classify_provider_error as "provider_unreachable".
    with pytest.raises(
        (httpx2.RemoteProtocolError, anthropic.APIConnectionError), match="incomplete chunked read"
    ):
        asyncio.run(stream_once(standin.url))


def test_dropped_request_is_a_connection_error(standin: ThreadedStandIn) -> None:
    standin.set_responder(lambda body: Reply(no_response="drop"))
    with pytest.raises(anthropic.APIConnectionError):
        asyncio.run(stream_once(standin.url))


@pytest.mark.timeout(10)
def test_hang_mid_stream_is_cut_by_the_client_read_timeout(standin: ThreadedStandIn) -> None:
    standin.set_responder(lambda body: Reply([Text("a b c")], fail_after=1, failure="hang"))

    async def consume() -> None:
        async with (
            client(standin.url, timeout=0.3) as c,
            c.messages.stream(model=MODEL, max_tokens=10, messages=HELLO) as stream,
        ):
            await stream.get_final_message()

    started = time.monotonic()
    with pytest.raises((httpx2.ReadTimeout, anthropic.APITimeoutError)):
        asyncio.run(consume())
    assert time.monotonic() - started < 3


@pytest.mark.timeout(10)
def test_hang_before_the_response_is_an_sdk_timeout(standin: ThreadedStandIn) -> None:
    standin.set_responder(lambda body: Reply(no_response="hang"))

    async def call() -> None:
        async with client(standin.url, timeout=0.3) as c:
            await c.messages.create(model=MODEL, max_tokens=10, messages=HELLO)

    with pytest.raises(anthropic.APITimeoutError):
        asyncio.run(call())


@pytest.mark.timeout(10)
def test_stop_does_not_wait_for_hanging_streams() -> None:
    async def scenario() -> float:
        streaming = asyncio.Event()

        async def hang_after_one_delta(body: dict[str, Any]) -> Reply:
            streaming.set()
            return Reply([Text("a b")], fail_after=1, failure="hang")

        model = StandInModel(hang_after_one_delta)
        url = await model.start()
        consumer = asyncio.create_task(stream_once(url))
        await asyncio.wait_for(streaming.wait(), 5)
        await asyncio.sleep(0.05)
        started = time.monotonic()
        await model.stop()
        elapsed = time.monotonic() - started
        with pytest.raises((httpx2.RemoteProtocolError, anthropic.APIConnectionError)):
            await consumer
        return elapsed

    assert asyncio.run(scenario()) < 1


def test_a_client_abandoning_a_stream_frees_its_connection() -> None:
    async def scenario() -> int:
        model = StandInModel(tokens_responder(1000, delay=0.002))
        url = await model.start()
        try:
            async with (
                client(url, api_key="any") as c,
                c.messages.stream(model=MODEL, max_tokens=10, messages=HELLO) as stream,
            ):
                async for _ in stream.text_stream:
                    break
            for _ in range(200):
                if model.open_connections == 0:
                    break
                await asyncio.sleep(0.01)
            return model.open_connections
        finally:
            await model.stop()

    assert asyncio.run(scenario()) == 0


def test_responder_failure_is_a_500_naming_the_error(standin: ThreadedStandIn) -> None:
    def broken(body: dict[str, Any]) -> Reply:
        raise KeyError("no script")

    standin.set_responder(broken)
    with pytest.raises(anthropic.InternalServerError, match="stand-in responder failed: KeyError"):
        asyncio.run(stream_once(standin.url))


def test_scripted_responder_hands_out_replies_in_order(standin: ThreadedStandIn) -> None:
    script = ScriptedResponder([text_reply("first"), text_reply("second")])
    standin.set_responder(script)

    async def three_calls() -> list[str]:
        texts = []
        for _ in range(2):
            _, message = await stream_once(standin.url)
            texts.append(message.content[0].text)
        with pytest.raises(anthropic.InternalServerError, match="no reply for request #3"):
            await stream_once(standin.url)
        return texts

    assert asyncio.run(three_calls()) == ["first", "second"]
    assert len(script.calls) == 3
    assert script.remaining == 0

    standin.set_responder(ScriptedResponder([text_reply("again")], repeat_last=True))
    for _ in range(2):
        assert asyncio.run(stream_once(standin.url))[1].content[0].text == "again"


# --- request validation ------------------------------------------------------------

TOOL_USE = {"type": "tool_use", "id": "toolu_1", "name": "bash", "input": {"command": "ls"}}
TOOL_RESULT = {"type": "tool_result", "tool_use_id": "toolu_1", "content": "a.txt"}

INVALID_CONVERSATIONS = {
    "no messages": ([], "at least one message"),
    "assistant first": (
        [{"role": "assistant", "content": "Hi"}],
        'first message must use the "user"',
    ),
    "two user turns": (
        [{"role": "user", "content": "a"}, {"role": "user", "content": "b"}],
        "roles must alternate",
    ),
    "empty text block": (
        [{"role": "user", "content": [{"type": "text", "text": ""}]}],
        "non-whitespace",
    ),
    "empty string content": ([{"role": "user", "content": ""}], "non-empty content"),
    "unanswered tool use": (
        [
            {"role": "user", "content": "ls"},
            {"role": "assistant", "content": [TOOL_USE]},
            {"role": "user", "content": "what now?"},
        ],
        "`tool_use` ids were found without `tool_result` blocks immediately after: toolu_1",
    ),
    "tool result for an unknown call": (
        [
            {"role": "user", "content": "ls"},
            {"role": "assistant", "content": [TOOL_USE]},
            {"role": "user", "content": [{**TOOL_RESULT, "tool_use_id": "toolu_2"}]},
        ],
        "unexpected `tool_use_id`",
    ),
    "tool result after text": (
        [
            {"role": "user", "content": "ls"},
            {"role": "assistant", "content": [TOOL_USE]},
            {"role": "user", "content": [{"type": "text", "text": "here"}, TOOL_RESULT]},
        ],
        "must come first",
    ),
}


@pytest.mark.parametrize("case", list(INVALID_CONVERSATIONS))
def test_invalid_conversations_get_a_400(standin: ThreadedStandIn, case: str) -> None:
    messages, expected = INVALID_CONVERSATIONS[case]
    with pytest.raises(anthropic.BadRequestError) as excinfo:
        asyncio.run(stream_once(standin.url, messages, tools=BASH))
    assert excinfo.value.body["error"]["type"] == "invalid_request_error"
    assert expected in excinfo.value.body["error"]["message"]


def test_a_valid_tool_round_trip_is_accepted(standin: ThreadedStandIn) -> None:
    standin.set_responder(lambda body: text_reply("Fine."))
    messages = [
        {"role": "user", "content": "ls"},
        {"role": "assistant", "content": [{"type": "text", "text": "Listing."}, TOOL_USE]},
        {"role": "user", "content": [TOOL_RESULT, {"type": "text", "text": "and?"}]},
    ]
    _, message = asyncio.run(stream_once(standin.url, messages, tools=BASH))
    assert message.content[0].text == "Fine."


def test_missing_max_tokens_gets_a_400(standin: ThreadedStandIn) -> None:
    status, error = post(standin.url, {"model": MODEL, "messages": HELLO}, {"x-api-key": KEY})
    assert status == 400
    assert error["error"] == {
        "type": "invalid_request_error",
        "message": "max_tokens: Field required",
    }


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"max_tokens": 10, "messages": HELLO}, "model: Field required"),
        (
            {
                "model": MODEL,
                "max_tokens": 10,
                "messages": [
                    {"role": "user", "content": "ls"},
                    {"role": "assistant", "content": [TOOL_USE]},
                    {"role": "user", "content": [TOOL_RESULT]},
                ],
            },
            "must define tools",
        ),
        (
            {
                "model": MODEL,
                "max_tokens": 2000,
                "thinking": {"type": "enabled", "budget_tokens": 4000},
                "messages": HELLO,
            },
            "greater than `thinking.budget_tokens`",
        ),
        (
            {
                "model": MODEL,
                "max_tokens": 10,
                "system": [
                    {"type": "text", "text": f"s{i}", "cache_control": {"type": "ephemeral"}}
                    for i in range(5)
                ],
                "messages": HELLO,
            },
            "A maximum of 4 blocks with cache_control",
        ),
        (
            {"model": MODEL, "max_tokens": 10, "messages": HELLO, "tools": BASH + BASH},
            "Tool names must be unique",
        ),
    ],
)
def test_validation_rules(body: dict[str, Any], expected: str) -> None:
    with pytest.raises(InvalidRequest, match=expected):
        validate_messages_request(body)


def test_reply_blocks_reject_what_the_api_never_sends() -> None:
    with pytest.raises(ValueError, match="non-empty"):
        Text("")
    with pytest.raises(ValueError, match="concatenate"):
        Text("abc", chunks=["a", "c"])


def test_only_loopback_addresses() -> None:
    with pytest.raises(ValueError, match="loopback"):
        asyncio.run(StandInModel().start(host="0.0.0.0"))


# --- the demo model -------------------------------------------------------------------


def test_demo_run_command_calls_bash_and_summarises_the_result(standin: ThreadedStandIn) -> None:
    async def conversation() -> tuple[anthropic.types.Message, anthropic.types.Message]:
        ask = [{"role": "user", "content": "run: echo hi"}]
        _, call = await stream_once(standin.url, ask, tools=BASH)
        tool_use = next(b for b in call.content if b.type == "tool_use")
        answer = [
            *ask,
            {
                "role": "assistant",
                "content": [b.model_dump(exclude_none=True) for b in call.content],
            },
            {
                "role": "user",
                "content": [{"type": "tool_result", "tool_use_id": tool_use.id, "content": "hi\n"}],
            },
        ]
        _, summary = await stream_once(standin.url, answer, tools=BASH)
        return call, summary

    call, summary = asyncio.run(conversation())

    tool_use = next(b for b in call.content if b.type == "tool_use")
    assert (tool_use.name, tool_use.input) == ("bash", {"command": "echo hi"})
    assert call.stop_reason == "tool_use"
    assert summary.stop_reason == "end_turn"
    assert summary.content[0].text == "The command printed:\n```\nhi\n```"


def test_demo_file_commands_use_the_editor(standin: ThreadedStandIn) -> None:
    async def ask(text: str) -> anthropic.types.Message:
        return (await stream_once(standin.url, [{"role": "user", "content": text}], tools=EDITOR))[
            1
        ]

    write = asyncio.run(ask("write: notes/todo.md\n# Todo\n- test"))
    read = asyncio.run(ask("read: notes/todo.md"))

    assert write.content[-1].input == {
        "command": "create",
        "path": "notes/todo.md",
        "file_text": "# Todo\n- test\n",
    }
    assert read.content[-1].input == {"command": "view", "path": "notes/todo.md"}


def test_demo_think_streams_a_thinking_block(standin: ThreadedStandIn) -> None:
    _, message = asyncio.run(stream_once(standin.url, [{"role": "user", "content": "think: why?"}]))
    assert [b.type for b in message.content] == ["thinking", "text"]
    assert "why?" in message.content[0].thinking


def test_demo_explains_itself_word_by_word(standin: ThreadedStandIn) -> None:
    events, message = asyncio.run(stream_once(standin.url, [{"role": "user", "content": "Hi bot"}]))
    text = message.content[0].text
    assert "demo mode" in text
    assert "> Hi bot" in text
    for command in ("run:", "write:", "read:", "think:"):
        assert command in text
    words = deltas(events, "text_delta")
    assert len(words) > 20
    assert all(len(d.text.split()) == 1 for d in words)


def test_demo_without_the_tool_says_so(standin: ThreadedStandIn) -> None:
    _, message = asyncio.run(stream_once(standin.url, [{"role": "user", "content": "run: ls"}]))
    assert [b.type for b in message.content] == ["text"]
    assert "not enabled" in message.content[0].text


# --- load ---------------------------------------------------------------------------------


@pytest.mark.timeout(30)
def test_many_concurrent_streams_complete(standin: ThreadedStandIn) -> None:
    standin.set_responder(tokens_responder(20, delay=0.005))

    async def one(c: anthropic.AsyncAnthropic) -> list[str]:
        async with c.messages.stream(model=MODEL, max_tokens=10, messages=HELLO) as stream:
            return [text async for text in stream.text_stream]

    async def many() -> list[list[str]]:
        async with client(standin.url) as c:
            return await asyncio.gather(*(one(c) for _ in range(100)))

    started = time.monotonic()
    results = asyncio.run(many())
    assert time.monotonic() - started < 15
    assert all(r == [f"tok{i} " for i in range(1, 21)] for r in results)


def test_demo_answers_a_message_merged_with_a_cancelled_tool_result(
    standin: ThreadedStandIn,
) -> None:
    """After a cancelled tool call the next user message arrives in the same turn as the
    call's result: the demo answers the words, not the leftover result."""

    async def ask_after_cancel() -> anthropic.types.Message:
        ask = [{"role": "user", "content": "run: sleep 30"}]
        _, call = await stream_once(standin.url, ask, tools=BASH)
        tool_use = next(b for b in call.content if b.type == "tool_use")
        merged = [
            {"type": "tool_result", "tool_use_id": tool_use.id, "content": "Cancelled"},
            {"type": "text", "text": "run: echo again"},
        ]
        history = [
            *ask,
            {
                "role": "assistant",
                "content": [b.model_dump(exclude_none=True) for b in call.content],
            },
            {"role": "user", "content": merged},
        ]
        return (await stream_once(standin.url, history, tools=BASH))[1]

    reply = asyncio.run(ask_after_cancel())
    assert reply.content[-1].type == "tool_use"
    assert reply.content[-1].input == {"command": "echo again"}
