"""The checks of a Messages API request that the real API makes and bugs trip.

Only cheap, structural rules are checked: the ones an agent loop breaks when it
builds its history wrong (roles out of order, a tool call left unanswered, an
empty text block). Messages follow the real API's wording where it is known,
prefixed with the path of the offending field.
"""

from __future__ import annotations

import re
from typing import Any

MAX_CACHE_BREAKPOINTS = 4
_TOOL_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,128}$")
_USER_BLOCKS = {"text", "image", "document", "tool_result", "search_result"}
_ASSISTANT_BLOCKS = {
    "text",
    "tool_use",
    "thinking",
    "redacted_thinking",
    "server_tool_use",
    "web_search_tool_result",
}


class InvalidRequest(ValueError):
    """The request would get a 400 ``invalid_request_error`` from the real API."""


def _check_text_block(block: dict[str, Any], where: str) -> None:
    text = block.get("text")
    if not isinstance(text, str):
        raise InvalidRequest(f"{where}.text: Field required")
    if not text.strip():
        raise InvalidRequest(f"{where}: text content blocks must contain non-whitespace text")


def _check_tool_result(block: dict[str, Any], where: str) -> None:
    if not isinstance(block.get("tool_use_id"), str):
        raise InvalidRequest(f"{where}.tool_use_id: Field required")
    content = block.get("content")
    if content is None or isinstance(content, str):
        return
    if not isinstance(content, list):
        raise InvalidRequest(f"{where}.content: Input should be a valid string or list")
    for k, part in enumerate(content):
        if not isinstance(part, dict) or part.get("type") not in {"text", "image", "document"}:
            raise InvalidRequest(f"{where}.content.{k}: expected a text, image or document block")
        if part["type"] == "text":
            _check_text_block(part, f"{where}.content.{k}")


def _check_block(block: Any, role: str, where: str) -> None:
    if not isinstance(block, dict) or not isinstance(block.get("type"), str):
        raise InvalidRequest(f"{where}: content blocks must be objects with a `type`")
    kind = block["type"]
    allowed = _USER_BLOCKS if role == "user" else _ASSISTANT_BLOCKS
    if kind not in allowed:
        raise InvalidRequest(f"{where}: `{kind}` blocks are not allowed in `{role}` messages")
    if kind == "text":
        _check_text_block(block, where)
    elif kind == "tool_use":
        if not isinstance(block.get("id"), str) or not isinstance(block.get("name"), str):
            raise InvalidRequest(f"{where}: `tool_use` blocks need an `id` and a `name`")
        if not isinstance(block.get("input"), dict):
            raise InvalidRequest(f"{where}.input: Input should be a valid dictionary")
    elif kind == "thinking":
        if not isinstance(block.get("thinking"), str) or not isinstance(
            block.get("signature"), str
        ):
            raise InvalidRequest(f"{where}: `thinking` blocks need `thinking` and `signature`")
    elif kind == "tool_result":
        _check_tool_result(block, where)


def _content_blocks(message: dict[str, Any], i: int, is_last: bool) -> list[dict[str, Any]]:
    content = message.get("content")
    role = message["role"]
    # Only a final assistant message (a prefill) may be empty.
    may_be_empty = is_last and role == "assistant"
    if isinstance(content, str):
        if not content.strip() and not may_be_empty:
            raise InvalidRequest(
                f"messages.{i}: all messages must have non-empty content except for "
                "the optional final assistant message"
            )
        return [{"type": "text", "text": content}] if content else []
    if not isinstance(content, list):
        raise InvalidRequest(f"messages.{i}.content: Input should be a valid string or list")
    if not content and not may_be_empty:
        raise InvalidRequest(
            f"messages.{i}: all messages must have non-empty content except for "
            "the optional final assistant message"
        )
    for j, block in enumerate(content):
        _check_block(block, role, f"messages.{i}.content.{j}")
    return content


def _check_tool_pairing(blocks_by_message: list[list[dict[str, Any]]]) -> None:
    seen_ids: set[str] = set()
    for i, blocks in enumerate(blocks_by_message):
        for use_id in (b["id"] for b in blocks if b.get("type") == "tool_use"):
            if use_id in seen_ids:
                raise InvalidRequest(f"messages.{i}: `tool_use` ids must be unique: {use_id}")
            seen_ids.add(use_id)
    # Results are checked before calls, so a result with a wrong id is reported
    # as such rather than as the call it failed to answer.
    for i, blocks in enumerate(blocks_by_message):
        results = [b for b in blocks if b.get("type") == "tool_result"]
        if not results:
            continue
        previous = blocks_by_message[i - 1] if i > 0 else []
        offered = {b["id"] for b in previous if b.get("type") == "tool_use"}
        unexpected = [r["tool_use_id"] for r in results if r["tool_use_id"] not in offered]
        if unexpected:
            raise InvalidRequest(
                f"messages.{i}.content.0: unexpected `tool_use_id` found in `tool_result` "
                f"blocks: {', '.join(unexpected)}. Each `tool_result` block must have a "
                "corresponding `tool_use` block in the previous message."
            )
        first_other = next(
            (j for j, b in enumerate(blocks) if b.get("type") != "tool_result"), len(blocks)
        )
        if any(b.get("type") == "tool_result" for b in blocks[first_other:]):
            raise InvalidRequest(
                f"messages.{i}: `tool_result` blocks must come first in the message "
                "content, before any other blocks."
            )
    for i, blocks in enumerate(blocks_by_message):
        uses = [b["id"] for b in blocks if b.get("type") == "tool_use"]
        if not uses:
            continue
        following = blocks_by_message[i + 1] if i + 1 < len(blocks_by_message) else []
        answered = {b["tool_use_id"] for b in following if b.get("type") == "tool_result"}
        missing = [u for u in uses if u not in answered]
        if missing:
            raise InvalidRequest(
                f"messages.{i}: `tool_use` ids were found without `tool_result` blocks "
                f"immediately after: {', '.join(missing)}. Each `tool_use` block must have "
                "a corresponding `tool_result` block in the next message."
            )


def _check_tools(tools: Any) -> set[str]:
    if tools is None:
        return set()
    if not isinstance(tools, list):
        raise InvalidRequest("tools: Input should be a valid list")
    names: set[str] = set()
    for k, tool in enumerate(tools):
        if not isinstance(tool, dict) or not isinstance(tool.get("name"), str):
            raise InvalidRequest(f"tools.{k}.name: Field required")
        name = tool["name"]
        if not _TOOL_NAME.match(name):
            raise InvalidRequest(f"tools.{k}.name: String should match pattern '^[a-zA-Z0-9_-]+$'")
        if name in names:
            raise InvalidRequest(f"tools: Tool names must be unique: {name}")
        names.add(name)
        # Built-in client tools (bash_20250124, text_editor_...) carry a `type`
        # and no schema; custom tools need an object schema.
        if tool.get("type") in (None, "custom"):
            schema = tool.get("input_schema")
            if not isinstance(schema, dict) or schema.get("type") != "object":
                raise InvalidRequest(
                    f"tools.{k}.custom.input_schema: Input should be a JSON schema of type object"
                )
    return names


def _check_system(system: Any) -> None:
    if system is None or isinstance(system, str):
        return
    if not isinstance(system, list):
        raise InvalidRequest("system: Input should be a valid string or list")
    for k, block in enumerate(system):
        if not isinstance(block, dict) or block.get("type") != "text":
            raise InvalidRequest(f"system.{k}: system blocks must be `text` blocks")
        _check_text_block(block, f"system.{k}")


def _check_thinking(thinking: Any, max_tokens: int) -> None:
    if thinking is None:
        return
    if not isinstance(thinking, dict) or thinking.get("type") not in {
        "enabled",
        "disabled",
        "adaptive",
    }:
        raise InvalidRequest("thinking.type: Input should be 'enabled', 'disabled' or 'adaptive'")
    if thinking["type"] == "enabled":
        budget = thinking.get("budget_tokens")
        if not isinstance(budget, int) or budget < 1024:
            raise InvalidRequest("thinking.enabled.budget_tokens: Input should be >= 1024")
        if max_tokens <= budget:
            raise InvalidRequest(
                "`max_tokens` must be greater than `thinking.budget_tokens`. "
                "Please consult our documentation at https://docs.claude.com/en/docs/"
                "build-with-claude/extended-thinking#max-tokens-and-context-window-size"
            )


def count_cache_breakpoints(body: dict[str, Any]) -> int:
    """Blocks that carry ``cache_control`` (tools, system blocks, message blocks)."""
    count = sum(1 for t in body.get("tools") or [] if isinstance(t, dict) and "cache_control" in t)
    system = body.get("system")
    if isinstance(system, list):
        count += sum(1 for b in system if isinstance(b, dict) and "cache_control" in b)
    for message in body.get("messages") or []:
        content = message.get("content") if isinstance(message, dict) else None
        if isinstance(content, list):
            for block in content:
                if isinstance(block, dict):
                    count += "cache_control" in block
                    if block.get("type") == "tool_result" and isinstance(
                        block.get("content"), list
                    ):
                        count += sum(
                            1
                            for p in block["content"]
                            if isinstance(p, dict) and "cache_control" in p
                        )
    return count


def validate_messages_request(body: Any) -> None:
    """Raise :class:`InvalidRequest` if the real API would reject this request."""
    if not isinstance(body, dict):
        raise InvalidRequest("The request body must be a JSON object.")
    if not isinstance(body.get("model"), str) or not body["model"]:
        raise InvalidRequest("model: Field required")
    max_tokens = body.get("max_tokens")
    if isinstance(max_tokens, bool) or not isinstance(max_tokens, int):
        raise InvalidRequest("max_tokens: Field required")
    if max_tokens < 1:
        raise InvalidRequest("max_tokens: Input should be greater than or equal to 1")
    messages = body.get("messages")
    if not isinstance(messages, list):
        raise InvalidRequest("messages: Field required")
    if not messages:
        raise InvalidRequest("messages: at least one message is required")
    _check_system(body.get("system"))
    tool_names = _check_tools(body.get("tools"))
    _check_thinking(body.get("thinking"), max_tokens)

    blocks_by_message: list[list[dict[str, Any]]] = []
    for i, message in enumerate(messages):
        if not isinstance(message, dict) or message.get("role") not in {"user", "assistant"}:
            raise InvalidRequest(f"messages.{i}.role: Input should be 'user' or 'assistant'")
        expected = "user" if i % 2 == 0 else "assistant"
        if message["role"] != expected:
            if i == 0:
                raise InvalidRequest('messages: first message must use the "user" role')
            raise InvalidRequest(
                f'messages.{i}: roles must alternate between "user" and "assistant", '
                f'but found multiple "{message["role"]}" roles in a row'
            )
        blocks_by_message.append(_content_blocks(message, i, i == len(messages) - 1))

    uses_tools = any(
        b.get("type") in {"tool_use", "tool_result"} for blocks in blocks_by_message for b in blocks
    )
    if uses_tools and not tool_names:
        raise InvalidRequest(
            "Requests which include `tool_use` or `tool_result` blocks must define tools."
        )
    _check_tool_pairing(blocks_by_message)

    breakpoints = count_cache_breakpoints(body)
    if breakpoints > MAX_CACHE_BREAKPOINTS:
        raise InvalidRequest(
            f"A maximum of {MAX_CACHE_BREAKPOINTS} blocks with cache_control may be provided. "
            f"Found {breakpoints}."
        )
