"""What clients see of sessions, messages and runs (plain dicts in the protocol's shapes)."""

from __future__ import annotations

import json
from typing import Any

from ..storage.sessions import MessageRecord, RunRecord, SessionRecord


def session_view(session: SessionRecord, *, running: bool) -> dict[str, Any]:
    return {
        "id": session.id,
        "title": session.title,
        "createdAt": session.created_at,
        "updatedAt": session.updated_at,
        "running": running,
        "messageCount": session.message_count,
    }


def _tool_call_view(call: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": call["id"],
        "type": "function",
        "function": {"name": call["name"], "arguments": json.dumps(call.get("input") or {})},
    }


def message_view(message: MessageRecord) -> dict[str, Any]:
    """A stored message as an AG-UI ``Message`` in JSON (camelCase, no null fields), built
    directly: the same dict as the ``ag_ui.core`` model's ``model_dump(mode="json",
    by_alias=True, exclude_none=True)`` (tests/agent/test_history.py checks every shape), at a
    fraction of the cost for a long session. Assistant messages also carry their usage."""
    role = message.role if message.role in ("user", "assistant", "tool") else "reasoning"
    view: dict[str, Any] = {"id": message.id, "role": role, "content": message.content}
    if role == "assistant":
        if message.tool_calls:
            view["toolCalls"] = [_tool_call_view(call) for call in message.tool_calls]
        if message.usage:
            view["usage"] = message.usage
    elif role == "tool":
        view["toolCallId"] = message.tool_call_id or ""
        if message.is_error:
            view["error"] = message.content
    return view


def run_view(run: RunRecord) -> dict[str, Any]:
    view: dict[str, Any] = {
        "id": run.id,
        "status": run.status,
        "usage": run.usage or {},
        "startedAt": run.started_at,
        "endedAt": run.ended_at,
        "messageIds": run.message_ids,
    }
    if run.error_code:
        view["error"] = {"code": run.error_code, "message": run.error_message or ""}
    return view
