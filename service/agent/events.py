"""AG-UI events, as the plain dicts their JSON is made of.

The shapes are those of the ``ag-ui-protocol`` models (``ag_ui.core``) serialized with
``by_alias=True, exclude_none=True``; ``tests/agui`` checks each builder against those models
and the wire against ``@ag-ui/core``'s schemas. Building the dicts directly instead of through
the pydantic models is what one relayed delta can afford: a model plus its ``model_dump`` cost
about 13 µs, more than the rest of the relay's own work per delta.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

Event = dict[str, Any]


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

    def token_usage(self, model: str) -> list[dict[str, Any]]:
        """AG-UI's ``TokenUsage`` list for a terminal event (empty when nothing was used)."""
        if self.empty:
            return []
        return [
            {
                "provider": "anthropic",
                "model": model,
                "inputTokens": self.total_input,
                "outputTokens": self.output_tokens,
                "totalTokens": self.total_input + self.output_tokens,
                "cachedInputTokens": self.cache_read_tokens,
                "cacheWriteInputTokens": self.cache_write_tokens,
            }
        ]


def run_started(thread_id: str, run_id: str) -> Event:
    return {"type": "RUN_STARTED", "threadId": thread_id, "runId": run_id}


def run_finished(
    thread_id: str, run_id: str, usage: list[dict[str, Any]], *, cancelled: bool
) -> Event:
    event: Event = {
        "type": "RUN_FINISHED",
        "threadId": thread_id,
        "runId": run_id,
        "outcome": {"type": "cancelled" if cancelled else "success"},
    }
    if usage:
        event["usage"] = usage
    return event


def run_error(message: str, code: str, usage: list[dict[str, Any]] | None = None) -> Event:
    event: Event = {"type": "RUN_ERROR", "message": message, "code": code}
    if usage:
        event["usage"] = usage
    return event


def text_start(message_id: str, role: str) -> Event:
    return {"type": "TEXT_MESSAGE_START", "messageId": message_id, "role": role}


def text_content(message_id: str, delta: str) -> Event:
    return {"type": "TEXT_MESSAGE_CONTENT", "messageId": message_id, "delta": delta}


def text_end(message_id: str) -> Event:
    return {"type": "TEXT_MESSAGE_END", "messageId": message_id}


def reasoning_start(message_id: str) -> list[Event]:
    return [
        {"type": "REASONING_START", "messageId": message_id},
        {"type": "REASONING_MESSAGE_START", "messageId": message_id, "role": "reasoning"},
    ]


def reasoning_content(message_id: str, delta: str) -> Event:
    return {"type": "REASONING_MESSAGE_CONTENT", "messageId": message_id, "delta": delta}


def reasoning_end(message_id: str) -> list[Event]:
    return [
        {"type": "REASONING_MESSAGE_END", "messageId": message_id},
        {"type": "REASONING_END", "messageId": message_id},
    ]


def tool_start(tool_call_id: str, name: str, parent_message_id: str) -> Event:
    return {
        "type": "TOOL_CALL_START",
        "toolCallId": tool_call_id,
        "toolCallName": name,
        "parentMessageId": parent_message_id,
    }


def tool_args(tool_call_id: str, delta: str) -> Event:
    return {"type": "TOOL_CALL_ARGS", "toolCallId": tool_call_id, "delta": delta}


def tool_end(tool_call_id: str) -> Event:
    return {"type": "TOOL_CALL_END", "toolCallId": tool_call_id}


def tool_result(
    message_id: str, tool_call_id: str, content: str, *, is_error: bool = False
) -> Event:
    """A failed tool call says so in AG-UI's open ``metadata`` (``{"isError": true}``), so a
    client can show it as failed while it streams, as ``session.get`` does afterwards."""
    event: Event = {"type": "TOOL_CALL_RESULT"}
    if is_error:
        event["metadata"] = {"isError": True}
    event.update(messageId=message_id, toolCallId=tool_call_id, content=content, role="tool")
    return event
