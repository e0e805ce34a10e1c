"""The Messages API's response shapes, rendered from a scripted :class:`Reply`."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

import orjson

from .prompt_cache import InputUsage, estimate_tokens
from .scripts import ContentBlock, Reply, Text, Thinking, ToolUse


def new_message_id() -> str:
    return f"msg_01{secrets.token_hex(11)}"


def new_tool_use_id() -> str:
    return f"toolu_01{secrets.token_hex(11)}"


def new_request_id() -> str:
    return f"req_01{secrets.token_hex(11)}"


def sse(event: str, data: dict[str, Any]) -> bytes:
    """One server-sent event. The SDK ignores a ``data:`` line without its ``event:`` line.

    orjson writes the same compact UTF-8 JSON as ``json.dumps(separators=(",", ":"),
    ensure_ascii=False)`` at a fraction of the cost: one event per streamed token is most of
    the stand-in's own CPU in the benchmarks, which share the machine with the server.
    """
    return b"event: %s\ndata: %s\n\n" % (event.encode(), orjson.dumps(data))


def error_body(error_type: str, message: str, request_id: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"type": "error", "error": {"type": error_type, "message": message}}
    if request_id is not None:
        body["request_id"] = request_id
    return body


@dataclass(frozen=True)
class RenderedBlock:
    """A content block as streamed (start, deltas) and as it ends up in the message."""

    start: dict[str, Any]
    deltas: list[dict[str, Any]]
    final: dict[str, Any]
    output_chars: int


def render_block(block: ContentBlock) -> RenderedBlock:
    if isinstance(block, Text):
        deltas = [{"type": "text_delta", "text": d} for d in block.deltas()]
        return RenderedBlock(
            start={"type": "text", "text": ""},
            deltas=deltas,
            final={"type": "text", "text": block.text},
            output_chars=len(block.text),
        )
    if isinstance(block, Thinking):
        deltas = [{"type": "thinking_delta", "thinking": d} for d in block.deltas()]
        deltas.append({"type": "signature_delta", "signature": block.signature})
        return RenderedBlock(
            start={"type": "thinking", "thinking": "", "signature": ""},
            deltas=deltas,
            final={"type": "thinking", "thinking": block.text, "signature": block.signature},
            output_chars=len(block.text),
        )
    if isinstance(block, ToolUse):
        tool_id = block.id or new_tool_use_id()
        pieces = block.json_deltas()
        return RenderedBlock(
            start={"type": "tool_use", "id": tool_id, "name": block.name, "input": {}},
            deltas=[{"type": "input_json_delta", "partial_json": p} for p in pieces],
            final={"type": "tool_use", "id": tool_id, "name": block.name, "input": block.input},
            output_chars=len("".join(pieces)),
        )
    raise TypeError(f"not a content block: {block!r}")


def output_tokens(reply: Reply, blocks: list[RenderedBlock]) -> int:
    if reply.output_tokens is not None:
        return reply.output_tokens
    return estimate_tokens(sum(b.output_chars for b in blocks))


def usage_json(usage: InputUsage, output: int) -> dict[str, Any]:
    return {
        "input_tokens": usage.input_tokens,
        "cache_creation_input_tokens": usage.cache_creation_input_tokens,
        "cache_read_input_tokens": usage.cache_read_input_tokens,
        "cache_creation": {
            "ephemeral_5m_input_tokens": usage.cache_creation_input_tokens,
            "ephemeral_1h_input_tokens": 0,
        },
        "output_tokens": output,
        "service_tier": "standard",
    }


def message_json(
    message_id: str,
    model: str,
    content: list[dict[str, Any]],
    stop_reason: str | None,
    stop_sequence: str | None,
    usage: dict[str, Any],
) -> dict[str, Any]:
    return {
        "id": message_id,
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": stop_reason,
        "stop_sequence": stop_sequence,
        "usage": usage,
    }
