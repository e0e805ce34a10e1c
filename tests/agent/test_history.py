"""The conversation sent to the model, built from a session's stored messages, and the
client's view of those messages."""

from __future__ import annotations

import copy
import itertools
import json
import random
from typing import Any

import pytest
from ag_ui.core import (
    AssistantMessage,
    FunctionCall,
    ReasoningMessage,
    ToolCall,
    ToolMessage,
    UserMessage,
)

from service.agent.history import (
    INTERRUPTED_TOOL_RESULT,
    ModelHistory,
    conversation_for_model,
    estimate_tokens,
    fit_to_budget,
    mark_cache_points,
    turn_tokens,
)
from service.sessions.live import SessionHistory
from service.sessions.public import message_view, run_view
from service.storage.sessions import MessageRecord, RunRecord

_ids = itertools.count()
USAGE = {"inputTokens": 12, "outputTokens": 7, "cacheReadTokens": 3, "cacheWriteTokens": 0}


def user(text: str, run: str = "run-1", id: str | None = None) -> MessageRecord:
    return MessageRecord(
        id=id or f"msg-{text}",
        run_id=run,
        role="user",
        content=text,
        blocks=[{"type": "text", "text": text}],
    )


def assistant(
    text: str, calls: list[dict[str, Any]] | None = None, usage: dict[str, int] | None = None
) -> MessageRecord:
    blocks: list[dict[str, Any]] = [{"type": "text", "text": text}] if text else []
    blocks += [{"type": "tool_use", **call} for call in calls or []]
    return MessageRecord(
        id=f"msg-a-{text}-{len(calls or [])}-{next(_ids)}",
        run_id="run-1",
        role="assistant",
        content=text,
        blocks=blocks,
        tool_calls=calls,
        usage=usage,
    )


def tool(call_id: str, output: str, *, is_error: bool = False) -> MessageRecord:
    return MessageRecord(
        id=f"tool-{call_id}",
        run_id="run-1",
        role="tool",
        content=output,
        blocks=[
            {"type": "tool_result", "tool_use_id": call_id, "content": output, "is_error": is_error}
        ],
        tool_call_id=call_id,
        is_error=is_error,
    )


def reasoning(text: str, signature: str | None) -> MessageRecord:
    blocks = [{"type": "thinking", "thinking": text, "signature": signature}] if signature else []
    return MessageRecord(
        id=f"reasoning-{text}", run_id="run-1", role="reasoning", content=text, blocks=blocks
    )


CALL = {"id": "toolu_1", "name": "bash", "input": {"command": "ls -l ~/ünïcode"}}
CALL_2 = {"id": "toolu_2", "name": "str_replace_based_edit_tool", "input": {"command": "view"}}

# A session that needs every repair: a user message whose run failed before any reply, an
# interrupted tool call, a result that answers no call, reasoning, non-ASCII text.
MESSY = [
    user("first, failed before a reply"),
    user("second"),
    reasoning("hmm", "c2ln"),
    reasoning("unsigned", None),
    assistant("Let me look.", [CALL, CALL_2]),
    tool("toolu_1", "total 0"),
    user("third — ça va?"),
    tool("toolu_stray", "answers nothing"),
    assistant("Yes.", usage=USAGE),
    assistant("", [{"id": "toolu_3", "name": "bash", "input": {}}]),
]


def test_conversation_repairs_a_messy_history() -> None:
    sent = conversation_for_model(MESSY, thinking=False)
    assert [turn["role"] for turn in sent] == ["user", "assistant", "user", "assistant", "user"]
    assert [b["text"] for b in sent[0]["content"]] == ["first, failed before a reply", "second"]
    assert [b["type"] for b in sent[1]["content"]] == ["text", "tool_use", "tool_use"]
    results = sent[2]["content"]
    assert [(b.get("tool_use_id"), b.get("content")) for b in results[:2]] == [
        ("toolu_1", "total 0"),
        ("toolu_2", INTERRUPTED_TOOL_RESULT),
    ]
    assert results[2] == {"type": "text", "text": "third — ça va?"}
    assert len(results) == 3, "the stray result is dropped"
    assert [b["type"] for b in sent[3]["content"]] == ["text", "tool_use"]
    assert sent[4]["content"] == [
        {
            "type": "tool_result",
            "tool_use_id": "toolu_3",
            "content": INTERRUPTED_TOOL_RESULT,
            "is_error": True,
        }
    ]
    with_thinking = conversation_for_model(MESSY, thinking=True)
    assert with_thinking[1]["content"][0] == {
        "type": "thinking",
        "thinking": "hmm",
        "signature": "c2ln",
    }


def test_conversation_drops_a_leading_assistant_turn() -> None:
    sent = conversation_for_model([assistant("orphan"), user("hi")], thinking=False)
    assert sent == [{"role": "user", "content": [{"type": "text", "text": "hi"}]}]


@pytest.mark.parametrize("thinking", [False, True])
def test_model_history_builds_the_same_conversation_message_by_message(thinking: bool) -> None:
    stored = copy.deepcopy(MESSY)
    history = ModelHistory(thinking=thinking)
    held = []
    for count, message in enumerate(stored, start=1):
        history.append(message)
        conversation = history.conversation()
        assert conversation == conversation_for_model(MESSY[:count], thinking=thinking)
        held.append((conversation, copy.deepcopy(conversation)))
        conversation.append({"role": "assistant", "content": []})  # the caller's list
    # A run holds its conversation while its own messages are appended: it must not change.
    for conversation, as_built in held:
        assert conversation[:-1] == as_built
    assert history.conversation() == conversation_for_model(MESSY, thinking=thinking)
    assert stored == MESSY, "the stored messages are untouched"


def test_model_history_adds_the_users_message_unless_it_is_already_last() -> None:
    history = ModelHistory([user("one"), assistant("reply")], thinking=False)
    question = user("two", run="run-2")
    added = history.conversation(ending_with=question)
    history.append(question)
    assert history.conversation(ending_with=question) == added
    assert added[-1] == {"role": "user", "content": [{"type": "text", "text": "two"}]}
    assert len(history) == 3


def test_marking_the_cache_point_copies_the_block_it_marks() -> None:
    history = ModelHistory(MESSY[:6], thinking=False)
    conversation = history.conversation()
    before = copy.deepcopy(conversation)
    marked = mark_cache_points(conversation)
    assert marked[-1]["content"][-1]["cache_control"] == {"type": "ephemeral"}
    assert conversation == before, "the conversation and its shared blocks are unchanged"
    assert history.conversation() == before
    assert marked[:-1] == before[:-1]
    assert marked is not conversation
    assert mark_cache_points([]) == []


def test_the_token_estimate_per_block_equals_the_whole_turns() -> None:
    history = ModelHistory(MESSY, thinking=True)
    conversation = history.conversation()
    conversation.append({"role": "assistant", "content": []})
    conversation.append({"role": "user", "content": [{"type": "text", "text": "日本語 " * 37}]})
    for turn in conversation:
        assert turn_tokens(turn, history.block_chars) == estimate_tokens(turn)
        assert history.turn_tokens(turn) == estimate_tokens(turn)
        assert turn_tokens(turn) == estimate_tokens(turn)
    odd = {"role": "user", "content": [], "extra": 1}
    assert turn_tokens(odd) == estimate_tokens(odd)


def test_budget_cuts_are_the_same_with_measured_block_sizes() -> None:
    stored = []
    for index in range(30):
        stored += [user(f"question {index} " + "pad " * index), assistant(f"answer {index} " * 9)]
    history = ModelHistory(stored, thinking=False)
    conversation = history.conversation()
    whole = sum(estimate_tokens(turn) for turn in conversation)
    for budget in (whole + 10, whole, whole // 2, whole // 5, 10):
        by_json = fit_to_budget(conversation, budget, 10)
        by_sizes = fit_to_budget(conversation, budget, 10, history.turn_tokens)
        assert by_sizes == by_json
        assert by_sizes[0][0]["role"] == "user"
    assert fit_to_budget(conversation, whole // 2, 10)[1] > 0


# ---- the client's view ------------------------------------------------------------------


def agui_dump(model: Any) -> dict[str, Any]:
    return model.model_dump(mode="json", by_alias=True, exclude_none=True)


def test_message_views_equal_the_agui_models_dumps() -> None:
    calls = [CALL, {"id": "toolu_9", "name": "bash", "input": None}]
    plain, calling = assistant("plain"), assistant("", calls, usage=USAGE)
    cases = [
        (user("hello ünïcode"), UserMessage(id="msg-hello ünïcode", content="hello ünïcode")),
        (
            plain,
            AssistantMessage(id=plain.id, content="plain"),
        ),
        (
            calling,
            AssistantMessage(
                id=calling.id,
                content="",
                tool_calls=[
                    ToolCall(
                        id=call["id"],
                        function=FunctionCall(
                            name=call["name"], arguments=json.dumps(call["input"] or {})
                        ),
                    )
                    for call in calls
                ],
            ),
        ),
        (
            tool("toolu_1", "total 0"),
            ToolMessage(id="tool-toolu_1", content="total 0", tool_call_id="toolu_1"),
        ),
        (
            tool("toolu_2", "exit 1", is_error=True),
            ToolMessage(
                id="tool-toolu_2", content="exit 1", tool_call_id="toolu_2", error="exit 1"
            ),
        ),
        (reasoning("hmm", "c2ln"), ReasoningMessage(id="reasoning-hmm", content="hmm")),
        (reasoning("", None), ReasoningMessage(id="reasoning-", content="")),
    ]
    for message, model in cases:
        expected = agui_dump(model)
        if message.role == "assistant" and message.usage:
            expected["usage"] = message.usage
        assert message_view(message) == expected
        assert json.dumps(message_view(message)) == json.dumps(expected), "same key order"


def test_session_history_keeps_views_and_model_in_step() -> None:
    history = SessionHistory(MESSY[:3], [], thinking=False)
    for message in MESSY[3:]:
        history.append(message)
    assert history.records == MESSY
    assert history.views == [message_view(message) for message in MESSY]
    assert history.model.conversation() == conversation_for_model(MESSY, thinking=False)


# ---- the same conversation as before the history was kept in memory ---------------------
# The functions below are the conversation builder as it was before each message was
# prepared once (commit d9c212c), kept to check that the faster one sends exactly the same.


def _reference_conversation(messages: list[MessageRecord], thinking: bool) -> list[Any]:
    def blocks(message: MessageRecord) -> list[dict[str, Any]]:
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
        text = message.content and message.role in ("user", "assistant")
        out = [{"type": "text", "text": message.content}] if text else []
        return out + [{"type": "tool_use", **call} for call in message.tool_calls or []]

    def keep(block: dict[str, Any]) -> bool:
        kind = block.get("type")
        if kind == "text":
            return bool(block.get("text"))
        if kind == "thinking":
            return thinking and bool(block.get("signature"))
        return thinking if kind == "redacted_thinking" else True

    roles = {"user": "user", "tool": "user", "assistant": "assistant", "reasoning": "assistant"}
    turns: list[dict[str, Any]] = []
    for message in messages:
        role, kept = roles.get(message.role), [b for b in blocks(message) if keep(b)]
        if role is None or not kept:
            continue
        if turns and turns[-1]["role"] == role:
            turns[-1]["content"].extend(kept)
        else:
            turns.append({"role": role, "content": kept})

    def uses(turn: dict[str, Any] | None) -> list[str]:
        if turn is None or turn["role"] != "assistant":
            return []
        return [b["id"] for b in turn["content"] if b.get("type") == "tool_use"]

    def interrupted(tool_id: str) -> dict[str, Any]:
        return {
            "type": "tool_result",
            "tool_use_id": tool_id,
            "content": INTERRUPTED_TOOL_RESULT,
            "is_error": True,
        }

    repaired: list[dict[str, Any]] = []
    index = 0
    while index < len(turns):
        turn = turns[index]
        wanted = uses(repaired[-1] if repaired else None)
        if turn["role"] == "assistant" and wanted:
            turn = {"role": "user", "content": []}
        else:
            index += 1
        if turn["role"] == "user":
            results = [b for b in turn["content"] if b.get("type") == "tool_result"]
            others = [b for b in turn["content"] if b.get("type") != "tool_result"]
            answered = {b.get("tool_use_id") for b in results}
            missing = [interrupted(t) for t in wanted if t not in answered]
            turn = {
                "role": "user",
                "content": [b for b in results if b.get("tool_use_id") in wanted]
                + missing
                + others,
            }
            if not turn["content"]:
                continue
        repaired.append(turn)
    if uses(repaired[-1] if repaired else None):
        repaired.append({"role": "user", "content": [interrupted(t) for t in uses(repaired[-1])]})
    merged: list[dict[str, Any]] = []
    for turn in repaired:
        if merged and merged[-1]["role"] == turn["role"]:
            merged[-1]["content"].extend(turn["content"])
        else:
            merged.append(turn)
    while merged and merged[0]["role"] != "user":
        merged.pop(0)
    return merged


def _random_history(rng: random.Random, length: int) -> list[MessageRecord]:
    """Messages in any order a session could store them, and some it could not."""
    messages: list[MessageRecord] = []
    open_calls: list[str] = []
    for index in range(length):
        kind = rng.choice(["user", "user", "assistant", "calls", "tool", "stray", "reasoning"])
        if kind == "user":
            messages.append(
                user(rng.choice(["hi", "ça", "x" * rng.randint(1, 50)]), id=f"u{index}")
            )
        elif kind == "assistant":
            messages.append(assistant(rng.choice(["", "ok", "done ✓"])))
        elif kind == "calls":
            open_calls = [f"toolu_{index}_{n}" for n in range(rng.randint(1, 3))]
            calls = [{"id": c, "name": "bash", "input": {"n": index}} for c in open_calls]
            messages.append(assistant(rng.choice(["", "Running."]), calls))
        elif kind == "tool" and open_calls:
            messages.append(tool(open_calls.pop(rng.randrange(len(open_calls))), "out"))
        elif kind == "stray":
            messages.append(tool(f"toolu_gone_{index}", "late", is_error=True))
        else:
            messages.append(reasoning(f"r{index}", rng.choice([None, "c2ln"])))
    return messages


@pytest.mark.parametrize("thinking", [False, True])
def test_the_conversation_is_the_one_sent_before_the_history_was_kept(thinking: bool) -> None:
    rng = random.Random(6)
    for _ in range(300):
        stored = _random_history(rng, rng.randint(0, 25))
        expected = _reference_conversation(stored, thinking)
        history = ModelHistory(stored[:-1], thinking=thinking)
        last = stored[-1] if stored else None
        assert history.conversation(ending_with=last) == expected
        if last is not None:
            history.append(last)
        assert history.conversation() == expected
        assert conversation_for_model(stored, thinking=thinking) == expected
        for turn in history.conversation():
            assert history.turn_tokens(turn) == estimate_tokens(turn)


def test_session_history_keeps_run_views_in_step() -> None:
    started = RunRecord("run-1", "s", "running", None, None, None, 5, None, [])
    earlier = RunRecord("run-0", "s", "completed", None, None, {"inputTokens": 1}, 1, 2, ["m0"])
    history = SessionHistory([], [started, earlier], thinking=False)
    assert [run["id"] for run in history.run_views()] == ["run-0", "run-1"], "by start"
    history.start_run(RunRecord("run-2", "s", "running", None, None, None, 9, None, []))
    handed_out = history.run_views()
    history.append(user("question", run="run-2"))
    history.finish_run(
        RunRecord("run-2", "s", "failed", "overloaded", "Busy.", {"outputTokens": 3}, 9, 12, [])
    )
    assert history.run_views()[-1] == {
        "id": "run-2",
        "status": "failed",
        "usage": {"outputTokens": 3},
        "startedAt": 9,
        "endedAt": 12,
        "messageIds": ["msg-question"],
        "error": {"code": "overloaded", "message": "Busy."},
    }
    assert handed_out[-1]["messageIds"] == [], "a view handed out is not changed"
    assert handed_out[:2] == [run_view(earlier), run_view(started)]
