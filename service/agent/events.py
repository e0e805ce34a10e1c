"""AG-UI events, built with the ``ag-ui-protocol`` models and serialized the way it does."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

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


def event_dict(event: BaseEvent) -> dict[str, Any]:
    return event.model_dump(mode="json", by_alias=True, exclude_none=True)


@dataclass
class Usage:
    """Token counts of one model call or the sum of several."""

    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0

    def add(self, other: Usage) -> None:
        self.input_tokens += other.input_tokens
        self.output_tokens += other.output_tokens
        self.cache_read_tokens += other.cache_read_tokens
        self.cache_write_tokens += other.cache_write_tokens

    @property
    def empty(self) -> bool:
        return not (self.input_tokens or self.output_tokens)

    @property
    def total_input(self) -> int:
        """Every prompt token charged: uncached, read from cache and written to cache."""
        return self.input_tokens + self.cache_read_tokens + self.cache_write_tokens

    def as_dict(self) -> dict[str, int]:
        return {
            "inputTokens": self.input_tokens,
            "outputTokens": self.output_tokens,
            "cacheReadTokens": self.cache_read_tokens,
            "cacheWriteTokens": self.cache_write_tokens,
        }

    def token_usage(self, model: str) -> list[TokenUsage]:
        if self.empty:
            return []
        return [
            TokenUsage(
                provider="anthropic",
                model=model,
                input_tokens=self.total_input,
                output_tokens=self.output_tokens,
                total_tokens=self.total_input + self.output_tokens,
                cached_input_tokens=self.cache_read_tokens,
                cache_write_input_tokens=self.cache_write_tokens,
            )
        ]


def run_started(thread_id: str, run_id: str) -> RunStartedEvent:
    return RunStartedEvent(thread_id=thread_id, run_id=run_id)


def run_finished(
    thread_id: str, run_id: str, usage: list[TokenUsage], *, cancelled: bool
) -> RunFinishedEvent:
    outcome = RunFinishedCancelledOutcome() if cancelled else RunFinishedSuccessOutcome()
    return RunFinishedEvent(
        thread_id=thread_id, run_id=run_id, outcome=outcome, usage=usage or None
    )


def run_error(message: str, code: str, usage: list[TokenUsage] | None = None) -> RunErrorEvent:
    return RunErrorEvent(message=message, code=code, usage=usage or None)


def text_start(message_id: str, role: str) -> TextMessageStartEvent:
    return TextMessageStartEvent(message_id=message_id, role=role)


def text_content(message_id: str, delta: str) -> TextMessageContentEvent:
    return TextMessageContentEvent(message_id=message_id, delta=delta)


def text_end(message_id: str) -> TextMessageEndEvent:
    return TextMessageEndEvent(message_id=message_id)


def reasoning_start(message_id: str) -> list[BaseEvent]:
    return [
        ReasoningStartEvent(message_id=message_id),
        ReasoningMessageStartEvent(message_id=message_id),
    ]


def reasoning_content(message_id: str, delta: str) -> ReasoningMessageContentEvent:
    return ReasoningMessageContentEvent(message_id=message_id, delta=delta)


def reasoning_end(message_id: str) -> list[BaseEvent]:
    return [
        ReasoningMessageEndEvent(message_id=message_id),
        ReasoningEndEvent(message_id=message_id),
    ]


def tool_start(tool_call_id: str, name: str, parent_message_id: str) -> ToolCallStartEvent:
    return ToolCallStartEvent(
        tool_call_id=tool_call_id, tool_call_name=name, parent_message_id=parent_message_id
    )


def tool_args(tool_call_id: str, delta: str) -> ToolCallArgsEvent:
    return ToolCallArgsEvent(tool_call_id=tool_call_id, delta=delta)


def tool_end(tool_call_id: str) -> ToolCallEndEvent:
    return ToolCallEndEvent(tool_call_id=tool_call_id)


def tool_result(
    message_id: str, tool_call_id: str, content: str, *, is_error: bool = False
) -> ToolCallResultEvent:
    """A failed tool call says so in AG-UI's open ``metadata`` (``{"isError": true}``), so a
    client can show it as failed while it streams, as ``session.get`` does afterwards."""
    return ToolCallResultEvent(
        message_id=message_id,
        tool_call_id=tool_call_id,
        content=content,
        role="tool",
        metadata={"isError": True} if is_error else None,
    )
