"""Turning a session's stored messages into a valid Messages API conversation.

The stored history is complete and never rewritten; what is *sent* is repaired on the way:
consecutive turns of one role are merged (a user message whose run failed before any reply
joins the next one), every ``tool_use`` gets a ``tool_result`` (an interrupted call gets one
saying so), empty text is dropped, and when the conversation would not fit the context budget
the oldest whole exchanges are left out.

A live session keeps a :class:`ModelHistory`: each stored message is worked out once (its API
role, the blocks kept for the model, the JSON size of each block), so that building the
conversation for a turn takes shallow copies only, and no serialization of old turns. The
blocks are shared between every conversation built from it and are never mutated: what is
changed for one request (the cache breakpoint) is a copy.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from ..storage.sessions import MessageRecord

log = logging.getLogger("portagent.agent")

API_ROLE = {"user": "user", "tool": "user", "assistant": "assistant", "reasoning": "assistant"}
INTERRUPTED_TOOL_RESULT = "The tool call was interrupted before it returned a result."
CACHE_MARK = {"type": "ephemeral"}
CACHE_MARKED_TYPES = ("text", "tool_result", "tool_use", "image")

Turn = dict[str, Any]
BlockChars = Callable[[dict[str, Any]], int]


def blocks_of(message: MessageRecord) -> list[dict[str, Any]]:
    """The Anthropic content blocks a stored message stands for (the stored ones are shared,
    not copied: callers must not change them)."""
    if message.blocks:
        return list(message.blocks)
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


@dataclass(frozen=True, slots=True)
class PreparedMessage:
    """A stored message as the model sees it: its API role (None: not sent), the blocks kept
    for it, and what the repairs look at (its tool calls, whether it holds tool results)."""

    id: str
    role: str | None
    blocks: tuple[dict[str, Any], ...]
    tool_use_ids: tuple[str, ...] = ()
    has_tool_result: bool = False


def prepare(message: MessageRecord, *, thinking: bool) -> PreparedMessage:
    blocks = tuple(block for block in blocks_of(message) if _keep_block(block, thinking))
    return PreparedMessage(
        id=message.id,
        role=API_ROLE.get(message.role),
        blocks=blocks,
        tool_use_ids=tuple(b["id"] for b in blocks if b.get("type") == "tool_use"),
        has_tool_result=any(b.get("type") == "tool_result" for b in blocks),
    )


class _Draft:
    """Consecutive messages of one API role, merged: a turn before the repairs."""

    __slots__ = ("content", "has_tool_result", "role", "tool_use_ids")

    def __init__(self, source: PreparedMessage | _Draft) -> None:
        """A draft of one message, or a copy of another draft (its own content list)."""
        self.role: str = source.role or ""
        self.content: list[dict[str, Any]] = list(
            source.blocks if isinstance(source, PreparedMessage) else source.content
        )
        self.tool_use_ids: tuple[str, ...] = source.tool_use_ids
        self.has_tool_result: bool = source.has_tool_result

    def extend(self, message: PreparedMessage) -> None:
        self.content.extend(message.blocks)
        if message.tool_use_ids:
            self.tool_use_ids += message.tool_use_ids
        self.has_tool_result = self.has_tool_result or message.has_tool_result


def _merge_roles(messages: Iterable[PreparedMessage]) -> list[_Draft]:
    drafts: list[_Draft] = []
    last: _Draft | None = None
    for message in messages:
        if message.role is None or not message.blocks:
            continue
        if last is not None and last.role == message.role:
            last.extend(message)
        else:
            last = _Draft(message)
            drafts.append(last)
    return drafts


def _interrupted(tool_id: str) -> dict[str, Any]:
    return {
        "type": "tool_result",
        "tool_use_id": tool_id,
        "content": INTERRUPTED_TOOL_RESULT,
        "is_error": True,
    }


def _answered(content: list[dict[str, Any]], wanted: tuple[str, ...]) -> list[dict[str, Any]]:
    """A user turn's blocks after the assistant turn that called ``wanted``: its results for
    those calls first, an interrupted result for each call it does not answer, then the rest
    (results that answer no call of that turn are dropped)."""
    results = [b for b in content if b.get("type") == "tool_result"]
    others = [b for b in content if b.get("type") != "tool_result"]
    answered = {b.get("tool_use_id") for b in results}
    missing = [_interrupted(tool_id) for tool_id in wanted if tool_id not in answered]
    kept = [b for b in results if b.get("tool_use_id") in wanted]
    return kept + missing + others


class _Builder:
    """The repairs, applied draft by draft: each assistant turn with tool calls is followed by
    a user turn that answers all of them (tool results first; an interrupted result for each
    call nothing answers; results that answer no call of the turn before are dropped), turns
    of one role that end up next to each other are merged, and the conversation starts with
    the first user turn.

    A turn, once in ``turns``, is never changed (a merge replaces it with a new one), so turns
    can be shared between conversations built from the same history.
    """

    __slots__ = ("turns", "wanted")

    def __init__(self, turns: list[Turn] | None = None, wanted: tuple[str, ...] = ()) -> None:
        self.turns: list[Turn] = [] if turns is None else turns
        self.wanted = wanted  # the tool calls of the last turn kept, if an assistant's

    def copy(self) -> _Builder:
        return _Builder(list(self.turns), self.wanted)

    def _emit(self, role: str, content: list[dict[str, Any]]) -> None:
        turns = self.turns
        if turns and turns[-1]["role"] == role:
            turns[-1] = {"role": role, "content": turns[-1]["content"] + content}
        elif turns or role == "user":
            turns.append({"role": role, "content": content})

    def feed(self, draft: _Draft) -> None:
        """Add a draft; its content list belongs to the builder from now on."""
        wanted = self.wanted
        if draft.role == "assistant":
            if wanted:
                self._emit("user", _answered([], wanted))
            self._emit("assistant", draft.content)
            self.wanted = draft.tool_use_ids
        elif wanted or draft.has_tool_result:
            content = _answered(draft.content, wanted)
            if content:
                self._emit("user", content)
                self.wanted = ()
        else:
            self._emit("user", draft.content)
            self.wanted = ()

    def finish(self) -> list[Turn]:
        if self.wanted:
            self._emit("user", _answered([], self.wanted))
            self.wanted = ()
        return self.turns


def _conversation(messages: Iterable[PreparedMessage]) -> list[Turn]:
    builder = _Builder()
    for draft in _merge_roles(messages):
        builder.feed(draft)
    return builder.finish()


def conversation_for_model(messages: list[MessageRecord], *, thinking: bool) -> list[Turn]:
    """The whole stored history as API messages: alternating, every tool call answered."""
    return _conversation(prepare(message, thinking=thinking) for message in messages)


def json_chars(value: Any) -> int:
    """The length of ``value`` as compact JSON, the measure the token estimate is made from."""
    return len(json.dumps(value, ensure_ascii=False, separators=(",", ":")))


def estimate_tokens(value: Any) -> int:
    """A cheap, deliberately generous estimate: about 4 characters a token."""
    return json_chars(value) // 4 + 1


# '{"role":"' + role + '","content":[' + blocks joined by ',' + ']}'
_TURN_FRAME_CHARS = len('{"role":"') + len('","content":[') + len("]}")
_ROLE_CHARS = {"user": len("user"), "assistant": len("assistant")}


def turn_tokens(turn: Turn, block_chars: BlockChars = json_chars) -> int:
    """``estimate_tokens(turn)`` exactly, from the JSON sizes of its blocks: compact JSON of
    ``{"role": ..., "content": [...]}`` is the blocks' JSON joined by commas in a fixed frame,
    so a block's size, measured once, stands for it in every later turn."""
    role = turn.get("role")
    if len(turn) != 2 or role not in _ROLE_CHARS or "content" not in turn:
        return estimate_tokens(turn)
    content = turn["content"]
    chars = _TURN_FRAME_CHARS + _ROLE_CHARS[role] + max(len(content) - 1, 0)
    chars += sum(map(block_chars, content))
    return chars // 4 + 1


class ModelHistory:
    """A session's stored messages as the model sees them, in step with the database.

    Appended to as messages are committed. Each message is prepared once, the JSON size of
    each kept block is measured once, and the repaired conversation is built as messages
    come: every turn but the last is settled (later messages cannot change it), so a
    conversation is the settled turns (shared, never changed) plus the last one built anew,
    and its token estimate is the settled turns' (measured once) plus the rest. A turn in a
    long session costs neither a deep copy nor a serialization of the old turns.
    """

    def __init__(self, messages: Iterable[MessageRecord] = (), *, thinking: bool) -> None:
        self.thinking = thinking
        self._count = 0
        self._last_id: str | None = None
        self._settled = _Builder()  # every draft but the last, fed
        self._last: _Draft | None = None  # still growing while messages of its role come
        # id(object) -> (object, size): the object is held so that its id cannot be reused.
        self._block_chars: dict[int, tuple[dict[str, Any], int]] = {}
        self._turn_tokens: dict[int, tuple[Turn, int]] = {}
        for message in messages:
            self.append(message)

    def __len__(self) -> int:
        return self._count

    def append(self, message: MessageRecord) -> None:
        prepared = prepare(message, thinking=self.thinking)
        self._count += 1
        self._last_id = message.id
        for block in prepared.blocks:
            self._block_chars[id(block)] = (block, json_chars(block))
        if prepared.role is None or not prepared.blocks:
            return
        if self._last is not None and self._last.role == prepared.role:
            self._last.extend(prepared)
            return
        if self._last is not None:
            self._settle(self._last)
        self._last = _Draft(prepared)

    def _settle(self, draft: _Draft) -> None:
        turns = self._settled.turns
        replaced = turns[-1] if turns else None
        self._settled.feed(draft)
        if replaced is not None and turns[-1] is not replaced:
            self._turn_tokens.pop(id(replaced), None)
        for turn in turns[-3:]:
            if id(turn) not in self._turn_tokens:
                self._turn_tokens[id(turn)] = (turn, turn_tokens(turn, self.block_chars))

    def block_chars(self, block: dict[str, Any]) -> int:
        known = self._block_chars.get(id(block))
        if known is not None and known[0] is block:
            return known[1]
        return json_chars(block)

    def turn_tokens(self, turn: Turn) -> int:
        """:func:`turn_tokens`, remembered for settled turns."""
        known = self._turn_tokens.get(id(turn))
        if known is not None and known[0] is turn:
            return known[1]
        return turn_tokens(turn, self.block_chars)

    def conversation(self, ending_with: MessageRecord | None = None) -> list[Turn]:
        """The conversation to send: the stored messages, then ``ending_with`` unless it is
        the last of them. The list is the caller's; its turns are shared: do not change them."""
        builder = self._settled.copy()
        draft = _Draft(self._last) if self._last is not None else None
        if ending_with is not None and ending_with.id != self._last_id:
            extra = prepare(ending_with, thinking=self.thinking)
            if extra.role is not None and extra.blocks:
                if draft is not None and draft.role == extra.role:
                    draft.extend(extra)
                else:
                    if draft is not None:
                        builder.feed(draft)
                    draft = _Draft(extra)
        if draft is not None:
            builder.feed(draft)
        return builder.finish()


def _exchange_starts(turns: list[Turn]) -> list[int]:
    """Indexes of user turns that open an exchange (text from the person, not tool results)."""
    return [
        index
        for index, turn in enumerate(turns)
        if turn["role"] == "user"
        and not any(block.get("type") == "tool_result" for block in turn["content"])
    ]


def fit_to_budget(
    turns: list[Turn],
    budget: int,
    fixed_cost: int,
    turn_cost: Callable[[Turn], int] = turn_tokens,
) -> tuple[list[Turn], int]:
    """Leave out the oldest whole exchanges until the estimate fits; never split a tool call
    from its result. Returns a new list of the turns to send and how many were left out.
    ``turn_cost`` estimates a turn's tokens (:meth:`ModelHistory.turn_tokens` knows those of
    settled turns without measuring them again)."""
    costs = [turn_cost(turn) for turn in turns]
    total = fixed_cost + sum(costs)
    if total <= budget:
        return list(turns), 0
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


def mark_cache_points(turns: list[Turn]) -> list[Turn]:
    """Put a cache breakpoint on the last block of the conversation, so that the next call (the
    same prefix plus new turns) reads it from the provider's prompt cache.

    Returns a new list; the marked block and its turn are copies, since the blocks are shared
    with the session's :class:`ModelHistory` and with later requests."""
    marked = list(turns)
    if not marked:
        return marked
    last = marked[-1]
    content = last["content"]
    for index in range(len(content) - 1, -1, -1):
        block = content[index]
        if block.get("type") in CACHE_MARKED_TYPES:
            new_content = list(content)
            new_content[index] = {**block, "cache_control": CACHE_MARK}
            marked[-1] = {**last, "content": new_content}
            break
    return marked
