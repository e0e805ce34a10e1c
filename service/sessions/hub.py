"""The session hub: conversations, their runs, and who hears about them.

Transport-free: a socket is a :class:`Subscriber` that the hub hands ready-made frames to.
All the hub's own work is synchronous between awaits, which is what keeps the order of frames
exact: a command's result is queued before anything that follows from it, and a subscriber
sees the replayed events before the live ones.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from ..agent import events
from ..agent.loop import AgentConfig, AgentRun, RunOutcome, new_id
from ..agent.tools import Toolbox
from ..config import Settings
from ..errors import BadRequest as BadRequestError
from ..errors import Busy, NotFoundError, TooLarge
from ..storage import Store
from ..storage import sessions as session_store
from ..storage.database import now_ms
from ..storage.sessions import MessageRecord, RunRecord, SessionRecord
from .live import LiveRun, LiveSession, SessionHistory, Subscriber
from .public import session_view
from .turns import TurnGate

if TYPE_CHECKING:
    import anthropic

log = logging.getLogger("portagent.sessions")

MAX_CONTENT_CHARS = 100_000
MAX_TITLE_CHARS = 200
MAX_SYSTEM_PROMPT_CHARS = 100_000
IDLE_EVICT_SECONDS = 15 * 60
SHUTDOWN_GRACE_SECONDS = 3.0
INTERRUPTED_MESSAGE = (
    "The server stopped while this reply was being written. Send the message again to retry."
)


@dataclass(frozen=True)
class Owner:
    """The user a command is for, as the hub needs them."""

    user_id: str
    container_id: str


class SessionHub:
    def __init__(
        self,
        settings: Settings,
        store: Store,
        client: anthropic.AsyncAnthropic | None,
        *,
        sandbox: str,
    ) -> None:
        self._settings = settings
        self._store = store
        self._client = client
        # Set once the model client exists: the app loads the SDK after the server listens
        # (see app._load_model_client), and a run started before then waits for it.
        self._client_ready = asyncio.Event()
        if client is not None:
            self._client_ready.set()
        self._sandbox = sandbox
        self._live: dict[str, LiveSession] = {}
        # Runs end one per turn of the loop when many end at once (turns.TurnGate).
        self._turns = TurnGate()
        # Runs going per user, counted as they start and end (the quota check reads it before
        # every run; counting over every loaded session made a burst of sends quadratic).
        self._running: dict[str, int] = {}
        self._sockets: dict[str, set[Subscriber]] = {}
        self._subscriptions: dict[Subscriber, set[str]] = {}
        self._toolboxes: dict[str, Toolbox] = {}
        # Called with (user id, runs going for that user) before a run starts; it raises a
        # PortagentError (quota_exceeded) to refuse. Set by the app (service.admin).
        self.admit: Callable[[str, int], None] | None = None
        self._config = AgentConfig(
            model=settings.llm_provider_model,
            max_tokens=settings.agent_max_tokens,
            max_turns=settings.agent_max_turns,
            thinking_budget=settings.agent_thinking_budget,
            context_tokens=settings.agent_context_tokens,
        )

    # ---- sockets -------------------------------------------------------------------------

    def connect(self, socket: Subscriber) -> None:
        self._sockets.setdefault(socket.user_id, set()).add(socket)

    def disconnect(self, socket: Subscriber) -> None:
        sockets = self._sockets.get(socket.user_id)
        if sockets is not None:
            sockets.discard(socket)
            if not sockets:
                del self._sockets[socket.user_id]
        for session_id in self._subscriptions.pop(socket, ()):
            live = self._live.get(session_id)
            if live is not None:
                live.subscribers.discard(socket)

    def _subscribe(self, live: LiveSession, socket: Subscriber) -> None:
        live.subscribers.add(socket)
        self._subscriptions.setdefault(socket, set()).add(live.id)

    def _unsubscribe(self, live: LiveSession, socket: Subscriber) -> None:
        live.subscribers.discard(socket)
        subscribed = self._subscriptions.get(socket)
        if subscribed is not None:
            subscribed.discard(live.id)

    def sockets_of(self, user_id: str) -> set[Subscriber]:
        return set(self._sockets.get(user_id, ()))

    @property
    def socket_count(self) -> int:
        return sum(len(sockets) for sockets in self._sockets.values())

    def _notify(self, user_id: str, name: str, session: dict[str, Any]) -> None:
        frame = orjson.dumps({"type": "notice", "name": name, "session": session}).decode()
        for socket in self._sockets.get(user_id, ()):
            socket.deliver(frame)

    # ---- sessions ------------------------------------------------------------------------

    def _live_session(self, record: SessionRecord) -> LiveSession:
        live = self._live.get(record.id)
        if live is None:
            live = LiveSession(
                id=record.id,
                owner_id=record.owner_id,
                seq=record.last_seq,
                reserved_seq=record.last_seq,
                reserve=lambda session_id, seq: session_store.reserve_seq(
                    self._store, session_id, seq
                ),
                loaded_at_seq=record.last_seq,
            )
            self._live[record.id] = live
        live.last_active = time.monotonic()
        return live

    def _history(self, live: LiveSession) -> SessionHistory:
        """The live session's stored messages and runs: read from the database the first time
        only, then kept in step with what the hub commits (send_message, _Reporter.save,
        _finish)."""
        if live.history is None:
            live.history = SessionHistory(
                session_store.list_messages(self._store, live.id),
                session_store.list_runs(self._store, live.id),
                thinking=self._config.thinking_budget > 0,
            )
        return live.history

    def _owned(self, owner: Owner, session_id: Any) -> SessionRecord:
        if not isinstance(session_id, str) or not session_id:
            raise BadRequestError("sessionId must be a non-empty string")
        record = session_store.get_session(self._store, owner.user_id, session_id)
        if record is None:
            raise NotFoundError("No such session")
        return record

    def _loaded_session(self, owner: Owner, session_id: Any) -> LiveSession:
        """The owner's session, read from the database only when it is not loaded in memory.

        The read is most of what ``message.send`` costs before the model is called, and a
        loaded session's id and owner never change: a deletion through the hub unloads it, and
        one by another process is caught when the run is committed (``start_run``)."""
        live = self._live.get(session_id) if isinstance(session_id, str) else None
        if live is None or live.owner_id != owner.user_id:
            return self._live_session(self._owned(owner, session_id))
        live.last_active = time.monotonic()
        return live

    def _view(self, record: SessionRecord) -> dict[str, Any]:
        live = self._live.get(record.id)
        return session_view(record, running=live is not None and live.running)

    def create_session(
        self, owner: Owner, title: str | None, system_prompt: str | None
    ) -> dict[str, Any]:
        if title is not None and len(title) > MAX_TITLE_CHARS:
            raise TooLarge(f"title is longer than {MAX_TITLE_CHARS} characters")
        if system_prompt is not None and len(system_prompt) > MAX_SYSTEM_PROMPT_CHARS:
            raise TooLarge(f"systemPrompt is longer than {MAX_SYSTEM_PROMPT_CHARS} characters")
        record = session_store.create_session(
            self._store,
            owner_id=owner.user_id,
            container_id=owner.container_id,
            title=title.strip() if title and title.strip() else None,
            system_prompt=system_prompt or None,
        )
        live = self._live_session(record)
        live.reserved_seq = session_store.SEQ_RESERVATION
        # A new session has no messages or runs: its history needs no read.
        live.history = SessionHistory([], [], thinking=self._config.thinking_budget > 0)
        view = self._view(record)
        self._notify(owner.user_id, "session.created", view)
        return view

    def list_sessions(self, owner: Owner) -> list[dict[str, Any]]:
        return [
            self._view(record) for record in session_store.list_sessions(self._store, owner.user_id)
        ]

    def get_session(self, owner: Owner, session_id: Any) -> dict[str, Any]:
        record = self._owned(owner, session_id)
        live = self._live_session(record)
        history = self._history(live)
        data: dict[str, Any] = {
            "session": self._view(record),
            "messages": list(history.views),
            "runs": history.run_views(),
            "lastSeq": live.seq,
        }
        if live.run is not None:
            data["runStartSeq"] = live.run.start_seq
        return data

    def rename_session(self, owner: Owner, session_id: Any, title: Any) -> dict[str, Any]:
        if not isinstance(title, str) or not title.strip():
            raise BadRequestError("title must be a non-empty string")
        if len(title) > MAX_TITLE_CHARS:
            raise TooLarge(f"title is longer than {MAX_TITLE_CHARS} characters")
        self._owned(owner, session_id)
        record = session_store.rename_session(self._store, owner.user_id, session_id, title.strip())
        if record is None:
            raise NotFoundError("No such session")
        view = self._view(record)
        self._notify(owner.user_id, "session.updated", view)
        return view

    def delete_session(self, owner: Owner, session_id: Any) -> None:
        record = self._owned(owner, session_id)
        live = self._live.pop(record.id, None)
        if live is not None:
            live.deleted = True
            live.history = None
            if live.run is not None and live.run.task is not None:
                live.run.cancel_reason = "deleted"
                live.run.task.cancel()
            for socket in tuple(live.subscribers):
                self._unsubscribe(live, socket)
        toolbox = self._toolboxes.pop(record.id, None)
        if toolbox is not None:
            asyncio.get_running_loop().create_task(toolbox.close())
        session_store.delete_session(self._store, owner.user_id, record.id)
        self._notify(owner.user_id, "session.deleted", session_view(record, running=False))

    # ---- subscriptions -------------------------------------------------------------------

    def subscribe(
        self, socket: Subscriber, owner: Owner, session_id: Any, after_seq: Any
    ) -> tuple[dict[str, Any], list[str]]:
        """Subscribe and return (result data, frames to replay after the result)."""
        if after_seq is not None and (
            isinstance(after_seq, bool) or not isinstance(after_seq, int) or after_seq < 0
        ):
            raise BadRequestError("afterSeq must be a non-negative integer")
        record = self._owned(owner, session_id)
        live = self._live_session(record)
        self._subscribe(live, socket)
        data: dict[str, Any] = {"lastSeq": live.seq, "running": live.running}
        replay: list[str] = []
        if after_seq is not None:
            frames = live.replay_after(after_seq)
            if frames is None:
                data["replay"] = "unavailable"
            else:
                replay = frames
        return data, replay

    def unsubscribe(self, socket: Subscriber, owner: Owner, session_id: Any) -> None:
        record = self._owned(owner, session_id)
        live = self._live.get(record.id)
        if live is not None:
            self._unsubscribe(live, socket)

    # ---- runs ----------------------------------------------------------------------------

    def send_message(
        self, socket: Subscriber, owner: Owner, session_id: Any, content: Any
    ) -> dict[str, Any]:
        if not isinstance(content, str):
            raise BadRequestError("content must be a string")
        if len(content) > MAX_CONTENT_CHARS:
            raise TooLarge(f"content is longer than {MAX_CONTENT_CHARS:,} characters")
        if not content.strip():
            raise BadRequestError("content must not be empty")
        live = self._loaded_session(owner, session_id)
        if live.run is not None:
            raise Busy("A reply is still being written in this session; wait or cancel it")
        if self.admit is not None:
            self.admit(owner.user_id, self.running_runs(owner.user_id))
        history = self._history(live)
        run_id = new_id("run")
        user_message = MessageRecord(
            id=new_id("msg"),
            run_id=run_id,
            role="user",
            content=content,
            blocks=[{"type": "text", "text": content}],
            created_at=now_ms(),
        )
        started = session_store.start_run(self._store, live.id, user_message)
        if started is None:  # deleted by another process (the CLI) since it was read
            raise NotFoundError("No such session")
        record = started
        history.start_run(_started_run(record.id, user_message))
        history.append(user_message)
        self._subscribe(live, socket)
        live.run = LiveRun(id=run_id, start_seq=live.seq + 1)
        agent_run = AgentRun(
            self._client,
            self._config,
            system_prompt=self._system_prompt(record, owner),
            toolbox=self._toolbox(record, owner),
            history=history.model,
            user_message=user_message,
            thread_id=record.id,
            reporter=_Reporter(self._store, live, self._turns),
        )
        live.run.task = asyncio.get_running_loop().create_task(
            self._drive(live, agent_run), name=f"run {run_id}"
        )
        self._running[live.owner_id] = self._running.get(live.owner_id, 0) + 1  # _drive ends it
        self._notify(owner.user_id, "session.updated", self._view(record))
        return {"runId": run_id, "messageId": user_message.id}

    def cancel(self, owner: Owner, session_id: Any) -> None:
        record = self._owned(owner, session_id)
        live = self._live.get(record.id)
        if live is not None and live.run is not None and live.run.task is not None:
            live.run.cancel_reason = live.run.cancel_reason or "user"
            live.run.task.cancel()

    def running_runs(self, user_id: str) -> int:
        return self._running.get(user_id, 0)

    def stop_user_runs(self, user_id: str) -> int:
        """Cancel every run of a user (their account was deactivated); how many."""
        stopped = 0
        for live in self._live.values():
            if live.owner_id == user_id and live.run is not None and live.run.task is not None:
                live.run.cancel_reason = live.run.cancel_reason or "deactivated"
                live.run.task.cancel()
                stopped += 1
        return stopped

    def _system_prompt(self, record: SessionRecord, owner: Owner) -> str:
        prompt = record.system_prompt or self._settings.agent_system_prompt
        if not self._settings.agent_tools:
            return prompt
        root = self._toolbox(record, owner).model_root
        return (
            f"{prompt}\n\nYou can run shell commands and edit files with your tools. Your "
            f"workspace is {root}: relative paths start there, and files you create there are "
            "kept between conversations of this user. Paths outside it are not available."
        )

    def _toolbox(self, record: SessionRecord, owner: Owner) -> Toolbox | None:
        if not self._settings.agent_tools:
            return None
        toolbox = self._toolboxes.get(record.id)
        if toolbox is None:
            workspace = self._workspace(owner)
            toolbox = Toolbox(
                workspace,
                enabled=set(self._settings.agent_tools),
                sandbox=self._sandbox,
                network=self._settings.agent_sandbox_network,
                bash_timeout=self._settings.agent_bash_timeout,
                tool_format=self._settings.agent_tool_format,
            )
            self._toolboxes[record.id] = toolbox
        return toolbox

    def _workspace(self, owner: Owner) -> Path:
        workspace = self._settings.containers_dir / owner.container_id / "workspace"
        workspace.mkdir(parents=True, exist_ok=True)
        return workspace

    def attach_model_client(self, client: anthropic.AsyncAnthropic) -> None:
        self._client = client
        self._client_ready.set()

    @property
    def model_ready(self) -> bool:
        return self._client_ready.is_set()

    async def _drive(self, live: LiveSession, agent_run: AgentRun) -> None:
        try:
            if agent_run.client is None:
                await self._client_ready.wait()
                agent_run.client = self._client
            outcome = await agent_run.execute()
        except asyncio.CancelledError:
            # Cancelled before the run's first step: announce it so the stream stays whole.
            agent_run.begin()
            outcome = RunOutcome(status="cancelled", usage=agent_run.usage)
        except Exception:
            log.exception("run %s crashed", agent_run.run_id)
            agent_run.begin()
            outcome = RunOutcome(
                status="failed",
                usage=agent_run.usage,
                error_code="internal",
                error_message="Something went wrong on the server; the error is in its log.",
            )
        try:
            self._finish(live, agent_run, outcome)
        finally:
            self._count_run_ended(live.owner_id)

    def _count_run_ended(self, user_id: str) -> None:
        left = self._running.get(user_id, 0) - 1
        if left > 0:
            self._running[user_id] = left
        else:
            self._running.pop(user_id, None)

    def _finish(self, live: LiveSession, agent_run: AgentRun, outcome: RunOutcome) -> None:
        reason = live.run.cancel_reason if live.run is not None else None
        status, code, message = outcome.status, outcome.error_code, outcome.error_message
        if status == "cancelled" and reason == "shutdown":
            status, code, message = "interrupted", "interrupted", INTERRUPTED_MESSAGE
        finished = session_store.finish_run(
            self._store,
            agent_run.run_id,
            status=status,
            error_code=code,
            error_message=message,
            usage=outcome.usage.as_dict(),
        )
        record = None
        if finished is not None:
            record, run = finished
            if live.history is not None:
                live.history.finish_run(run)
        usage = outcome.usage.token_usage(self._config.model)
        reporter = agent_run.reporter  # the run's own: this session's numbering and sockets
        if status in ("completed", "cancelled"):
            reporter.emit(
                events.run_finished(
                    live.id, agent_run.run_id, usage, cancelled=status == "cancelled"
                )
            )
        else:
            reporter.emit(events.run_error(message or "The run failed.", code or "internal", usage))
        live.run = None
        live.last_active = time.monotonic()
        if record is not None and not live.deleted:
            self._notify(live.owner_id, "session.updated", self._view(record))

    # ---- lifecycle -----------------------------------------------------------------------

    def recover_interrupted_runs(self) -> int:
        """After a crash: mark runs that were going as interrupted and close their streams."""
        pairs = session_store.interrupt_unfinished_runs(self._store, INTERRUPTED_MESSAGE)
        for session_id, _run_id in pairs:
            record = session_store.get_session_any_owner(self._store, session_id)
            if record is None:
                continue
            live = self._live_session(record)
            _Reporter(self._store, live, self._turns).emit(
                events.run_error(INTERRUPTED_MESSAGE, "interrupted")
            )
        if pairs:
            log.warning("marked %d run(s) interrupted by the last stop", len(pairs))
        return len(pairs)

    def evict_idle(self) -> None:
        cutoff = time.monotonic() - IDLE_EVICT_SECONDS
        for session_id, live in list(self._live.items()):
            if live.run is None and not live.subscribers and live.last_active < cutoff:
                session_store.store_exact_seq(self._store, session_id, live.seq)
                del self._live[session_id]
                toolbox = self._toolboxes.pop(session_id, None)
                if toolbox is not None:
                    asyncio.get_running_loop().create_task(toolbox.close())

    async def shutdown(self) -> None:
        """Stop every run (marked interrupted), store exact seqs, close the shells."""
        tasks = []
        for live in self._live.values():
            if live.run is not None and live.run.task is not None:
                live.run.cancel_reason = "shutdown"
                live.run.task.cancel()
                tasks.append(live.run.task)
        if tasks:
            await asyncio.wait(tasks, timeout=SHUTDOWN_GRACE_SECONDS)
        for live in self._live.values():
            if not live.deleted:
                session_store.store_exact_seq(self._store, live.id, live.seq)
        toolboxes = list(self._toolboxes.values())
        self._toolboxes.clear()
        await asyncio.gather(*(toolbox.close() for toolbox in toolboxes), return_exceptions=True)


def _started_run(session_id: str, user_message: MessageRecord) -> RunRecord:
    """A run as ``start_run`` stores it (it starts at its user message's ``created_at``)."""
    return RunRecord(
        id=user_message.run_id,
        session_id=session_id,
        status="running",
        error_code=None,
        error_message=None,
        usage=None,
        started_at=user_message.created_at,
        ended_at=None,
        message_ids=[],
    )


class _Reporter:
    """Where a run's events and messages go: numbered, logged for replay, fanned out, saved."""

    def __init__(self, store: Store, live: LiveSession, turns: TurnGate) -> None:
        self._store = store
        self._live = live
        self._turns = turns

    async def wait_turn(self) -> None:
        await self._turns.wait()

    def emit(self, event: events.Event) -> None:
        live = self._live
        if live.deleted:
            return
        seq = live.next_seq()
        frame = orjson.dumps(
            {"type": "event", "sessionId": live.id, "seq": seq, "event": event}
        ).decode()
        live.log.append(seq, frame)
        for socket in tuple(live.subscribers):
            socket.deliver(frame)

    def save(self, message: MessageRecord) -> None:
        live = self._live
        if live.deleted:
            return
        if not message.created_at:
            message = replace(message, created_at=now_ms())
        # The cache takes exactly what was committed (not a message of a session deleted
        # meanwhile); before it is loaded, the load will read this message from the database.
        if session_store.add_message(self._store, live.id, message) and live.history is not None:
            live.history.append(message)
