"""One run of the agent: stream a reply, run the tools it asks for, repeat until done.

The loop knows nothing of sockets or databases. It reports through a :class:`RunReporter`:
``emit`` for each AG-UI event as it happens, ``save`` for each message once it is final. It
ends by returning a :class:`RunOutcome`; the caller records it and sends the terminal event
(``RUN_FINISHED`` or ``RUN_ERROR``), so that a client that sees the end can read it back.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from ..storage.sessions import MessageRecord
from . import events
from .events import Event, Usage
from .history import ModelHistory, estimate_tokens, fit_to_budget, mark_cache_points
from .provider import ProviderProtocolError, StreamBroken, classify_provider_error, sdk_error
from .stream import stream_reply
from .tools import Toolbox, ToolOutput

if TYPE_CHECKING:
    import anthropic

log = logging.getLogger("portagent.agent")

CANCELLED_TOOL_RESULT = "Cancelled: the run was stopped before this tool call finished."
CUT_OFF_TOOL_RESULT = "Not run: the model's reply broke off before the call was complete."


class RunReporter(Protocol):
    def emit(self, event: Event) -> None: ...

    def save(self, message: MessageRecord) -> None: ...

    async def wait_turn(self) -> None:
        """Return when this run may do its end-of-turn bookkeeping (saving the reply, and
        when it is the last turn, ending the run) without holding up other streams."""


@dataclass(frozen=True)
class AgentConfig:
    model: str
    max_tokens: int
    max_turns: int
    thinking_budget: int
    context_tokens: int


@dataclass
class RunOutcome:
    status: str  # completed | cancelled | failed
    usage: Usage
    error_code: str | None = None
    error_message: str | None = None


def new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex}"


@dataclass
class _ToolCall:
    id: str
    name: str
    arguments: str = ""
    ended: bool = False
    answered: bool = False

    def parsed_input(self) -> dict[str, Any] | None:
        try:
            value = json.loads(self.arguments or "{}")
        except ValueError:
            return None
        return value if isinstance(value, dict) else None


@dataclass
class _Segment:
    """One assistant message: text, then the tool calls that follow it."""

    id: str
    parts: list[str] = field(default_factory=list)
    text_open: bool = False
    text_closed: bool = False
    tool_calls: list[_ToolCall] = field(default_factory=list)
    saved: bool = False

    @property
    def text(self) -> str:
        return "".join(self.parts)


@dataclass
class _Reasoning:
    id: str
    parts: list[str] = field(default_factory=list)
    signature: str | None = None
    redacted: str | None = None
    open: bool = True
    saved: bool = False

    @property
    def text(self) -> str:
        return "".join(self.parts)


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


class _ModelTurn:
    """What one streamed model reply has produced so far, and the events it owes.

    Events arrive as the API's JSON objects (``stream.stream_reply``); a field that is missing
    or of the wrong type is read as empty rather than trusted.
    """

    def __init__(self, run: AgentRun) -> None:
        self.run = run
        self.emit = run.reporter.emit
        self.segments: list[_Segment] = []
        self.reasoning: list[_Reasoning] = []
        self.blocks: dict[int, Any] = {}
        self.order: list[Any] = []
        self.usage = Usage()
        self.stop_reason: str | None = None
        self._text_segment: _Segment | None = None  # the segment whose text is open

    def _segment(self, *, for_text: bool) -> _Segment:
        current = self.segments[-1] if self.segments else None
        if current is None or (for_text and (current.text_closed or current.tool_calls)):
            current = _Segment(id=new_id("msg"))
            self.segments.append(current)
            self.order.append(current)
        return current

    def on_event(self, event: dict[str, Any]) -> None:
        kind = event.get("type")
        if kind == "content_block_delta":
            delta = event.get("delta")
            if isinstance(delta, dict):
                self._block_delta(event.get("index"), delta)
        elif kind == "content_block_start":
            block = event.get("content_block")
            if isinstance(block, dict):
                self._block_start(event.get("index"), block)
        elif kind == "content_block_stop":
            self._block_stop(event.get("index"))
        elif kind == "message_start":
            message = event.get("message")
            if isinstance(message, dict):
                self._count_usage(message.get("usage"))
        elif kind == "message_delta":
            delta = event.get("delta")
            if isinstance(delta, dict) and isinstance(delta.get("stop_reason"), str):
                self.stop_reason = delta["stop_reason"]
            usage = event.get("usage")
            if isinstance(usage, dict) and isinstance(usage.get("output_tokens"), int):
                self.usage.output_tokens = usage["output_tokens"]

    def _count_usage(self, usage: Any) -> None:
        if not isinstance(usage, dict):
            return
        self.usage.input_tokens = _int(usage.get("input_tokens"))
        self.usage.cache_read_tokens = _int(usage.get("cache_read_input_tokens"))
        self.usage.cache_write_tokens = _int(usage.get("cache_creation_input_tokens"))
        self.usage.output_tokens = _int(usage.get("output_tokens"))

    def _block_start(self, index: Any, block: dict[str, Any]) -> None:
        kind = block.get("type")
        if kind == "thinking":
            reasoning = _Reasoning(id=new_id("reasoning"))
            self.reasoning.append(reasoning)
            self.blocks[index] = reasoning
            for event in events.reasoning_start(reasoning.id):
                self.emit(event)
        elif kind == "redacted_thinking":
            reasoning = _Reasoning(
                id=new_id("reasoning"), redacted=_str(block.get("data")), open=False
            )
            self.reasoning.append(reasoning)
            self.blocks[index] = reasoning
        elif kind == "tool_use":
            segment = self._segment(for_text=False)
            self._close_text(segment)
            call = _ToolCall(id=_str(block.get("id")), name=_str(block.get("name")))
            segment.tool_calls.append(call)
            self.blocks[index] = call
            self.emit(events.tool_start(call.id, call.name, segment.id))
        elif kind == "text":
            self.blocks[index] = "text"
            text = block.get("text")
            if text and isinstance(text, str):
                self._text(text)

    def _text(self, delta: str) -> None:
        segment = self._text_segment
        if segment is None:
            segment = self._segment(for_text=True)
            segment.text_open = True
            self._text_segment = segment
            self.emit(events.text_start(segment.id, "assistant"))
        segment.parts.append(delta)
        self.emit(events.text_content(segment.id, delta))

    def _block_delta(self, index: Any, delta: dict[str, Any]) -> None:
        kind = delta.get("type")
        if kind == "text_delta":
            text = delta.get("text")
            if text and isinstance(text, str):
                self._text(text)
            return
        target = self.blocks.get(index)
        if kind == "input_json_delta" and isinstance(target, _ToolCall):
            partial = delta.get("partial_json")
            if partial and isinstance(partial, str):
                target.arguments += partial
                self.emit(events.tool_args(target.id, partial))
        elif kind == "thinking_delta" and isinstance(target, _Reasoning):
            thinking = delta.get("thinking")
            if thinking and isinstance(thinking, str):
                target.parts.append(thinking)
                self.emit(events.reasoning_content(target.id, thinking))
        elif kind == "signature_delta" and isinstance(target, _Reasoning):
            target.signature = (target.signature or "") + _str(delta.get("signature"))

    def _block_stop(self, index: Any) -> None:
        target = self.blocks.get(index)
        if target == "text" and self.segments:
            self._close_text(self.segments[-1])
        elif isinstance(target, _Reasoning):
            self._close_reasoning(target)
            self._save_reasoning(target)
        elif isinstance(target, _ToolCall) and not target.ended:
            target.ended = True
            self.emit(events.tool_end(target.id))

    def _close_text(self, segment: _Segment) -> None:
        if segment.text_open:
            segment.text_open = False
            segment.text_closed = True
            if self._text_segment is segment:
                self._text_segment = None
            self.emit(events.text_end(segment.id))

    def _close_reasoning(self, reasoning: _Reasoning) -> None:
        if reasoning.open:
            reasoning.open = False
            for event in events.reasoning_end(reasoning.id):
                self.emit(event)

    def _save_reasoning(self, reasoning: _Reasoning) -> None:
        if reasoning.saved:
            return
        reasoning.saved = True
        blocks: list[dict[str, Any]] = []
        if reasoning.redacted is not None:
            blocks = [{"type": "redacted_thinking", "data": reasoning.redacted}]
        elif reasoning.signature:
            blocks = [
                {"type": "thinking", "thinking": reasoning.text, "signature": reasoning.signature}
            ]
        if not blocks and not reasoning.text:
            return
        self.run.save(
            MessageRecord(
                id=reasoning.id,
                run_id=self.run.run_id,
                role="reasoning",
                content=reasoning.text,
                blocks=blocks,
            )
        )

    def close_everything(self) -> None:
        """Send the ``*_END`` of every message and tool call still open."""
        for item in self.order + self.reasoning:
            if isinstance(item, _Segment):
                self._close_text(item)
            elif isinstance(item, _Reasoning):
                self._close_reasoning(item)
        for segment in self.segments:
            for call in segment.tool_calls:
                if not call.ended:
                    call.ended = True
                    self.emit(events.tool_end(call.id))

    def save_segments(self, *, complete: bool) -> list[dict[str, Any]]:
        """Commit the assistant messages of this turn; return their API content blocks.

        An incomplete turn (cancelled or broken off) keeps its partial text; a tool call whose
        input never arrived whole is kept with an empty input, and is answered by the caller.
        """
        for reasoning in self.reasoning:
            self._save_reasoning(reasoning)
        api_blocks: list[dict[str, Any]] = [
            block
            for reasoning in self.reasoning
            for block in (
                [{"type": "redacted_thinking", "data": reasoning.redacted}]
                if reasoning.redacted is not None
                else (
                    [
                        {
                            "type": "thinking",
                            "thinking": reasoning.text,
                            "signature": reasoning.signature,
                        }
                    ]
                    if reasoning.signature
                    else []
                )
            )
        ]
        to_save = [s for s in self.segments if not s.saved and (s.text or s.tool_calls)]
        for position, segment in enumerate(to_save):
            blocks: list[dict[str, Any]] = []
            if segment.text:
                blocks.append({"type": "text", "text": segment.text})
            calls = []
            for call in segment.tool_calls:
                tool_input = call.parsed_input() if (complete or call.ended) else None
                blocks.append(
                    {
                        "type": "tool_use",
                        "id": call.id,
                        "name": call.name,
                        "input": tool_input or {},
                    }
                )
                calls.append({"id": call.id, "name": call.name, "input": tool_input or {}})
            segment.saved = True
            is_last = position == len(to_save) - 1
            self.run.save(
                MessageRecord(
                    id=segment.id,
                    run_id=self.run.run_id,
                    role="assistant",
                    content=segment.text,
                    blocks=blocks,
                    tool_calls=calls or None,
                    usage=self.usage.as_dict() if is_last else None,
                )
            )
            api_blocks.extend(blocks)
        return api_blocks

    @property
    def tool_calls(self) -> list[_ToolCall]:
        return [call for segment in self.segments for call in segment.tool_calls]


class AgentRun:
    """Drives one run from the user's message to the model's last word."""

    def __init__(
        self,
        client: anthropic.AsyncAnthropic | None,
        config: AgentConfig,
        *,
        system_prompt: str,
        toolbox: Toolbox | None,
        history: ModelHistory,
        user_message: MessageRecord,
        thread_id: str,
        reporter: RunReporter,
    ) -> None:
        self.client = client
        self.config = config
        self.system_prompt = system_prompt
        self.toolbox = toolbox
        self.history = history
        self.user_message = user_message
        self.thread_id = thread_id
        self.run_id = user_message.run_id
        self.reporter = reporter
        self.usage = Usage()
        self._turn: _ModelTurn | None = None
        self._begun = False

    def save(self, message: MessageRecord) -> None:
        self.reporter.save(message)

    def begin(self) -> None:
        """Announce the run and the user's message (once)."""
        if self._begun:
            return
        self._begun = True
        emit = self.reporter.emit
        emit(events.run_started(self.thread_id, self.run_id))
        emit(events.text_start(self.user_message.id, "user"))
        emit(events.text_content(self.user_message.id, self.user_message.content))
        emit(events.text_end(self.user_message.id))

    async def execute(self) -> RunOutcome:
        self.begin()
        # The session's history as the model sees it (the hub appends the user's message when
        # it commits it; it is added here otherwise): fresh turns over shared blocks.
        conversation = self.history.conversation(ending_with=self.user_message)
        try:
            for _ in range(self.config.max_turns):
                turn = await self._stream_model_turn(conversation)
                # Everything from here to the next await (the reply committed; when the run
                # ends here, the hub recording its end) runs in one step: one run per loop turn.
                await self.reporter.wait_turn()
                conversation.append(
                    {"role": "assistant", "content": turn.save_segments(complete=True)}
                )
                calls = turn.tool_calls
                if turn.stop_reason != "tool_use" or not calls:
                    return RunOutcome(status="completed", usage=self.usage)
                conversation.append({"role": "user", "content": await self._run_tools(calls)})
            return RunOutcome(
                status="failed",
                usage=self.usage,
                error_code="max_turns",
                error_message=(
                    f"The agent stopped after {self.config.max_turns} model calls without "
                    "finishing (AGENT_MAX_TURNS). Send a message to let it continue."
                ),
            )
        except asyncio.CancelledError:
            self._wind_down(CANCELLED_TOOL_RESULT)
            return RunOutcome(status="cancelled", usage=self.usage)
        except (sdk_error(), StreamBroken, ProviderProtocolError) as error:
            self._wind_down(CUT_OFF_TOOL_RESULT)
            failure = classify_provider_error(error)
            return RunOutcome(
                status="failed",
                usage=self.usage,
                error_code=failure.code,
                error_message=failure.message,
            )
        except Exception:
            log.exception("run %s failed", self.run_id)
            self._wind_down(CUT_OFF_TOOL_RESULT)
            return RunOutcome(
                status="failed",
                usage=self.usage,
                error_code="internal",
                error_message="Something went wrong on the server; the error is in its log.",
            )

    def _request(self, conversation: list[dict[str, Any]]) -> dict[str, Any]:
        tools = self.toolbox.definitions() if self.toolbox is not None else []
        if tools:
            tools[-1] = {**tools[-1], "cache_control": {"type": "ephemeral"}}
        system = [
            {"type": "text", "text": self.system_prompt, "cache_control": {"type": "ephemeral"}}
        ]
        fixed = estimate_tokens(system) + estimate_tokens(tools) + self.config.max_tokens
        messages, _dropped = fit_to_budget(
            conversation, self.config.context_tokens, fixed, self.history.turn_tokens
        )
        request: dict[str, Any] = {
            "model": self.config.model,
            "max_tokens": self.config.max_tokens,
            "system": system,
            "messages": mark_cache_points(messages),
        }
        if tools:
            request["tools"] = tools
        if self.config.thinking_budget > 0:
            request["thinking"] = {"type": "enabled", "budget_tokens": self.config.thinking_budget}
            request["max_tokens"] = self.config.max_tokens + self.config.thinking_budget
        return request

    async def _stream_model_turn(self, conversation: list[dict[str, Any]]) -> _ModelTurn:
        turn = _ModelTurn(self)
        self._turn = turn
        try:
            request = self._request(conversation)
            assert self.client is not None, "the hub attaches the model client before a run"
            await stream_reply(self.client, request, turn.on_event)
        except (sdk_error(), ProviderProtocolError, asyncio.CancelledError):
            raise
        except OSError as error:
            raise StreamBroken(str(error)) from error
        except Exception as error:
            if type(error).__module__.split(".")[0] in ("httpx", "httpx2", "httpcore", "h11"):
                raise StreamBroken(type(error).__name__) from error
            raise
        finally:
            self.usage.add(turn.usage)
        turn.close_everything()
        return turn

    async def _run_tools(self, calls: list[_ToolCall]) -> list[dict[str, Any]]:
        results = []
        for call in calls:
            tool_input = call.parsed_input()
            if tool_input is None:
                output = ToolOutput(content="The tool input was not a JSON object.", is_error=True)
            elif self.toolbox is None:
                output = ToolOutput(content=f"No tool named {call.name} here.", is_error=True)
            else:
                output = await self.toolbox.execute(call.name, tool_input)
            results.append(self._answer(call, output.content, is_error=output.is_error))
        return results

    def _answer(self, call: _ToolCall, content: str, *, is_error: bool) -> dict[str, Any]:
        call.answered = True
        block = {
            "type": "tool_result",
            "tool_use_id": call.id,
            "content": content,
            "is_error": is_error,
        }
        message_id = new_id("tool")
        self.reporter.emit(events.tool_result(message_id, call.id, content, is_error=is_error))
        self.save(
            MessageRecord(
                id=message_id,
                run_id=self.run_id,
                role="tool",
                content=content,
                blocks=[block],
                tool_call_id=call.id,
                is_error=is_error,
            )
        )
        return block

    def _wind_down(self, unanswered: str) -> None:
        """After a cancel or a failure: close what is open, keep what was said, answer every
        tool call that has no result yet. No awaits here: it must finish even when cancelled."""
        turn = self._turn
        if turn is None:
            return
        turn.close_everything()
        turn.save_segments(complete=False)
        for call in turn.tool_calls:
            if not call.answered:
                self._answer(call, unanswered, is_error=True)
