"""A lean /ws client for measuring: frames are stamped on arrival and parsed as little as possible.

The tests' client validates every event against the AG-UI models; that costs more than the
server spends on a frame, so the bench keeps its own. A run's frames are kept as (arrival time,
raw text) and parsed once the run is over, so that the client's JSON work does not delay the
stamp of the next frame.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
import websockets

FRAME_TIMEOUT = 60.0
# Matched on the raw text, whatever the server's JSON spacing: an event frame, and a terminal event.
EVENT_FRAME = re.compile(r'\{"type":\s*"event"')
TERMINAL = re.compile(r'"type":\s*"RUN_(?:FINISHED|ERROR)"')
RESULT_FRAME = re.compile(r'\{"type":\s*"result"')


class BenchError(RuntimeError):
    """The server answered something a benchmark cannot go on with."""


@dataclass
class RunTrace:
    """What a client saw of one run: when it sent, and each assistant text delta's arrival."""

    sent_at: float
    delta_times: list[float] = field(default_factory=list)
    deltas: list[str] = field(default_factory=list)
    finished_at: float = 0.0
    terminal: str = ""
    seqs: list[int] = field(default_factory=list)

    @property
    def first_token(self) -> float:
        """Seconds from ``message.send`` to the first assistant text delta."""
        return self.delta_times[0] - self.sent_at

    def in_order(self, expected: Sequence[str]) -> bool:
        """The reply is whole, in order, and its events' seqs step by exactly one."""
        steps = all(b == a + 1 for a, b in zip(self.seqs, self.seqs[1:], strict=False))
        return self.terminal == "RUN_FINISHED" and list(self.deltas) == list(expected) and steps


class BenchClient:
    """One authenticated socket. Commands are sent one at a time and answered in order."""

    def __init__(self, ws: websockets.ClientConnection) -> None:
        self.ws = ws
        self._ids = itertools.count(1)
        self.commands_sent = 0

    @classmethod
    async def connect(cls, ws_url: str, token: str, **options: Any) -> BenchClient:
        ws = await websockets.connect(
            f"{ws_url}?token={token}", open_timeout=30, max_size=None, **options
        )
        hello = json.loads(await asyncio.wait_for(ws.recv(), FRAME_TIMEOUT))
        if hello.get("type") != "hello":
            raise BenchError(f"expected hello, got {hello!r}")
        return cls(ws)

    async def close(self) -> None:
        await self.ws.close()

    async def _send(self, kind: str, fields: dict[str, Any]) -> str:
        command_id = f"b{next(self._ids)}"
        self.commands_sent += 1
        await self.ws.send(json.dumps({"type": kind, "id": command_id, **fields}))
        return command_id

    async def call(self, kind: str, **fields: Any) -> dict[str, Any]:
        """Send a command and return its data; frames that come before the result are skipped."""
        command_id = await self._send(kind, fields)
        while True:
            frame = json.loads(await asyncio.wait_for(self.ws.recv(), FRAME_TIMEOUT))
            if frame.get("type") == "result" and frame.get("id") == command_id:
                if not frame["ok"]:
                    raise BenchError(f"{kind} failed: {frame['error']}")
                return frame["data"]

    async def timed_call(self, kind: str, **fields: Any) -> tuple[float, dict[str, Any]]:
        """Seconds from sending a command to its result arriving, and the result's data."""
        started = time.perf_counter()
        data = await self.call(kind, **fields)
        return time.perf_counter() - started, data

    async def run(self, session_id: str, content: str, within: float = FRAME_TIMEOUT) -> RunTrace:
        """Send a message and follow its run to the end.

        The receive loop is as lean as it can be, since at tens of thousands of frames a second
        the client's own cost per frame limits what it can measure: one deadline for the whole
        run (``asyncio.timeout``, not a ``wait_for`` per frame), frames stamped and kept raw.
        """
        sent_at = time.perf_counter()
        command_id = await self._send("message.send", {"sessionId": session_id, "content": content})
        raw: list[tuple[float, str]] = []
        keep = raw.append
        recv = self.ws.recv
        clock = time.perf_counter
        try:
            async with asyncio.timeout(within):
                while True:
                    text = await recv()
                    keep((clock(), text))
                    if EVENT_FRAME.match(text) and TERMINAL.search(text):
                        break
                    if RESULT_FRAME.match(text):
                        result = json.loads(text)
                        if result["id"] == command_id and not result["ok"]:
                            raise BenchError(f"message.send failed: {result['error']}")
        except TimeoutError:
            raise BenchError(f"run in {session_id} did not end within {within:.0f} s") from None
        return _trace(sent_at, [(stamp, _text(frame)) for stamp, frame in raw], session_id)


def _text(frame: str | bytes) -> str:
    return frame.decode() if isinstance(frame, bytes) else frame


def _trace(sent_at: float, raw: list[tuple[float, str]], session_id: str) -> RunTrace:
    trace = RunTrace(sent_at=sent_at)
    assistant: set[str] = set()
    for stamp, text in raw:
        frame = json.loads(text)
        if frame.get("type") != "event" or frame.get("sessionId") != session_id:
            continue
        event = frame["event"]
        kind = event["type"]
        if kind == "RUN_STARTED":
            trace.seqs.clear()
        trace.seqs.append(frame["seq"])
        if kind == "TEXT_MESSAGE_START" and event.get("role") == "assistant":
            assistant.add(event["messageId"])
        elif kind == "TEXT_MESSAGE_CONTENT" and event["messageId"] in assistant:
            trace.delta_times.append(stamp)
            trace.deltas.append(event["delta"])
        elif kind in ("RUN_FINISHED", "RUN_ERROR"):
            trace.finished_at = stamp
            trace.terminal = kind
    return trace


class Accounts:
    """Registers and signs in users over the HTTP API, a bounded number at a time."""

    def __init__(self, base: str, concurrency: int = 8) -> None:
        self.base = base
        self._limit = asyncio.Semaphore(concurrency)
        self._http = httpx.AsyncClient(base_url=base, timeout=120)

    async def __aenter__(self) -> Accounts:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self._http.aclose()

    async def _post(self, path: str, body: dict[str, Any], expected: int) -> dict[str, Any]:
        async with self._limit:
            response = await self._http.post(path, json=body)
        if response.status_code != expected:
            raise BenchError(f"POST {path}: {response.status_code} {response.text[:200]}")
        return response.json()

    async def register(self, username: str, password: str = "bench-password") -> str:
        body = {"username": username, "password": password}
        return (await self._post("/api/auth/register", body, 201))["token"]

    async def register_many(self, prefix: str, count: int) -> list[str]:
        names = [f"{prefix}{index}" for index in range(count)]
        return list(await asyncio.gather(*(self.register(name) for name in names)))

    async def login(self, username: str, password: str = "bench-password") -> float:
        """Seconds one login took; raises unless it succeeded."""
        started = time.perf_counter()
        body = {"usernameOrEmail": username, "password": password}
        async with self._limit:
            response = await self._http.post("/api/auth/login", json=body)
        if response.status_code != 200:
            raise BenchError(f"login {username}: {response.status_code} {response.text[:200]}")
        return time.perf_counter() - started
