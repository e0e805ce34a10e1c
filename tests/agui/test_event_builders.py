"""The AG-UI events the server builds as plain dicts are exactly what the ``ag-ui-protocol``
models give for the same fields (``model_dump(mode="json", by_alias=True,
exclude_none=True)``), so the fast path on the wire cannot drift from the protocol."""

from __future__ import annotations

from typing import Any

import pytest
from ag_ui.core import (
    BaseEvent,
    ReasoningEndEvent,
    ReasoningMessageContentEvent,
    ReasoningMessageEndEvent,
    ReasoningMessageStartEvent,
    ReasoningStartEvent,
    RunErrorEvent,
    RunFinishedCancelledOutcome,
    RunFinishedEvent,
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

from service.agent import events

USAGE = events.Usage(input_tokens=10, output_tokens=5, cache_read_tokens=3, cache_write_tokens=2)
MODEL_USAGE = [
    TokenUsage(
        provider="anthropic",
        model="claude-x",
        input_tokens=15,
        output_tokens=5,
        total_tokens=20,
        cached_input_tokens=3,
        cache_write_input_tokens=2,
    )
]


def dump(model: BaseEvent) -> dict[str, Any]:
    return model.model_dump(mode="json", by_alias=True, exclude_none=True)


CASES: dict[str, tuple[Any, list[BaseEvent]]] = {
    "run started": (events.run_started("t", "r"), [RunStartedEvent(thread_id="t", run_id="r")]),
    "run finished with usage": (
        events.run_finished("t", "r", USAGE.token_usage("claude-x"), cancelled=False),
        [
            RunFinishedEvent(
                thread_id="t", run_id="r", outcome=RunFinishedSuccessOutcome(), usage=MODEL_USAGE
            )
        ],
    ),
    "run cancelled without usage": (
        events.run_finished("t", "r", events.Usage().token_usage("claude-x"), cancelled=True),
        [RunFinishedEvent(thread_id="t", run_id="r", outcome=RunFinishedCancelledOutcome())],
    ),
    "run error": (
        events.run_error("boom", "internal"),
        [RunErrorEvent(message="boom", code="internal")],
    ),
    "run error with usage": (
        events.run_error("boom", "x", USAGE.token_usage("claude-x")),
        [RunErrorEvent(message="boom", code="x", usage=MODEL_USAGE)],
    ),
    "text start": (
        events.text_start("m", "assistant"),
        [TextMessageStartEvent(message_id="m", role="assistant")],
    ),
    "text content": (
        events.text_content("m", 'héllo "quoted"\n'),
        [TextMessageContentEvent(message_id="m", delta='héllo "quoted"\n')],
    ),
    "text end": (events.text_end("m"), [TextMessageEndEvent(message_id="m")]),
    "reasoning start": (
        events.reasoning_start("r"),
        [ReasoningStartEvent(message_id="r"), ReasoningMessageStartEvent(message_id="r")],
    ),
    "reasoning content": (
        events.reasoning_content("r", "hm"),
        [ReasoningMessageContentEvent(message_id="r", delta="hm")],
    ),
    "reasoning end": (
        events.reasoning_end("r"),
        [ReasoningMessageEndEvent(message_id="r"), ReasoningEndEvent(message_id="r")],
    ),
    "tool start": (
        events.tool_start("c", "bash", "m"),
        [ToolCallStartEvent(tool_call_id="c", tool_call_name="bash", parent_message_id="m")],
    ),
    "tool args": (
        events.tool_args("c", '{"a"'),
        [ToolCallArgsEvent(tool_call_id="c", delta='{"a"')],
    ),
    "tool end": (events.tool_end("c"), [ToolCallEndEvent(tool_call_id="c")]),
    "tool result": (
        events.tool_result("t", "c", "out"),
        [ToolCallResultEvent(message_id="t", tool_call_id="c", content="out", role="tool")],
    ),
    "failed tool result": (
        events.tool_result("t", "c", "no", is_error=True),
        [
            ToolCallResultEvent(
                message_id="t",
                tool_call_id="c",
                content="no",
                role="tool",
                metadata={"isError": True},
            )
        ],
    ),
}


@pytest.mark.parametrize("name", CASES)
def test_builder_matches_the_agui_model(name: str) -> None:
    built, models = CASES[name]
    built = built if isinstance(built, list) else [built]
    assert built == [dump(model) for model in models]
    # Same keys in the same order too: the wire text is the same, not only the value.
    assert [list(event) for event in built] == [list(dump(model)) for model in models]
