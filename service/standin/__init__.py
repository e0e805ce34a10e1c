"""A stand-in for the Anthropic Messages API: Portagent's demo model and test double.

``StandInModel`` serves the API on loopback from the running event loop (demo
mode starts it inside the Sanic server); ``ThreadedStandIn`` runs one in its
own thread for tests and benchmarks. What it answers is scripted by a
responder returning a ``Reply``; see ``scripts``.
"""

from .prompt_cache import InputUsage, PromptCache
from .scripts import (
    ContentBlock,
    ErrorEvent,
    Failure,
    NoResponse,
    Reply,
    Responder,
    ScriptedResponder,
    StatusError,
    StopReason,
    Text,
    Thinking,
    ToolUse,
    demo_responder,
    text_reply,
    tokens_responder,
)
from .server import RecordedRequest, StandInModel, ThreadedStandIn
from .validation import InvalidRequest, validate_messages_request

__all__ = [
    "ContentBlock",
    "ErrorEvent",
    "Failure",
    "InputUsage",
    "InvalidRequest",
    "NoResponse",
    "PromptCache",
    "RecordedRequest",
    "Reply",
    "Responder",
    "ScriptedResponder",
    "StandInModel",
    "StatusError",
    "StopReason",
    "Text",
    "Thinking",
    "ThreadedStandIn",
    "ToolUse",
    "demo_responder",
    "text_reply",
    "tokens_responder",
    "validate_messages_request",
]
