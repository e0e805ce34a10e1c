"""A small simulation of Anthropic's prompt caching, for the usage numbers.

The request is read as the API reads it: tools, then system, then messages,
each split into blocks. A block with ``cache_control`` (or the last block, when
the request sets a top-level ``cache_control``) is a breakpoint: the prefix up
to it is written to the cache. A later request reads the longest cached prefix
that ends at one of its breakpoints or at one of the 20 blocks before each, like
the real cache's lookback. Tokens are estimated as characters / 4. Markers are
not part of a prefix's identity, so moving the breakpoint forward each turn
reads what the previous turn wrote.
"""

from __future__ import annotations

import hashlib
import json
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

LOOKBACK_BLOCKS = 20


def estimate_tokens(chars: int) -> int:
    """The stand-in's token count for this many characters (at least 1)."""
    return max(1, -(-chars // 4))


@dataclass(frozen=True)
class InputUsage:
    """Input token accounting of one request, as the API reports it."""

    input_tokens: int
    cache_creation_input_tokens: int
    cache_read_input_tokens: int


def _without_marker(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_marker(v) for k, v in value.items() if k != "cache_control"}
    if isinstance(value, list):
        return [_without_marker(v) for v in value]
    return value


def _canonical(value: Any) -> str:
    return json.dumps(_without_marker(value), sort_keys=True, separators=(",", ":"))


def _has_marker(block: Any) -> bool:
    if not isinstance(block, dict):
        return False
    if "cache_control" in block:
        return True
    content = block.get("content")
    return (
        block.get("type") == "tool_result"
        and isinstance(content, list)
        and any(isinstance(p, dict) and "cache_control" in p for p in content)
    )


def _flatten(body: dict[str, Any]) -> list[tuple[str, bool]]:
    """The request's blocks in cache order, as (serialized block, is breakpoint)."""
    blocks: list[tuple[str, bool]] = []
    for tool in body.get("tools") or []:
        blocks.append(("tool:" + _canonical(tool), _has_marker(tool)))
    system = body.get("system")
    if isinstance(system, str) and system:
        blocks.append(("system:" + _canonical({"type": "text", "text": system}), False))
    elif isinstance(system, list):
        blocks.extend(("system:" + _canonical(b), _has_marker(b)) for b in system)
    for message in body.get("messages") or []:
        if not isinstance(message, dict):
            continue
        role = str(message.get("role"))
        content = message.get("content")
        if isinstance(content, str):
            content = [{"type": "text", "text": content}]
        for block in content or []:
            blocks.append((f"{role}:" + _canonical(block), _has_marker(block)))
    if body.get("cache_control") and blocks:
        blocks[-1] = (blocks[-1][0], True)
    return blocks


class PromptCache:
    """Remembers cached prefixes (by hash) across requests, least recently used first out."""

    def __init__(self, max_entries: int = 10_000) -> None:
        self._entries: OrderedDict[str, None] = OrderedDict()
        self._max_entries = max_entries

    def clear(self) -> None:
        self._entries.clear()

    def account(self, body: dict[str, Any]) -> InputUsage:
        """Count a request's input tokens, and cache the prefixes it marks."""
        blocks = _flatten(body)
        digest = hashlib.sha256(f"model:{body.get('model')}".encode())
        prefix_hashes: list[str] = []
        prefix_chars: list[int] = []
        chars = 0
        for text, _ in blocks:
            digest.update(b"\x00" + text.encode())
            prefix_hashes.append(digest.copy().hexdigest())
            chars += len(text)
            prefix_chars.append(chars)
        total = estimate_tokens(chars)
        breakpoints = [i for i, (_, marked) in enumerate(blocks) if marked]
        if not breakpoints:
            return InputUsage(total, 0, 0)

        hit = -1
        for point in breakpoints:
            for j in range(point, max(-1, point - LOOKBACK_BLOCKS - 1), -1):
                if prefix_hashes[j] in self._entries:
                    self._entries.move_to_end(prefix_hashes[j])
                    hit = max(hit, j)
                    break
        for point in breakpoints:
            self._entries[prefix_hashes[point]] = None
            self._entries.move_to_end(prefix_hashes[point])
        while len(self._entries) > self._max_entries:
            self._entries.popitem(last=False)

        read = estimate_tokens(prefix_chars[hit]) if hit >= 0 else 0
        cached = max(estimate_tokens(prefix_chars[breakpoints[-1]]), read)
        return InputUsage(
            input_tokens=max(total - cached, 0),
            cache_creation_input_tokens=cached - read,
            cache_read_input_tokens=read,
        )


def estimate_input_tokens(body: dict[str, Any]) -> int:
    """The stand-in's input token count of a request, ignoring the cache."""
    return estimate_tokens(sum(len(text) for text, _ in _flatten(body)))
