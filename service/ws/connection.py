"""One authenticated socket: an outbox drained by a writer task, and command dispatch."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

import orjson
from sanic.server.websockets.impl import WebsocketImplProtocol

from ..auth.models import UserPublic
from ..errors import BadRequest, PortagentError, RateLimited
from ..sessions import Owner, SessionHub
from ..sessions.live import MAX_LOG_EVENTS
from .frames import can_batch, send_text_frames, write_now

log = logging.getLogger("portagent.ws")

PROTOCOL_VERSION = 1
# Room for a whole replay of a session's event log (sessions.live.MAX_LOG_EVENTS) and more.
MAX_PENDING_FRAMES = MAX_LOG_EVENTS + 10_000
WRITE_BATCH = 256
COMMAND_BURST = 60
COMMANDS_PER_SECOND = 20.0
CLOSE_SLOW_CONSUMER = 1013
CLOSE_UNAUTHORIZED = 4401


class CommandBudget:
    """A token bucket per socket: bursts are fine, floods get ``rate_limited``."""

    def __init__(self, burst: int = COMMAND_BURST, rate: float = COMMANDS_PER_SECOND) -> None:
        self._burst = burst
        self._rate = rate
        self._tokens = float(burst)
        self._stamp = time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self._tokens = min(self._burst, self._tokens + (now - self._stamp) * self._rate)
        self._stamp = now
        if self._tokens < 1:
            return False
        self._tokens -= 1
        return True


class Connection:
    """A socket as the hub sees it (a ``Subscriber``), plus what the command loop needs."""

    def __init__(
        self,
        ws: WebsocketImplProtocol,
        hub: SessionHub,
        user: UserPublic,
        *,
        token_id: str,
        token_expires_at: int,
    ) -> None:
        self.ws = ws
        self.hub = hub
        self.user = user
        self.user_id = user.userId
        self.owner = Owner(user_id=user.userId, container_id=user.containerId)
        self.token_id = token_id
        self.token_expires_at = token_expires_at
        self.budget = CommandBudget()
        self._outbox: asyncio.Queue[str] = asyncio.Queue(MAX_PENDING_FRAMES)
        self._pending: list[str] = []  # delivered this turn of the loop, flushed after it
        self._writing = False  # the writer task holds a batch
        self._closing = False
        self._direct_writes = can_batch(ws)  # Sanic's internals are there: frames.write_now

    def deliver(self, frame: str) -> None:
        """Send a frame without waiting.

        Frames delivered during one turn of the event loop go out together right after it, in
        one write straight to the socket when it can take them (``frames.write_now``), else
        through the outbox and the writer task. A client too slow to keep up, whose outbox
        fills, is disconnected (it can reconnect and resume from its last seq).
        """
        if self._closing:
            return
        if not self._pending and self._backlogged():
            self._enqueue(frame)
            return
        self._pending.append(frame)
        if len(self._pending) == 1:
            asyncio.get_running_loop().call_soon(self._flush)

    def _backlogged(self) -> bool:
        """The writer task holds frames: newer ones must queue behind them."""
        return self._writing or not self._outbox.empty()

    def _flush(self) -> None:
        frames, self._pending = self._pending, []
        if not frames or self._closing:
            return
        if self._direct_writes and not self._backlogged() and write_now(self.ws, frames):
            return
        for frame in frames:
            self._enqueue(frame)

    def _enqueue(self, frame: str) -> None:
        if self._closing:
            return
        try:
            self._outbox.put_nowait(frame)
        except asyncio.QueueFull:
            log.warning("closing a socket of user %s: it fell too far behind", self.user_id)
            self.close_soon(CLOSE_SLOW_CONSUMER, "too far behind; reconnect and resume")

    async def flushed(self) -> None:
        """Wait until every frame delivered so far has been handed to the socket."""
        self._flush()
        await self._outbox.join()

    def close_soon(self, code: int, reason: str) -> None:
        if self._closing:
            return
        self._closing = True
        asyncio.get_running_loop().create_task(self.ws.close(code, reason))

    def send_json(self, value: dict[str, Any]) -> None:
        self.deliver(orjson.dumps(value).decode())

    async def write_loop(self) -> None:
        """Send the outbox in order, everything queued at once in one write, waiting for the
        socket when it pushes back."""
        while True:
            batch = [await self._outbox.get()]
            self._writing = True
            while len(batch) < WRITE_BATCH and not self._outbox.empty():
                batch.append(self._outbox.get_nowait())
            try:
                await send_text_frames(self.ws, batch)
            finally:
                self._writing = False
                for _ in batch:
                    self._outbox.task_done()

    def result(self, command_id: Any, data: dict[str, Any]) -> None:
        self.send_json({"type": "result", "id": command_id, "ok": True, "data": data})

    def failure(self, command_id: Any, code: str, message: str) -> None:
        self.send_json(
            {
                "type": "result",
                "id": command_id,
                "ok": False,
                "error": {"code": code, "message": message},
            }
        )


def _parse(frame: str | bytes) -> Any:
    """orjson is strict where ``json`` is lenient: a lone surrogate escape ("\ud800", a str
    that SQLite could not store), NaN and nesting deeper than 1,024 are all invalid JSON."""
    return orjson.loads(frame)


def _optional_string(command: dict[str, Any], name: str) -> str | None:
    value = command.get(name)
    if value is not None and not isinstance(value, str):
        raise BadRequest(f"{name} must be a string")
    return value


Handler = Callable[[Connection, dict[str, Any]], dict[str, Any] | None]


def _session_create(conn: Connection, command: dict[str, Any]) -> dict[str, Any]:
    title = _optional_string(command, "title")
    system_prompt = _optional_string(command, "systemPrompt")
    return {"session": conn.hub.create_session(conn.owner, title, system_prompt)}


def _session_list(conn: Connection, command: dict[str, Any]) -> dict[str, Any]:
    return {"sessions": conn.hub.list_sessions(conn.owner)}


def _session_get(conn: Connection, command: dict[str, Any]) -> dict[str, Any]:
    return conn.hub.get_session(conn.owner, command.get("sessionId"))


def _session_rename(conn: Connection, command: dict[str, Any]) -> dict[str, Any]:
    session_id, title = command.get("sessionId"), command.get("title")
    return {"session": conn.hub.rename_session(conn.owner, session_id, title)}


def _session_delete(conn: Connection, command: dict[str, Any]) -> dict[str, Any]:
    conn.hub.delete_session(conn.owner, command.get("sessionId"))
    return {}


def _session_unsubscribe(conn: Connection, command: dict[str, Any]) -> dict[str, Any]:
    conn.hub.unsubscribe(conn, conn.owner, command.get("sessionId"))
    return {}


def _message_send(conn: Connection, command: dict[str, Any]) -> dict[str, Any]:
    return conn.hub.send_message(conn, conn.owner, command.get("sessionId"), command.get("content"))


def _run_cancel(conn: Connection, command: dict[str, Any]) -> dict[str, Any]:
    conn.hub.cancel(conn.owner, command.get("sessionId"))
    return {}


def _ping(conn: Connection, command: dict[str, Any]) -> dict[str, Any]:
    return {}


HANDLERS: dict[str, Handler] = {
    "session.create": _session_create,
    "session.list": _session_list,
    "session.get": _session_get,
    "session.rename": _session_rename,
    "session.delete": _session_delete,
    "session.unsubscribe": _session_unsubscribe,
    "message.send": _message_send,
    "run.cancel": _run_cancel,
    "ping": _ping,
}


def handle_frame(conn: Connection, frame: str | bytes) -> None:
    """Answer one frame exactly once (``session.subscribe`` also queues its replay after)."""
    try:
        command = _parse(frame)
    except (ValueError, RecursionError, UnicodeDecodeError):
        conn.failure(None, "bad_request", "The frame is not valid JSON")
        return
    if not isinstance(command, dict):
        conn.failure(None, "bad_request", "A command must be a JSON object")
        return
    command_id = command.get("id")
    if not isinstance(command_id, str):
        conn.failure(None, "bad_request", 'Every command needs an "id" string')
        return
    kind = command.get("type")
    try:
        if not conn.budget.take():
            raise RateLimited(1)
        if kind == "session.subscribe":
            data, replay = conn.hub.subscribe(
                conn, conn.owner, command.get("sessionId"), command.get("afterSeq")
            )
            conn.result(command_id, data)
            for replayed in replay:
                conn.deliver(replayed)
            return
        handler = HANDLERS.get(kind) if isinstance(kind, str) else None
        if handler is None:
            raise BadRequest(
                f"Unknown command {kind!r}" if isinstance(kind, str) else "type must be a string"
            )
        conn.result(command_id, handler(conn, command) or {})
    except RateLimited:
        conn.failure(command_id, "rate_limited", "Too many commands; slow down and try again")
    except PortagentError as error:
        conn.failure(command_id, error.code, error.message)
    except Exception:
        log.exception("command %s failed for user %s", kind, conn.user_id)
        conn.failure(command_id, "internal", "Something went wrong on the server")
