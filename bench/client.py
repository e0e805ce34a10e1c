"""A lean /ws client for measuring: frames are stamped on arrival and parsed as little as possible.

The tests' client validates every event against the AG-UI models; that costs more than the
server spends on a frame, so the bench keeps its own. It speaks WebSocket (RFC 6455) itself on a
plain ``asyncio.Protocol``: a general-purpose client's per-frame machinery (a frame parser in
Python, a queue, a ``recv()`` coroutine per frame) cost about as much CPU as the server spends on
the same frame, on the machine the server is measured on. Here each read is stamped once, its
whole messages go to a plain list, and the waiting coroutine wakes only when a message it waits
for may have arrived. A run's messages are kept as (arrival time, raw text) and parsed once the
run is over, so that the client's JSON work does not delay the stamp of the next frame.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import itertools
import json
import os
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, cast
from urllib.parse import urlsplit

import httpx

FRAME_TIMEOUT = 60.0
CONNECT_TIMEOUT = 30.0
CLOSE_TIMEOUT = 2.0
# The server pings every 20 s and closes a socket that has not answered for 20 s; we answer its
# pings at once and ping it as often ourselves, as a browser or the websockets client would.
PING_INTERVAL = 20.0
WS_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"  # RFC 6455 section 1.3
MAX_HEAD = 16384  # bytes of an HTTP answer's head before we give up on it

# Opcodes (RFC 6455 section 5.2).
CONTINUATION, TEXT, BINARY, CLOSE, PING, PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA
DATA_OPCODES = (TEXT, BINARY)
FIN = 0x80

Message = str | bytes


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


def client_frame(opcode: int, payload: bytes) -> bytes:
    """One whole frame as a client must send it: FIN set, payload masked (RFC 6455 5.3)."""
    length = len(payload)
    if length < 126:
        head = bytes((FIN | opcode, 0x80 | length))
    elif length < 65536:
        head = bytes((FIN | opcode, 0x80 | 126)) + length.to_bytes(2, "big")
    else:
        head = bytes((FIN | opcode, 0x80 | 127)) + length.to_bytes(8, "big")
    # Masking only keeps proxies' caches from being poisoned; it needs no cryptographic source.
    mask = random.randbytes(4)
    if not length:
        return head + mask
    key = (mask * (length // 4 + 1))[:length]
    masked = int.from_bytes(payload, "big") ^ int.from_bytes(key, "big")
    return head + mask + masked.to_bytes(length, "big")


def accept_key(key: str) -> str:
    """The Sec-WebSocket-Accept a server must answer to ``key``."""
    return base64.b64encode(hashlib.sha1(key.encode() + WS_GUID).digest()).decode()


class FrameReader(asyncio.Protocol):
    """The socket's protocol: the opening handshake, then server frames into ``inbox``.

    ``inbox`` holds every whole message as (arrival time, text or bytes), in order; the client
    takes from its front. While a command waits, ``track`` names markers: the index of each
    message that holds one (or is binary) goes to a list of candidates, and the waiter is woken.
    The marker test is a cheap superset of what the waiter wants; it checks each candidate
    exactly, and never looks at the other messages.
    """

    def __init__(self, host: str, target: str) -> None:
        self.key = base64.b64encode(os.urandom(16)).decode()
        self.request = (
            f"GET {target} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {self.key}\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
        self.inbox: list[tuple[float, Message]] = []
        self.failure: BenchError | None = None
        self.transport: asyncio.Transport | None = None
        loop = asyncio.get_running_loop()
        self.opened: asyncio.Future[None] = loop.create_future()
        self.closed: asyncio.Future[None] = loop.create_future()
        self._buffer = bytearray()
        self._upgraded = False
        self._refused: tuple[int, int] | None = None  # (status, body bytes wanted)
        self._fragments: list[bytes] = []
        self._fragment_opcode = 0
        self._close_sent = False
        self._waiter: asyncio.Future[None] | None = None
        self._markers: tuple[str, ...] = ()
        self._hits: list[int] = []
        self._pinger: asyncio.TimerHandle | None = None

    # -- asyncio.Protocol ------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses, but have its methods.
        self.transport = cast(asyncio.Transport, transport)
        self.transport.write(self.request)

    def data_received(self, data: bytes) -> None:
        stamp = time.perf_counter()  # every frame completed by this read arrived now
        self._buffer += data
        if not self._upgraded:
            self._read_head()
            if not self._upgraded:
                return
        try:
            self._read_frames(stamp)
        except BenchError as error:
            self._fail(error)
            if self.transport is not None:
                self.transport.abort()

    def eof_received(self) -> bool | None:
        if self._refused is not None:
            self._refuse()
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        if self._pinger is not None:
            self._pinger.cancel()
        if self._refused is not None:
            self._refuse()
        cause = f"connection lost: {exc}" if exc else "the server closed the connection"
        self._fail(BenchError(cause))
        if not self.opened.done():
            self.opened.set_exception(BenchError(f"handshake failed, {cause}"))
        if not self.closed.done():
            self.closed.set_result(None)

    # -- the opening handshake -------------------------------------------------------------

    def _read_head(self) -> None:
        if self._refused is not None:
            self._refuse_when_read()
            return
        end = self._buffer.find(b"\r\n\r\n")
        if end < 0:
            if len(self._buffer) > MAX_HEAD:
                self._fail_opening(BenchError("handshake: no end to the answer's head"))
            return
        lines = bytes(self._buffer[:end]).decode("latin-1").split("\r\n")
        del self._buffer[: end + 4]  # what follows the head is frames (or the refusal's body)
        parts = lines[0].split(" ", 2)
        status = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        if status != 101:
            wanted = headers.get("content-length", "0")
            self._refused = (status, min(int(wanted) if wanted.isdigit() else 0, 200))
            self._refuse_when_read()
            return
        if headers.get("sec-websocket-accept") != accept_key(self.key):
            self._fail_opening(BenchError("handshake: wrong Sec-WebSocket-Accept"))
            return
        self._upgraded = True
        self._schedule_ping()
        self.opened.set_result(None)

    def _refuse_when_read(self) -> None:
        assert self._refused is not None
        if len(self._buffer) >= self._refused[1]:
            self._refuse()

    def _refuse(self) -> None:
        assert self._refused is not None
        status, _ = self._refused
        self._refused = None
        body = bytes(self._buffer[:200])
        self._fail_opening(BenchError(f"handshake refused: HTTP {status} {body!r}"))

    def _fail_opening(self, error: BenchError) -> None:
        if not self.opened.done():
            self.opened.set_exception(error)
        self._fail(error)
        if self.transport is not None:
            self.transport.close()

    # -- frames ----------------------------------------------------------------------------

    def _read_frames(self, stamp: float) -> None:
        buffer = self._buffer
        size = len(buffer)
        at = 0
        inbox = self.inbox
        keep = inbox.append
        markers = self._markers
        hits = self._hits
        found = len(hits)
        while size - at >= 2:
            first, second = buffer[at], buffer[at + 1]
            if second & 0x80:
                raise BenchError("protocol error: the server masked a frame")
            length = second & 0x7F
            start = at + 2
            if length == 126:
                if size - at < 4:
                    break
                length = int.from_bytes(buffer[start : start + 2], "big")
                start += 2
            elif length == 127:
                if size - at < 10:
                    break
                length = int.from_bytes(buffer[start : start + 8], "big")
                start += 8
            end = start + length
            if end > size:
                break
            at = end
            if first == FIN | TEXT:  # the common case, kept short
                text = buffer[start:end].decode()
                keep((stamp, text))
                for marker in markers:
                    if marker in text:
                        hits.append(len(inbox) - 1)
                        break
                continue
            message = self._frame(first, bytes(buffer[start:end]))
            if message is not None:
                keep((stamp, message))
                if markers:
                    hits.append(len(inbox) - 1)
        if at:
            del buffer[:at]
        if len(hits) > found:
            self._wake()

    def _frame(self, first: int, payload: bytes) -> Message | None:
        """Every frame but a whole text frame: control frames, binary, fragments.

        Returns a message completed by this frame, if any.
        """
        if first & 0x70:
            raise BenchError("protocol error: reserved bits set, no extension was agreed")
        opcode, final = first & 0x0F, bool(first & FIN)
        if opcode in (CLOSE, PING, PONG):
            if not final or len(payload) > 125:
                raise BenchError("protocol error: a fragmented or long control frame")
            self._control(opcode, payload)
            return None
        if opcode in DATA_OPCODES:
            if self._fragments:
                raise BenchError("protocol error: a new message inside a fragmented one")
            if final:
                return payload.decode() if opcode == TEXT else payload
            self._fragment_opcode = opcode
            self._fragments.append(payload)
            return None
        if opcode != CONTINUATION:
            raise BenchError(f"protocol error: reserved opcode {opcode:#x}")
        if not self._fragments:
            raise BenchError("protocol error: a continuation with no message open")
        self._fragments.append(payload)
        if not final:
            return None
        whole = b"".join(self._fragments)
        self._fragments.clear()
        return whole.decode() if self._fragment_opcode == TEXT else whole

    def _control(self, opcode: int, payload: bytes) -> None:
        if opcode == PING:
            self.send(PONG, payload)  # a pong with the ping's payload, at once
        elif opcode == CLOSE:
            code = int.from_bytes(payload[:2], "big") if len(payload) >= 2 else 1005
            reason = payload[2:].decode(errors="replace")
            if not self._close_sent:
                self.send(CLOSE, payload[:2])
                self._close_sent = True
            self._fail(BenchError(f"the server closed the socket: {code} {reason}".rstrip()))
            if not self.closed.done():
                self.closed.set_result(None)

    # -- writing, keepalive, waiting -------------------------------------------------------

    def send(self, opcode: int, payload: bytes) -> None:
        if self.transport is None or self.transport.is_closing():
            raise self.failure or BenchError("the socket is closed")
        self.transport.write(client_frame(opcode, payload))

    def send_close(self) -> bool:
        """Start the closing handshake (1000, normal); False when it cannot or need not be."""
        if self._close_sent or self.failure is not None or self.transport is None:
            return False
        self.send(CLOSE, (1000).to_bytes(2, "big"))
        self._close_sent = True
        return True

    def _schedule_ping(self) -> None:
        loop = asyncio.get_running_loop()
        self._pinger = loop.call_later(PING_INTERVAL, self._ping)

    def _ping(self) -> None:
        closing = self.transport is None or self.transport.is_closing()
        if closing or self.failure is not None or self._close_sent:
            return
        self.send(PING, random.randbytes(4))  # the pong is not awaited: the server's pings
        self._schedule_ping()  # and our answers are what keep the socket open

    def track(self, markers: tuple[str, ...]) -> list[int]:
        """From now on, note the inbox index of each message holding one of ``markers``."""
        if self._markers:
            raise BenchError("one command at a time on a socket")
        self._markers = markers
        self._hits = []
        return self._hits

    def untrack(self) -> None:
        self._markers = ()
        self._hits = []

    def wait(self) -> asyncio.Future[None]:
        """A future woken by the next candidate message, or by a failure."""
        self._waiter = asyncio.get_running_loop().create_future()
        if self.failure is not None:
            self._wake()
        return self._waiter

    def _wake(self) -> None:
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _fail(self, error: BenchError) -> None:
        if self.failure is None:
            self.failure = error
        self._wake()


class BenchClient:
    """One authenticated socket. Commands are sent one at a time and answered in order."""

    def __init__(self, reader: FrameReader) -> None:
        self.reader = reader
        self._ids = itertools.count(1)
        self.commands_sent = 0

    @classmethod
    async def connect(cls, ws_url: str, token: str) -> BenchClient:
        """Open ``ws_url?token=...`` and wait for the server's ``hello``."""
        url = urlsplit(ws_url)
        if url.scheme != "ws" or not url.hostname:
            raise BenchError(f"the bench client speaks plain ws:// only, not {ws_url}")
        port = url.port or 80
        target = f"{url.path or '/'}?token={token}"
        reader = FrameReader(f"{url.hostname}:{port}", target)
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(CONNECT_TIMEOUT):
                await loop.create_connection(lambda: reader, url.hostname, port)
                await reader.opened
        except TimeoutError:  # before OSError, of which it is a subclass
            if reader.transport is not None:
                reader.transport.abort()
            raise BenchError(f"no WebSocket to {ws_url} within {CONNECT_TIMEOUT:.0f} s") from None
        except OSError as error:
            raise BenchError(f"cannot connect to {ws_url}: {error}") from error
        client = cls(reader)
        try:
            async with asyncio.timeout(FRAME_TIMEOUT):
                index = await client._find(("",), lambda message: True)
        except TimeoutError:
            await client.close()
            raise BenchError(f"no hello from {ws_url} within {FRAME_TIMEOUT:.0f} s") from None
        hello = json.loads(_text(reader.inbox[index][1]))
        del reader.inbox[: index + 1]
        if hello.get("type") != "hello":
            await client.close()
            raise BenchError(f"expected hello, got {hello!r}")
        return client

    async def close(self) -> None:
        """The closing handshake, bounded: our close frame, the server's answer, then EOF."""
        reader = self.reader
        if reader.transport is None:
            return
        try:
            if reader.send_close():
                async with asyncio.timeout(CLOSE_TIMEOUT):
                    await asyncio.shield(reader.closed)
        except (TimeoutError, BenchError):
            pass  # the server did not answer in time, or the socket was already gone
        finally:
            reader.transport.close()

    def _send(self, kind: str, fields: dict[str, Any]) -> str:
        command_id = f"b{next(self._ids)}"
        self.commands_sent += 1
        text = json.dumps({"type": kind, "id": command_id, **fields})
        self.reader.send(TEXT, text.encode())
        return command_id

    async def _find(self, markers: tuple[str, ...], accept: Callable[[Message], bool]) -> int:
        """Index of the first message in the inbox that ``accept``s.

        Only messages holding one of ``markers`` (or binary ones) are offered to ``accept``.
        Waits for more messages as long as none does; raises the socket's failure once the
        inbox holds nothing more. The caller bounds the wait.
        """
        reader = self.reader
        inbox = reader.inbox
        for index, (_, message) in enumerate(inbox):  # what arrived before the command
            if _holds(message, markers) and accept(message):
                return index
        hits = reader.track(markers)
        try:
            checked = 0
            while True:
                while checked < len(hits):
                    index = hits[checked]
                    checked += 1
                    if accept(inbox[index][1]):
                        return index
                if reader.failure is not None:
                    raise reader.failure
                await reader.wait()
        finally:
            reader.untrack()

    async def call(self, kind: str, **fields: Any) -> dict[str, Any]:
        """Send a command and return its data; messages that come before the result are skipped."""
        command_id = self._send(kind, fields)
        result: dict[str, Any] = {}

        def is_result(message: Message) -> bool:
            frame = json.loads(_text(message))
            if frame.get("type") == "result" and frame.get("id") == command_id:
                result.update(frame)
                return True
            return False

        try:
            async with asyncio.timeout(FRAME_TIMEOUT):
                index = await self._find((f'"{command_id}"',), is_result)
        except TimeoutError:
            raise BenchError(f"{kind}: no result within {FRAME_TIMEOUT:.0f} s") from None
        del self.reader.inbox[: index + 1]
        if not result["ok"]:
            raise BenchError(f"{kind} failed: {result['error']}")
        return result["data"]

    async def timed_call(self, kind: str, **fields: Any) -> tuple[float, dict[str, Any]]:
        """Seconds from sending a command to its result arriving, and the result's data."""
        started = time.perf_counter()
        data = await self.call(kind, **fields)
        return time.perf_counter() - started, data

    async def run(self, session_id: str, content: str, within: float = FRAME_TIMEOUT) -> RunTrace:
        """Send a message and follow its run to the end.

        The client's own cost per frame limits what it can measure at tens of thousands of
        frames a second, so nothing is parsed until the run is over: the socket keeps every
        message with its arrival time, and this coroutine wakes only for a message that may be
        the run's end or the command's result (``RUN_`` also matches ``RUN_STARTED``: one more
        wake per run, sorted out by the exact check).
        """
        sent_at = time.perf_counter()
        command_id = self._send("message.send", {"sessionId": session_id, "content": content})

        def is_end(message: Message) -> bool:
            frame = json.loads(_text(message))
            if frame.get("type") == "result" and frame.get("id") == command_id:
                if not frame["ok"]:
                    raise BenchError(f"message.send failed: {frame['error']}")
                return False
            return (
                frame.get("type") == "event"
                and frame.get("sessionId") == session_id
                and frame["event"]["type"] in ("RUN_FINISHED", "RUN_ERROR")
            )

        try:
            async with asyncio.timeout(within):
                end = await self._find(('"RUN_', f'"{command_id}"'), is_end)
        except TimeoutError:
            raise BenchError(f"run in {session_id} did not end within {within:.0f} s") from None
        raw = self.reader.inbox[: end + 1]
        del self.reader.inbox[: end + 1]
        return _trace(sent_at, [(stamp, _text(message)) for stamp, message in raw], session_id)


def _holds(message: Message, markers: tuple[str, ...]) -> bool:
    return isinstance(message, bytes) or any(marker in message for marker in markers)


def _text(message: Message) -> str:
    return message.decode() if isinstance(message, bytes) else message


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
