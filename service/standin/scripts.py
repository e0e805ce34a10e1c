"""What the stand-in model says: scripted replies and ready-made responders.

A *responder* is a callable that takes the parsed body of a ``POST
/v1/messages`` request and returns a :class:`Reply` (or an awaitable of one).
The server turns the reply into exactly the bytes the Anthropic API would send:
an SSE stream for ``"stream": true``, a Message JSON otherwise, or an error.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

StopReason = Literal["end_turn", "max_tokens", "stop_sequence", "tool_use", "pause_turn", "refusal"]
Failure = Literal["drop", "hang", "error_event"]
"""How a stream ends early: ``drop`` closes the connection without finishing
the chunked body, ``hang`` sends nothing more until the client gives up or the
server stops, ``error_event`` sends an ``event: error`` and ends the stream."""

NoResponse = Literal["drop", "hang"]
"""How a request is left unanswered: ``drop`` closes the connection without a
status line, ``hang`` keeps it open and silent."""

DEFAULT_ERROR_TYPES: dict[int, str] = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    529: "overloaded_error",
}
DEFAULT_ERROR_MESSAGES: dict[str, str] = {
    "invalid_request_error": "Invalid request.",
    "authentication_error": "invalid x-api-key",
    "permission_error": "Your API key does not have permission to use the specified resource.",
    "not_found_error": "Not found.",
    "request_too_large": "Request exceeds the maximum allowed number of bytes.",
    "rate_limit_error": "Number of request tokens has exceeded your per-minute rate limit.",
    "api_error": "Internal server error.",
    "overloaded_error": "Overloaded",
}

_WORD = re.compile(r"\s*\S+\s*")


def split_words(text: str) -> list[str]:
    """Split text into word deltas that concatenate back to exactly ``text``."""
    words = _WORD.findall(text)
    return words if words else [text]


@dataclass(frozen=True)
class Text:
    """A text block. Streamed as ``chunks`` (default: word by word)."""

    text: str
    chunks: Sequence[str] | None = None

    def __post_init__(self) -> None:
        if not self.text:
            # The real API never sends an empty text block, and rejects one in a
            # request: an agent echoing it back would get a 400.
            raise ValueError("Text blocks must be non-empty")
        if self.chunks is not None and "".join(self.chunks) != self.text:
            raise ValueError("Text.chunks must concatenate to Text.text")

    def deltas(self) -> list[str]:
        return list(self.chunks) if self.chunks is not None else split_words(self.text)


@dataclass(frozen=True)
class Thinking:
    """An extended-thinking block: thinking deltas, then one signature delta."""

    text: str
    signature: str = "c3RhbmQtaW4gc2lnbmF0dXJl"
    chunks: Sequence[str] | None = None

    def __post_init__(self) -> None:
        if self.chunks is not None and "".join(self.chunks) != self.text:
            raise ValueError("Thinking.chunks must concatenate to Thinking.text")

    def deltas(self) -> list[str]:
        return list(self.chunks) if self.chunks is not None else split_words(self.text)


@dataclass(frozen=True)
class ToolUse:
    """A ``tool_use`` block; its input JSON is streamed in a few partial chunks.

    ``id`` defaults to a fresh ``toolu_...`` id per reply. ``chunks`` overrides
    the ``partial_json`` pieces (they should concatenate to a JSON object).
    """

    name: str
    input: dict[str, Any]
    id: str | None = None
    chunks: Sequence[str] | None = None

    def json_deltas(self, pieces: int = 3) -> list[str]:
        if self.chunks is not None:
            return list(self.chunks)
        encoded = json.dumps(self.input)
        size = max(1, -(-len(encoded) // pieces))
        return [encoded[i : i + size] for i in range(0, len(encoded), size)]


ContentBlock = Text | Thinking | ToolUse


@dataclass(frozen=True)
class StatusError:
    """An HTTP error answered instead of a message, in Anthropic's error JSON.

    ``retry_after`` (seconds) is sent as ``retry-after`` and ``retry-after-ms``;
    it defaults to 1 s for 429 and 529.
    """

    status: int
    error_type: str | None = None
    message: str | None = None
    retry_after: float | None = None

    @property
    def type(self) -> str:
        return self.error_type or DEFAULT_ERROR_TYPES.get(self.status, "api_error")

    @property
    def text(self) -> str:
        return self.message or DEFAULT_ERROR_MESSAGES.get(self.type, "Error.")

    @property
    def retry_after_seconds(self) -> float | None:
        if self.retry_after is not None:
            return self.retry_after
        return 1.0 if self.status in (429, 529) else None


@dataclass(frozen=True)
class ErrorEvent:
    """The body of an ``event: error`` sent mid-stream."""

    error_type: str = "overloaded_error"
    message: str = "Overloaded"


@dataclass(frozen=True)
class Reply:
    """One scripted answer of the stand-in model.

    - ``content``: blocks to stream, in order.
    - ``stop_reason``: default ``"tool_use"`` if any :class:`ToolUse`, else ``"end_turn"``.
    - ``status_error``: answer this HTTP error instead (a :class:`StatusError` or a
      ``(status, error_type, message)`` tuple).
    - ``fail_after``: after this many ``content_block_delta`` events (0 = right after
      ``message_start``) end the stream the ``failure`` way; the stream then never
      reaches ``message_delta``/``message_stop``.
    - ``no_response``: accept the request and never answer it (``hang``) or close the
      connection without a status line (``drop``).
    - ``token_delay``: seconds between deltas (default: the server's).
    - ``response_delay``: seconds before the response starts.
    - ``output_tokens``: reported output usage (default: estimated, chars / 4).
    """

    content: Sequence[ContentBlock] = ()
    stop_reason: StopReason | None = None
    stop_sequence: str | None = None
    status_error: StatusError | tuple[int, str, str] | None = None
    fail_after: int | None = None
    failure: Failure = "drop"
    error_event: ErrorEvent = field(default_factory=ErrorEvent)
    no_response: NoResponse | None = None
    token_delay: float | None = None
    response_delay: float = 0.0
    output_tokens: int | None = None

    def __post_init__(self) -> None:
        if isinstance(self.status_error, tuple):
            object.__setattr__(self, "status_error", StatusError(*self.status_error))
        object.__setattr__(self, "content", tuple(self.content))
        if self.fail_after is not None and self.fail_after < 0:
            raise ValueError("fail_after must be >= 0")

    @property
    def error(self) -> StatusError | None:
        """``status_error`` normalised to a :class:`StatusError`."""
        assert not isinstance(self.status_error, tuple)
        return self.status_error

    @property
    def resolved_stop_reason(self) -> StopReason:
        if self.stop_reason is not None:
            return self.stop_reason
        return "tool_use" if any(isinstance(b, ToolUse) for b in self.content) else "end_turn"


Responder = Callable[[dict[str, Any]], Reply | Awaitable[Reply]]


def text_reply(text: str, **options: Any) -> Reply:
    """A reply with one text block streamed word by word."""
    return Reply(content=[Text(text)], **options)


class ScriptedResponder:
    """Hands out ``replies`` in order, one per request.

    When they run out it answers HTTP 500 ``api_error`` naming the request that
    had no script, so a test that makes more model calls than planned fails
    loudly; with ``repeat_last=True`` it repeats the last reply instead.
    ``calls`` holds every request body it was asked about.
    """

    def __init__(self, replies: Iterable[Reply], *, repeat_last: bool = False) -> None:
        self._replies = list(replies)
        self._repeat_last = repeat_last
        self._next = 0
        self._lock = threading.Lock()
        self.calls: list[dict[str, Any]] = []

    @property
    def remaining(self) -> int:
        with self._lock:
            return len(self._replies) - self._next

    def __call__(self, body: dict[str, Any]) -> Reply:
        with self._lock:
            self.calls.append(body)
            if self._next < len(self._replies):
                reply = self._replies[self._next]
                self._next += 1
                return reply
            if self._repeat_last and self._replies:
                return self._replies[-1]
            return Reply(
                status_error=StatusError(
                    500,
                    "api_error",
                    f"ScriptedResponder has no reply for request #{len(self.calls)}: "
                    f"only {len(self._replies)} replies were scripted.",
                )
            )


def tokens_responder(n_tokens: int, delay: float = 0.0) -> Responder:
    """A responder streaming ``n_tokens`` deltas ``"tok1 "``, ``"tok2 "``, ... for benchmarks."""
    if n_tokens < 1:
        raise ValueError("n_tokens must be >= 1")
    chunks = [f"tok{i} " for i in range(1, n_tokens + 1)]
    reply = Reply(
        content=[Text("".join(chunks), chunks=chunks)], token_delay=delay, output_tokens=n_tokens
    )

    def respond(body: dict[str, Any]) -> Reply:
        return reply

    return respond


# --- demo mode -----------------------------------------------------------------

BASH_TOOL = "bash"
EDITOR_TOOL = "str_replace_based_edit_tool"
_MAX_ECHO_CHARS = 2000
_MAX_ECHO_LINES = 40

DEMO_HELP = """\
This is **Portagent's demo mode**: there is no real model behind this chat, \
just a small script that answers in its place, so you can try the interface \
without an API key.

You wrote:

> {echo}

Try one of these commands:

- `run: <command>` runs a shell command with the `bash` tool
- `write: <path>` followed by the file's content on the next lines creates a file
- `read: <path>` shows a file
- `think: <question>` shows a thinking block before the answer

Start the server with an Anthropic API key to talk to Claude."""


def _tool_names(body: dict[str, Any]) -> set[str]:
    return {t.get("name", "") for t in body.get("tools") or [] if isinstance(t, dict)}


def _blocks(message: dict[str, Any]) -> list[dict[str, Any]]:
    content = message.get("content")
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    return [b for b in content or [] if isinstance(b, dict)]


def _result_text(block: dict[str, Any]) -> str:
    content = block.get("content")
    if isinstance(content, str):
        return content
    parts = [p.get("text", "") for p in content or [] if isinstance(p, dict)]
    return "\n".join(p for p in parts if p)


def _clip(output: str) -> str:
    lines = output.rstrip("\n").splitlines()
    clipped = "\n".join(lines[:_MAX_ECHO_LINES])[:_MAX_ECHO_CHARS]
    if clipped != output.rstrip("\n"):
        clipped += "\n… (output shortened)"
    return clipped


def _fence(text: str) -> str:
    # A longer fence than any backtick run inside keeps the Markdown intact.
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    ticks = "`" * max(3, longest + 1)
    return f"{ticks}\n{text}\n{ticks}"


def _summarise_result(result: dict[str, Any], call: dict[str, Any] | None) -> str:
    output = _result_text(result)
    name = (call or {}).get("name")
    args = (call or {}).get("input") or {}
    if result.get("is_error"):
        return f"The tool reported an error:\n{_fence(_clip(output) or '(no message)')}"
    if name == EDITOR_TOOL and args.get("command") == "create":
        return f"I wrote `{args.get('path', 'the file')}`."
    if name == EDITOR_TOOL and args.get("command") == "view":
        return f"Here is `{args.get('path', 'the file')}`:\n{_fence(_clip(output))}"
    if not output.strip():
        return "The command finished without printing anything."
    return f"The command printed:\n{_fence(_clip(output))}"


def _answer_tool_results(messages: list[dict[str, Any]]) -> Reply:
    results = [b for b in _blocks(messages[-1]) if b.get("type") == "tool_result"]
    calls: dict[str, dict[str, Any]] = {}
    if len(messages) >= 2:
        calls = {b.get("id", ""): b for b in _blocks(messages[-2]) if b.get("type") == "tool_use"}
    parts = [_summarise_result(r, calls.get(r.get("tool_use_id", ""))) for r in results]
    return text_reply("\n\n".join(parts))


def _tool_call(body: dict[str, Any], tool: str, preface: str, args: dict[str, Any]) -> Reply:
    if tool not in _tool_names(body):
        return text_reply(
            f"I would use the `{tool}` tool for that, but it is not enabled in this session."
        )
    return Reply(content=[Text(preface), ToolUse(tool, args)])


def demo_responder(body: dict[str, Any]) -> Reply:
    """Portagent's ``--demo`` model: a few commands, and a friendly explanation otherwise.

    A turn that answers tool calls gets a short summary of their output.
    ``run: CMD`` calls ``bash``; ``write: PATH`` plus content lines creates a
    file and ``read: PATH`` views one with ``str_replace_based_edit_tool``;
    ``think: ...`` streams a thinking block before its answer.
    """
    messages = [m for m in body.get("messages") or [] if isinstance(m, dict)]
    if not messages:
        return text_reply("Hello! Send me a message to begin.")
    last = messages[-1]
    said = "\n".join(b.get("text", "") for b in _blocks(last) if b.get("type") == "text").strip()
    # A user message sent after a cancelled tool call arrives merged with that call's result:
    # answer what the user said, not the leftover result.
    if not said and any(b.get("type") == "tool_result" for b in _blocks(last)):
        return _answer_tool_results(messages)

    command, _, rest = said.partition(":")
    command = command.strip().lower()
    rest = rest.strip("\n").strip(" ")
    if command == "run" and rest.strip():
        cmd = rest.strip()
        return _tool_call(body, BASH_TOOL, f"Running `{cmd}`.", {"command": cmd})
    if command == "write" and rest.strip():
        path, _, content = rest.partition("\n")
        path = path.strip()
        if content and not content.endswith("\n"):
            content += "\n"
        args = {"command": "create", "path": path, "file_text": content}
        return _tool_call(body, EDITOR_TOOL, f"Writing `{path}`.", args)
    if command == "read" and rest.strip():
        path = rest.strip()
        return _tool_call(
            body, EDITOR_TOOL, f"Reading `{path}`.", {"command": "view", "path": path}
        )
    if command == "think" and rest.strip():
        question = rest.strip()
        thought = (
            f"The user asks me to think about: {question}\n"
            "There is no real model here, so the honest answer is a scripted one. "
            "I will say so and keep it short."
        )
        answer = (
            f"I thought about *{question}*, but in demo mode my thoughts are scripted. "
            "Start Portagent with an API key for a real answer."
        )
        return Reply(content=[Thinking(thought), Text(answer)])
    echo = said.replace("\n", "\n> ") if said else "(nothing)"
    return text_reply(DEMO_HELP.format(echo=echo))
