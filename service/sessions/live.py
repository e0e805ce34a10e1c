"""The in-memory side of a session: its seq counter, recent events, subscribers and run."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from ..agent.history import ModelHistory
from ..storage.sessions import MessageRecord, RunRecord
from .public import message_view, run_view

MAX_LOG_EVENTS = 50_000
MAX_LOG_BYTES = 8 * 1024 * 1024


class Subscriber(Protocol):
    """A socket, as the hub sees it: who it belongs to and a non-blocking way to send."""

    user_id: str

    def deliver(self, frame: str) -> None: ...


@dataclass
class LiveRun:
    id: str
    task: asyncio.Task | None = None
    cancel_reason: str | None = None  # user | deleted | shutdown
    start_seq: int = 0


class EventLog:
    """The frames of recent events, for resuming: bounded by count and by bytes.

    A session's seqs are consecutive, so the log keeps the frames (strings) and the seq of the
    first: no per-event tuple, nothing for the cyclic garbage collector to trace as the log
    grows (a relayed reply adds thousands of entries).
    """

    def __init__(self, max_events: int = MAX_LOG_EVENTS, max_bytes: int = MAX_LOG_BYTES) -> None:
        self._frames: deque[str] = deque()
        self._bytes = 0
        self._max_events = max_events
        self._max_bytes = max_bytes
        self.first_kept_seq: int | None = None

    def append(self, seq: int, frame: str) -> None:
        if self.first_kept_seq is None or seq != self.first_kept_seq + len(self._frames):
            self._frames.clear()  # not the next seq (never happens): start over from this one
            self._bytes = 0
            self.first_kept_seq = seq
        self._frames.append(frame)
        self._bytes += len(frame)
        while len(self._frames) > self._max_events or (
            self._bytes > self._max_bytes and len(self._frames) > 1
        ):
            self._bytes -= len(self._frames.popleft())
            self.first_kept_seq += 1

    def after(self, seq: int) -> list[str] | None:
        """Every frame after ``seq``, or None when some of them are no longer kept."""
        if not self._frames or self.first_kept_seq is None:
            return []
        if seq < self.first_kept_seq - 1:
            return None
        skip = seq - self.first_kept_seq + 1
        return list(itertools.islice(self._frames, skip, None)) if skip > 0 else list(self._frames)


class SessionHistory:
    """A live session's stored messages and runs, held in memory once loaded and kept in
    step as each is committed, with what each use needs worked out once per message: the
    model's view (:class:`ModelHistory`) and the client's (``message_view``, ``run_view``).

    The database stays the source of truth: the hub loads this with one ``list_messages`` and
    one ``list_runs`` and applies exactly what it commits afterwards, so it always equals what
    a fresh load would give (tests/ws/test_history_cache.py checks that against a restarted
    server). Views handed out are never changed afterwards: an update replaces them.
    """

    def __init__(
        self, messages: list[MessageRecord], runs: list[RunRecord], *, thinking: bool
    ) -> None:
        self.records: list[MessageRecord] = []
        self.views: list[dict[str, Any]] = []
        self.model = ModelHistory(thinking=thinking)
        self._runs: dict[str, dict[str, Any]] = {}
        for run in sorted(runs, key=lambda run: run.started_at):
            self._runs[run.id] = run_view(run)
        for message in messages:
            self._append(message)

    def __len__(self) -> int:
        return len(self.records)

    def _append(self, message: MessageRecord) -> None:
        self.records.append(message)
        self.views.append(message_view(message))
        self.model.append(message)

    def append(self, message: MessageRecord) -> None:
        """A message just committed; its run's view lists it."""
        self._append(message)
        run = self._runs.get(message.run_id)
        if run is not None:
            self._runs[message.run_id] = {**run, "messageIds": [*run["messageIds"], message.id]}

    def start_run(self, run: RunRecord) -> None:
        self._runs[run.id] = run_view(run)

    def finish_run(self, run: RunRecord) -> None:
        """A run's end as stored (its message ids are the ones already listed)."""
        known = self._runs.get(run.id)
        ids = known["messageIds"] if known is not None else run.message_ids
        self._runs[run.id] = run_view(replace(run, message_ids=ids))

    def run_views(self) -> list[dict[str, Any]]:
        return list(self._runs.values())


@dataclass
class LiveSession:
    id: str
    owner_id: str
    seq: int
    reserved_seq: int
    reserve: Callable[[str, int], int]
    log: EventLog = field(default_factory=EventLog)
    subscribers: set[Subscriber] = field(default_factory=set)
    run: LiveRun | None = None
    deleted: bool = False
    last_active: float = field(default_factory=time.monotonic)
    # The log starts empty for a session loaded from the database: nothing at or below this
    # seq can be replayed from memory.
    loaded_at_seq: int = 0
    # The stored messages, once something needed them (None until then).
    history: SessionHistory | None = None

    def next_seq(self) -> int:
        self.seq += 1
        if self.seq > self.reserved_seq:
            self.reserved_seq = self.reserve(self.id, self.seq)
        return self.seq

    def replay_after(self, seq: int) -> list[str] | None:
        if seq >= self.seq:
            return []
        if seq < self.loaded_at_seq:
            return None
        return self.log.after(seq)

    @property
    def running(self) -> bool:
        return self.run is not None
