"""Turning a session's stored messages into a valid Messages API conversation.

The stored history is complete and never rewritten; what is *sent* is repaired on the way:
consecutive turns of one role are merged (a user message whose run failed before any reply
joins the next one), every ``tool_use`` gets a ``tool_result`` (an interrupted call gets one
saying so), empty text is dropped, and when the conversation would not fit the context budget
the oldest whole exchanges are left out.
"""

from __future__ import annotations

import copy
import json
import logging
from collections.abc import Iterable
from typing import Any

from ..storage.sessions import MessageRecord

log = logging.getLogger("portagent.agent")

API_ROLE = {"user": "user", "tool": "user", "assistant": "assistant", "reasoning": "assistant"}
INTERRUPTED_TOOL_RESULT = "The tool call was interrupted before it returned a result."
CACHE_MARK = {"type": "ephemeral"}


def blocks_of(message: MessageRecord) -> list[dict[str, Any]]:
    """The Anthropic content blocks a stored message stands for."""
    if message.blocks:
        return copy.deepcopy(message.blocks)
    if message.role == "tool":
        return [
            {
                "type": "tool_result",
                "tool_use_id": message.tool_call_id,
                "content": message.content,
                "is_error": message.is_error,
            }
        ]
    blocks: list[dict[str, Any]] = []
    if message.role in ("user", "assistant") and message.content:
        blocks.append({"type": "text", "text": message.content})
    for call in message.tool_calls or []:
        blocks.append(
            {"type": "tool_use", "id": call["id"], "name": call["name"], "input": call["input"]}
        )
    return blocks


def _keep_block(block: dict[str, Any], thinking: bool) -> bool:
    kind = block.get("type")
    if kind == "text":
        return bool(block.get("text"))
    if kind == "thinking":
        return thinking and bool(block.get("signature"))
    if kind == "redacted_thinking":
        return thinking
    return True


def _merge_roles(messages: Iterable[MessageRecord], thinking: bool) -> list[dict[str, Any]]:
    turns: list[dict[str, Any]] = []
    for message in messages:
        role = API_ROLE.get(message.role)
        blocks = [block for block in blocks_of(message) if _keep_block(block, thinking)]
        if role is None or not blocks:
            continue
        if turns and turns[-1]["role"] == role:
            turns[-1]["content"].extend(blocks)
        else:
            turns.append({"role": role, "content": blocks})
    return turns


def _tool_use_ids(turn: dict[str, Any] | None) -> list[str]:
    if turn is None or turn["role"] != "assistant":
        return []
    return [block["id"] for block in turn["content"] if block.get("type") == "tool_use"]


def _answer_every_tool_use(turns: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Give each assistant turn with tool calls a following user turn that answers all of
    them (tool results first), and drop results that answer no call of the turn before."""
    repaired: list[dict[str, Any]] = []
    index = 0
    while index < len(turns):
        turn = turns[index]
        wanted = _tool_use_ids(repaired[-1] if repaired else None)
        if turn["role"] == "assistant" and wanted:
            turn = {"role": "user", "content": []}
        else:
            index += 1
        if turn["role"] == "user":
            results = [b for b in turn["content"] if b.get("type") == "tool_result"]
            others = [b for b in turn["content"] if b.get("type") != "tool_result"]
            answered = {b.get("tool_use_id") for b in results}
            missing = [
                {
                    "type": "tool_result",
                    "tool_use_id": tool_id,
                    "content": INTERRUPTED_TOOL_RESULT,
                    "is_error": True,
                }
                for tool_id in wanted
                if tool_id not in answered
            ]
            kept = [b for b in results if b.get("tool_use_id") in wanted]
            turn = {"role": "user", "content": kept + missing + others}
            if not turn["content"]:
                continue
        repaired.append(turn)
    if _tool_use_ids(repaired[-1] if repaired else None):
        repaired.append(
            {
                "role": "user",
                "content": [
                    {
                        "type": "tool_result",
                        "tool_use_id": tool_id,
                        "content": INTERRUPTED_TOOL_RESULT,
                        "is_error": True,
                    }
                    for tool_id in _tool_use_ids(repaired[-1])
                ],
            }
        )
    return repaired


def _merge_adjacent(turns: list[dict[str, Any]]) -> list[dict[str, Any]]:
    merged: list[dict[str, Any]] = []
    for turn in turns:
        if merged and merged[-1]["role"] == turn["role"]:
            merged[-1]["content"].extend(turn["content"])
        else:
            merged.append(turn)
    return merged


def _start_with_user(turns: list[dict[str, Any]]) -> list[dict[str, Any]]:
    while turns and turns[0]["role"] != "user":
        turns.pop(0)
    return turns


def conversation_for_model(
    messages: list[MessageRecord], *, thinking: bool
) -> list[dict[str, Any]]:
    """The whole stored history as API messages: alternating, every tool call answered."""
    turns = _answer_every_tool_use(_merge_roles(messages, thinking))
    return _start_with_user(_merge_adjacent(turns))


def estimate_tokens(value: Any) -> int:
    """A cheap, deliberately generous estimate: about 4 characters a token."""
    return len(json.dumps(value, ensure_ascii=False, separators=(",", ":"))) // 4 + 1


def _exchange_starts(turns: list[dict[str, Any]]) -> list[int]:
    """Indexes of user turns that open an exchange (text from the person, not tool results)."""
    return [
        index
        for index, turn in enumerate(turns)
        if turn["role"] == "user"
        and not any(block.get("type") == "tool_result" for block in turn["content"])
    ]


def fit_to_budget(
    turns: list[dict[str, Any]], budget: int, fixed_cost: int
) -> tuple[list[dict[str, Any]], int]:
    """Leave out the oldest whole exchanges until the estimate fits; never split a tool call
    from its result. Returns the turns to send and how many turns were left out."""
    costs = [estimate_tokens(turn) for turn in turns]
    total = fixed_cost + sum(costs)
    if total <= budget:
        return turns, 0
    starts = _exchange_starts(turns)
    cut = 0
    for start in starts[1:]:
        if total <= budget:
            break
        total -= sum(costs[cut:start])
        cut = start
    if cut:
        log.info(
            "context budget: left out the %d oldest turns (about %d tokens over %d)",
            cut,
            fixed_cost + sum(costs) - budget,
            budget,
        )
    return turns[cut:], cut


def mark_cache_points(turns: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Put a cache breakpoint on the last block of the conversation, so that the next call (the
    same prefix plus new turns) reads it from the provider's prompt cache."""
    if not turns:
        return turns
    for block in reversed(turns[-1]["content"]):
        if block.get("type") in ("text", "tool_result", "tool_use", "image"):
            block["cache_control"] = CACHE_MARK
            break
    return turns
