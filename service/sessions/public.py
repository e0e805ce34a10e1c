"""What clients see of sessions, messages and runs (plain dicts in the protocol's shapes)."""

from __future__ import annotations

import json
from typing import Any

from ag_ui.core import (
    AssistantMessage,
    FunctionCall,
    ReasoningMessage,
    ToolCall,
    ToolMessage,
    UserMessage,
)

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


def _agui(message: MessageRecord) -> Any:
    if message.role == "user":
        return UserMessage(id=message.id, content=message.content)
    if message.role == "assistant":
        calls = [
            ToolCall(
                id=call["id"],
                function=FunctionCall(
                    name=call["name"], arguments=json.dumps(call.get("input") or {})
                ),
            )
            for call in message.tool_calls or []
        ]
        return AssistantMessage(id=message.id, content=message.content, tool_calls=calls or None)
    if message.role == "tool":
        return ToolMessage(
            id=message.id,
            content=message.content,
            tool_call_id=message.tool_call_id or "",
            error=message.content if message.is_error else None,
        )
    return ReasoningMessage(id=message.id, content=message.content)


def message_view(message: MessageRecord) -> dict[str, Any]:
    view = _agui(message).model_dump(mode="json", by_alias=True, exclude_none=True)
    if message.usage and message.role == "assistant":
        view["usage"] = message.usage
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
