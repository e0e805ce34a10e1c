"""The AG-UI verifier accepts what @ag-ui/client accepts and rejects the rest.

Besides proving the helper works, the cases below record which parts of
Portagent's event vocabulary the official client (1.0.0) accepts, so a change
of client version that tightens a rule shows up here first.
"""

from __future__ import annotations

from typing import Any

import pytest
from ag_ui.core import (
    BaseEvent,
    CustomEvent,
    Interrupt,
    ReasoningEncryptedValueEvent,
    ReasoningEndEvent,
    ReasoningMessageContentEvent,
    ReasoningMessageEndEvent,
    ReasoningMessageStartEvent,
    ReasoningStartEvent,
    RunErrorEvent,
    RunFinishedCancelledOutcome,
    RunFinishedEvent,
    RunFinishedInterruptOutcome,
    RunFinishedSuccessOutcome,
    RunStartedEvent,
    TextMessageContentEvent,
    TextMessageEndEvent,
    TextMessageStartEvent,
    TokenUsage,
    ToolCallArgsEvent,
    ToolCallEndEvent,
    ToolCallResultEvent,
    ToolCallStartEvent,
)
from agui.verify import assert_valid_agui, validate_event_models, verify_runs

THREAD, RUN = "thread-1", "run-1"

Event = dict[str, Any]


def wire(*events: BaseEvent | Event) -> list[Event]:
    """Events as Portagent serializes them."""
    return [
        e if isinstance(e, dict) else e.model_dump(mode="json", by_alias=True, exclude_none=True)
        for e in events
    ]


def started() -> RunStartedEvent:
    return RunStartedEvent(thread_id=THREAD, run_id=RUN)


def finished(**fields: Any) -> RunFinishedEvent:
    return RunFinishedEvent(thread_id=THREAD, run_id=RUN, **fields)


def text(message_id: str, *deltas: str, role: str = "assistant") -> list[BaseEvent]:
    return [
        TextMessageStartEvent(message_id=message_id, role=role),
        *(TextMessageContentEvent(message_id=message_id, delta=d) for d in deltas),
        TextMessageEndEvent(message_id=message_id),
    ]


def full_turn() -> list[Event]:
    """A typical agent turn: text, a bash call with streamed args, its result."""
    return wire(
        started(),
        *text("msg-1", "Let me ", "look."),
        ToolCallStartEvent(
            tool_call_id="toolu_1", tool_call_name="bash", parent_message_id="msg-1"
        ),
        ToolCallArgsEvent(tool_call_id="toolu_1", delta='{"command": '),
        ToolCallArgsEvent(tool_call_id="toolu_1", delta='"ls"}'),
        ToolCallEndEvent(tool_call_id="toolu_1"),
        ToolCallResultEvent(
            message_id="tool-1", tool_call_id="toolu_1", content="a\nb\n", role="tool"
        ),
        *text("msg-2", "Two files."),
        finished(),
    )


def reasoning(message_id: str, span_id: str) -> list[BaseEvent]:
    return [
        ReasoningStartEvent(message_id=span_id),
        ReasoningMessageStartEvent(message_id=message_id, role="reasoning"),
        ReasoningMessageContentEvent(message_id=message_id, delta="Thinking..."),
        ReasoningMessageEndEvent(message_id=message_id),
        ReasoningEncryptedValueEvent(
            entity_id=message_id, subtype="message", encrypted_value="sig-abc"
        ),
        ReasoningEndEvent(message_id=span_id),
    ]


USAGE = [
    TokenUsage(
        provider="anthropic",
        model="claude-sonnet-4-5",
        input_tokens=120,
        output_tokens=30,
        total_tokens=150,
        cached_input_tokens=100,
        cache_write_input_tokens=0,
    )
]

# What the official client accepts from Portagent's vocabulary.
ACCEPTED: dict[str, list[Event]] = {
    "full turn": full_turn(),
    "reasoning span and message": wire(started(), *reasoning("r-1", "rs-1"), finished()),
    "reasoning span and message share an id": wire(started(), *reasoning("r-1", "r-1"), finished()),
    "run error with code": wire(
        started(), RunErrorEvent(message="The model is overloaded.", code="overloaded")
    ),
    "run error with usage": wire(
        started(), RunErrorEvent(message="Tool failed.", code="tool_error", usage=USAGE)
    ),
    "run error as the first event": wire(RunErrorEvent(message="Unauthorized.")),
    "run finished with outcome and usage": wire(
        started(), finished(outcome=RunFinishedSuccessOutcome(), usage=USAGE)
    ),
    "run finished cancelled": wire(
        started(), *text("m", "partial"), finished(outcome=RunFinishedCancelledOutcome())
    ),
    "run finished interrupted": wire(
        started(),
        finished(
            outcome=RunFinishedInterruptOutcome(
                interrupts=[Interrupt(id="i-1", reason="tool approval")]
            )
        ),
    ),
    "user text message": wire(started(), *text("u-1", "run: ls", role="user"), finished()),
    "empty text delta": wire(started(), *text("m", ""), finished()),
    "custom event": wire(
        started(), CustomEvent(name="portagent.title", value={"t": "x"}), finished()
    ),
    "two runs in one stream": wire(
        started(),
        finished(),
        RunStartedEvent(thread_id=THREAD, run_id="run-2"),
        RunFinishedEvent(thread_id=THREAD, run_id="run-2"),
    ),
    "new run after an error": wire(
        started(),
        RunErrorEvent(message="boom"),
        RunStartedEvent(thread_id=THREAD, run_id="run-2"),
        RunFinishedEvent(thread_id=THREAD, run_id="run-2"),
    ),
}

# What it rejects, with a piece of the client's message.
REJECTED: dict[str, tuple[list[Event], str]] = {
    "content before start": (
        wire(
            started(),
            TextMessageContentEvent(message_id="m", delta="hi"),
            *text("m", "hi"),
            finished(),
        ),
        "No active text message found with ID 'm'",
    ),
    "event after run finished": (
        wire(started(), finished(), *text("m", "late")),
        "The run has already finished",
    ),
    "event after run error": (
        wire(started(), RunErrorEvent(message="x"), *text("m", "late")),
        "The run has already errored",
    ),
    "unclosed text message": (
        wire(started(), *text("m", "hi")[:2], finished()),
        "while text messages are still active",
    ),
    "unclosed tool call": (
        wire(started(), ToolCallStartEvent(tool_call_id="c", tool_call_name="bash"), finished()),
        "while tool calls are still active",
    ),
    "unclosed reasoning span": (
        wire(started(), ReasoningStartEvent(message_id="rs"), finished()),
        "while reasoning spans are still active",
    ),
    "first event not run started": (wire(*text("m", "hi")), "First event must be 'RUN_STARTED'"),
    "run started twice": (wire(started(), started(), finished()), "while a run is still active"),
    "text role tool": (
        wire(started(), {"type": "TEXT_MESSAGE_START", "messageId": "m", "role": "tool"}),
        "role",
    ),
    "usage as one object": (
        wire(
            started(),
            {"type": "RUN_FINISHED", "threadId": THREAD, "runId": RUN, "usage": {"inputTokens": 1}},
        ),
        "expected array",
    ),
    "float timestamp": (
        wire(started(), {**wire(finished())[0], "timestamp": 1.5}),
        "expected int",
    ),
}


@pytest.fixture(scope="module")
def results() -> dict[str, dict[str, Any]]:
    """Every case checked by one Node process."""
    names = [*ACCEPTED, *REJECTED]
    runs = [*ACCEPTED.values(), *(run for run, _ in REJECTED.values())]
    return dict(zip(names, verify_runs(runs), strict=True))


@pytest.mark.parametrize("name", list(ACCEPTED))
def test_client_accepts(results: dict[str, dict[str, Any]], name: str) -> None:
    assert results[name] == {"ok": True}


@pytest.mark.parametrize("name", list(REJECTED))
def test_client_rejects(results: dict[str, dict[str, Any]], name: str) -> None:
    _, expected = REJECTED[name]
    assert results[name]["ok"] is False
    assert expected in results[name]["error"]


def test_assert_valid_agui_passes_a_correct_run() -> None:
    assert_valid_agui([full_turn(), ACCEPTED["reasoning span and message"]])


def test_assert_valid_agui_names_the_failing_run_and_reason() -> None:
    broken = wire(started(), finished(), *text("m", "late"))
    with pytest.raises(AssertionError) as excinfo:
        assert_valid_agui([full_turn(), broken])
    message = str(excinfo.value)
    assert "run #1 rejected by @ag-ui/client verifyEvents" in message
    assert "The run has already finished" in message
    assert "run #0" not in message


def test_stripped_fields_fail_unless_warnings_allowed() -> None:
    run = wire(started(), {**wire(finished())[0], "portagentExtra": 1})
    [result] = verify_runs([run])
    assert result["ok"] is True
    assert any("/portagentExtra" in w for w in result["warnings"])
    with pytest.raises(AssertionError, match="stripped or dropped"):
        assert_valid_agui([run], check_models=False)
    assert_valid_agui([run], allow_warnings=True)


def test_deprecated_thinking_events_are_dropped_with_a_warning() -> None:
    run = wire(started(), {"type": "THINKING_START"}, {"type": "THINKING_END"}, finished())
    [result] = verify_runs([run])
    assert result["ok"] is True
    assert any("THINKING_START" in w for w in result["warnings"])


def test_a_run_must_be_closed() -> None:
    unfinished = wire(started(), *text("m", "hi"))
    assert verify_runs([unfinished]) == [{"ok": True}]
    with pytest.raises(AssertionError, match="does not end with RUN_FINISHED"):
        assert_valid_agui([unfinished])


def test_verify_only_skips_the_schema_stage() -> None:
    bad_schema = wire(started(), {"type": "RUN_FINISHED", "runId": RUN})
    assert verify_runs([bad_schema], verify_only=True) == [{"ok": True}]
    [result] = verify_runs([bad_schema])
    assert result["stage"] == "enforceEvents"


def test_models_are_accepted_directly() -> None:
    assert verify_runs([[started(), finished()]]) == [{"ok": True}]


def test_validate_event_models() -> None:
    parsed = validate_event_models(full_turn())
    assert isinstance(parsed[0], RunStartedEvent)
    assert isinstance(parsed[-1], RunFinishedEvent)
    with pytest.raises(AssertionError, match="event #1 is not a valid AG-UI event"):
        validate_event_models(wire(started(), {"type": "TEXT_MESSAGE_START", "role": "x"}))
