"""A stand-in for the Anthropic Messages API on loopback, for demo mode and tests.

The real ``anthropic`` SDK talks to it over real HTTP, so everything between
the agent and the socket (headers, SSE parsing, error mapping, retries,
timeouts) runs as in production. It is a minimal HTTP/1.1 server on plain
asyncio: keep-alive connections (the SDK pools them), ``Content-Length`` or
chunked request bodies, and chunked responses for streams, one chunk per SSE
event.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import inspect
import ipaddress
import json
import logging
import math
import threading
from collections import deque
from collections.abc import Awaitable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, cast

from .prompt_cache import InputUsage, PromptCache, estimate_input_tokens
from .scripts import Reply, Responder, StatusError, demo_responder
from .validation import InvalidRequest, validate_messages_request
from .wire import (
    error_body,
    message_json,
    new_message_id,
    new_request_id,
    output_tokens,
    render_block,
    sse,
    usage_json,
)

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 32 * 1024 * 1024
MAX_HEADERS = 100
MAX_RECORDED_REQUESTS = 1000
# Benchmarks open hundreds of connections at once; the default backlog of 100
# makes the kernel drop SYNs and the clients retry a second later.
LISTEN_BACKLOG = 2048
# With no token delay, give other connections a turn every this many events.
_YIELD_EVERY = 32
_STATUS_FOR_ERROR_TYPE = {
    "invalid_request_error": 400,
    "authentication_error": 401,
    "permission_error": 403,
    "not_found_error": 404,
    "request_too_large": 413,
    "rate_limit_error": 429,
    "api_error": 500,
    "overloaded_error": 529,
}


@dataclass(frozen=True)
class RecordedRequest:
    """One request the stand-in received. ``body`` is the parsed JSON (None if not JSON)."""

    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: Any


class _BadHttp(Exception):
    """The bytes on the connection are not HTTP we understand; answer and close."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class _HttpRequest:
    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes
    keep_alive: bool


def _reason(status: int) -> str:
    if status == 529:
        return "Overloaded"
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


async def _readline(reader: asyncio.StreamReader) -> bytes:
    try:
        return await reader.readline()
    except ValueError as exc:  # the line is longer than the reader's limit
        raise _BadHttp(431, "Request line or header too long.") from exc


async def _read_request(reader: asyncio.StreamReader) -> _HttpRequest | None:
    """Read one request; None when the client closed the connection between requests."""
    line = await _readline(reader)
    if not line:
        return None
    try:
        method, target, version = line.decode("latin-1").rstrip("\r\n").split(" ")
    except ValueError as exc:
        raise _BadHttp(400, "Malformed request line.") from exc
    if not version.startswith("HTTP/1."):
        raise _BadHttp(505, "Only HTTP/1.x is supported.")
    headers: dict[str, str] = {}
    for _ in range(MAX_HEADERS + 1):
        raw = await _readline(reader)
        if raw in (b"\r\n", b"\n"):
            break
        if not raw:
            raise asyncio.IncompleteReadError(raw, None)
        name, sep, value = raw.decode("latin-1").partition(":")
        if not sep:
            raise _BadHttp(400, "Malformed header line.")
        key = name.strip().lower()
        headers[key] = f"{headers[key]}, {value.strip()}" if key in headers else value.strip()
    else:
        raise _BadHttp(431, "Too many headers.")

    if "chunked" in headers.get("transfer-encoding", "").lower():
        body = await _read_chunked(reader)
    else:
        try:
            length = int(headers.get("content-length", "0"))
        except ValueError as exc:
            raise _BadHttp(400, "Invalid Content-Length.") from exc
        if length < 0 or length > MAX_BODY_BYTES:
            raise _BadHttp(413, "Request exceeds the maximum allowed number of bytes.")
        body = await reader.readexactly(length) if length else b""

    connection = headers.get("connection", "").lower()
    keep_alive = "close" not in connection and (version == "HTTP/1.1" or "keep-alive" in connection)
    path, _, query = target.partition("?")
    return _HttpRequest(method.upper(), path, query, headers, body, keep_alive)


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    parts: list[bytes] = []
    size_total = 0
    while True:
        size_line = await _readline(reader)
        try:
            size = int(size_line.split(b";")[0].strip(), 16)
        except ValueError as exc:
            raise _BadHttp(400, "Malformed chunk size.") from exc
        if size == 0:
            while (await _readline(reader)) not in (b"\r\n", b"\n", b""):
                pass  # trailers
            return b"".join(parts)
        size_total += size
        if size_total > MAX_BODY_BYTES:
            raise _BadHttp(413, "Request exceeds the maximum allowed number of bytes.")
        parts.append(await reader.readexactly(size))
        await reader.readexactly(2)


def _response_head(status: int, headers: dict[str, str]) -> bytes:
    lines = [f"HTTP/1.1 {status} {_reason(status)}"]
    lines.extend(f"{k}: {v}" for k, v in headers.items())
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def _chunk(payload: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(payload), payload)


_LAST_CHUNK = b"0\r\n\r\n"


class StandInModel:
    """An Anthropic Messages API stand-in served on loopback by the current event loop.

    ``responder`` scripts the answers (default: :func:`demo_responder`). With
    ``api_key`` set, requests must carry it as ``x-api-key`` or ``Authorization:
    Bearer``. ``token_delay`` is the default pause between streamed deltas.
    Every request is recorded in :attr:`requests` (the last 1000).
    """

    def __init__(
        self,
        responder: Responder | None = None,
        *,
        api_key: str | None = None,
        token_delay: float = 0.0,
    ) -> None:
        self._responder: Responder = responder or demo_responder
        self._responder_lock = threading.Lock()
        self.api_key = api_key
        self.token_delay = token_delay
        self.prompt_cache = PromptCache()
        self._requests: deque[RecordedRequest] = deque(maxlen=MAX_RECORDED_REQUESTS)
        self._requests_lock = threading.Lock()
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.Task[None]] = set()
        self._stopping = False
        self.url: str | None = None
        self.connections_opened = 0
        """TCP connections accepted so far (the SDK should reuse them)."""

    # --- configuration, safe to call from any thread --------------------------

    @property
    def responder(self) -> Responder:
        with self._responder_lock:
            return self._responder

    def set_responder(self, responder: Responder) -> None:
        """Script the following requests with ``responder`` (thread-safe)."""
        with self._responder_lock:
            self._responder = responder

    @property
    def open_connections(self) -> int:
        """Client connections being served right now."""
        return len(self._connections)

    @property
    def requests(self) -> list[RecordedRequest]:
        """A snapshot of the recorded requests, oldest first."""
        with self._requests_lock:
            return list(self._requests)

    def clear_requests(self) -> None:
        with self._requests_lock:
            self._requests.clear()

    # --- lifecycle ---------------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Listen on ``host:port`` (0 = any free port); returns the base URL (no ``/v1``)."""
        if not _is_loopback(host):
            raise ValueError(f"the stand-in model only listens on loopback, not {host!r}")
        if self._server is not None:
            raise RuntimeError("the stand-in model is already running")
        self._stopping = False
        self._server = await asyncio.start_server(
            self._serve_connection, host, port, backlog=LISTEN_BACKLOG
        )
        sock_host, sock_port = self._server.sockets[0].getsockname()[:2]
        shown = f"[{sock_host}]" if ":" in sock_host else sock_host
        self.url = f"http://{shown}:{sock_port}"
        return self.url

    async def stop(self) -> None:
        """Close the listener and every open connection, hanging streams included."""
        server, self._server = self._server, None
        if server is None:
            return
        self._stopping = True
        server.close()
        tasks = list(self._connections)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await server.wait_closed()
        self.url = None

    async def __aenter__(self) -> StandInModel:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    # --- connections ---------------------------------------------------------------

    async def _serve_connection(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        self.connections_opened += 1
        try:
            while not self._stopping:
                try:
                    request = await _read_request(reader)
                except _BadHttp as exc:
                    self._write_error(
                        writer, exc.status, "invalid_request_error", str(exc), close=True
                    )
                    await writer.drain()
                    return
                if request is None:
                    return
                if not await self._dispatch(request, reader, writer):
                    return
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        except asyncio.CancelledError:
            # stop() cancels connections. Ending the task cancelled would make
            # Python 3.11's start_server callback log a spurious traceback.
            pass
        finally:
            self._connections.discard(task)
            if not writer.is_closing():
                writer.close()

    def _record(self, request: _HttpRequest) -> Any:
        body: Any = None
        if request.body:
            try:
                body = json.loads(request.body)
            except (ValueError, UnicodeDecodeError):
                body = None
        with self._requests_lock:
            self._requests.append(
                RecordedRequest(request.method, request.path, request.query, request.headers, body)
            )
        return body

    def _authorized(self, headers: dict[str, str]) -> bool:
        if self.api_key is None:
            return True
        expected = self.api_key.encode()
        given_key = headers.get("x-api-key", "").encode()
        scheme, _, token = headers.get("authorization", "").partition(" ")
        return hmac.compare_digest(given_key, expected) or (
            scheme.lower() == "bearer" and hmac.compare_digest(token.strip().encode(), expected)
        )

    def _write_json(
        self,
        writer: asyncio.StreamWriter,
        status: int,
        body: dict[str, Any],
        *,
        request_id: str | None = None,
        extra_headers: dict[str, str] | None = None,
        close: bool = False,
    ) -> None:
        payload = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
        headers = {
            "content-type": "application/json",
            "content-length": str(len(payload)),
            "request-id": request_id or new_request_id(),
            **(extra_headers or {}),
        }
        if close:
            headers["connection"] = "close"
        writer.write(_response_head(status, headers) + payload)

    def _write_error(
        self,
        writer: asyncio.StreamWriter,
        status: int,
        error_type: str,
        message: str,
        *,
        extra_headers: dict[str, str] | None = None,
        close: bool = False,
    ) -> None:
        request_id = new_request_id()
        self._write_json(
            writer,
            status,
            error_body(error_type, message, request_id),
            request_id=request_id,
            extra_headers=extra_headers,
            close=close,
        )

    async def _dispatch(
        self, request: _HttpRequest, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> bool:
        """Answer one request; returns whether the connection may serve another."""
        body = self._record(request)
        keep_alive = request.keep_alive
        route = request.path.rstrip("/")
        if route not in ("/v1/messages", "/v1/messages/count_tokens"):
            self._write_error(
                writer, 404, "not_found_error", f"{request.method} {request.path} does not exist"
            )
        elif request.method != "POST":
            self._write_error(
                writer, 405, "invalid_request_error", f"Method {request.method} not allowed"
            )
        elif not self._authorized(request.headers):
            self._write_error(writer, 401, "authentication_error", "invalid x-api-key")
        elif body is None:
            self._write_error(
                writer, 400, "invalid_request_error", "The request body is not valid JSON."
            )
        elif route == "/v1/messages/count_tokens":
            self._answer_count_tokens(writer, body)
        else:
            keep_alive = await self._answer_messages(body, reader, writer) and keep_alive
        if keep_alive:
            await writer.drain()
        return keep_alive

    def _answer_count_tokens(self, writer: asyncio.StreamWriter, body: Any) -> None:
        try:
            validate_messages_request({"max_tokens": 1, **body} if isinstance(body, dict) else body)
        except InvalidRequest as exc:
            self._write_error(writer, 400, "invalid_request_error", str(exc))
            return
        self._write_json(writer, 200, {"input_tokens": estimate_input_tokens(body)})

    async def _reply_for(self, body: dict[str, Any]) -> Reply:
        result = self.responder(body)
        if inspect.isawaitable(result):
            result = await cast(Awaitable[Reply], result)
        if not isinstance(result, Reply):
            raise TypeError(f"a responder must return a Reply, not {type(result).__name__}")
        return result

    async def _answer_messages(
        self, body: Any, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> bool:
        try:
            validate_messages_request(body)
        except InvalidRequest as exc:
            self._write_error(writer, 400, "invalid_request_error", str(exc))
            return True
        try:
            reply = await self._reply_for(body)
        except Exception as exc:
            logger.exception("stand-in responder failed")
            self._write_error(
                writer, 500, "api_error", f"stand-in responder failed: {type(exc).__name__}: {exc}"
            )
            return True

        if reply.response_delay > 0:
            await asyncio.sleep(reply.response_delay)
        if reply.no_response == "hang":
            await self._hang(reader)
            return False
        if reply.no_response == "drop":
            writer.transport.abort()
            return False
        if reply.error is not None:
            self._write_status_error(writer, reply.error)
            return True

        usage = self.prompt_cache.account(body)
        if body.get("stream"):
            return await self._stream(reply, body, usage, reader, writer)
        return await self._respond_whole(reply, body, usage, reader, writer)

    def _write_status_error(self, writer: asyncio.StreamWriter, error: StatusError) -> None:
        headers: dict[str, str] = {}
        retry_after = error.retry_after_seconds
        if retry_after is not None:
            headers["retry-after"] = str(max(0, math.ceil(retry_after)))
            headers["retry-after-ms"] = str(int(retry_after * 1000))
        self._write_error(writer, error.status, error.type, error.text, extra_headers=headers)

    async def _hang(self, reader: asyncio.StreamReader) -> None:
        """Send nothing until the client closes the connection or the server stops."""
        with contextlib.suppress(ConnectionError):
            while await reader.read(65536):
                pass

    async def _respond_whole(
        self,
        reply: Reply,
        body: dict[str, Any],
        usage: InputUsage,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
    ) -> bool:
        if reply.fail_after is not None:
            if reply.failure == "hang":
                await self._hang(reader)
                return False
            if reply.failure == "drop":
                writer.transport.abort()
                return False
            event = reply.error_event
            status = _STATUS_FOR_ERROR_TYPE.get(event.error_type, 500)
            self._write_error(writer, status, event.error_type, event.message)
            return True
        blocks = [render_block(b) for b in reply.content]
        message = message_json(
            new_message_id(),
            body["model"],
            [b.final for b in blocks],
            reply.resolved_stop_reason,
            reply.stop_sequence,
            usage_json(usage, output_tokens(reply, blocks)),
        )
        self._write_json(writer, 200, message)
        return True

    async def _stream(
        self,
        reply: Reply,
        body: dict[str, Any],
        usage: InputUsage,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
    ) -> bool:
        """Stream ``reply`` as SSE; returns whether the connection is still usable."""
        delay = self.token_delay if reply.token_delay is None else reply.token_delay
        blocks = [render_block(b) for b in reply.content]
        output = output_tokens(reply, blocks)
        message_id = new_message_id()
        start_usage = usage_json(usage, 1)
        writer.write(
            _response_head(
                200,
                {
                    "content-type": "text/event-stream; charset=utf-8",
                    "cache-control": "no-cache",
                    "transfer-encoding": "chunked",
                    "request-id": new_request_id(),
                },
            )
            + _chunk(
                sse(
                    "message_start",
                    {
                        "type": "message_start",
                        "message": message_json(
                            message_id, body["model"], [], None, None, start_usage
                        ),
                    },
                )
            )
            + _chunk(sse("ping", {"type": "ping"}))
        )
        await writer.drain()

        sent_deltas = 0
        events_since_yield = 0

        async def send(event: str, data: dict[str, Any]) -> None:
            nonlocal events_since_yield
            writer.write(_chunk(sse(event, data)))
            await writer.drain()
            events_since_yield += 1
            if delay <= 0 and events_since_yield >= _YIELD_EVERY:
                events_since_yield = 0
                await asyncio.sleep(0)

        for index, block in enumerate(blocks):
            await send(
                "content_block_start",
                {"type": "content_block_start", "index": index, "content_block": block.start},
            )
            for delta in block.deltas:
                if reply.fail_after is not None and sent_deltas >= reply.fail_after:
                    return await self._fail_stream(reply, reader, writer)
                if delay > 0:
                    await asyncio.sleep(delay)
                await send(
                    "content_block_delta",
                    {"type": "content_block_delta", "index": index, "delta": delta},
                )
                sent_deltas += 1
            await send("content_block_stop", {"type": "content_block_stop", "index": index})
        if reply.fail_after is not None:
            return await self._fail_stream(reply, reader, writer)

        final_usage = {
            "input_tokens": usage.input_tokens,
            "cache_creation_input_tokens": usage.cache_creation_input_tokens,
            "cache_read_input_tokens": usage.cache_read_input_tokens,
            "output_tokens": output,
        }
        writer.write(
            _chunk(
                sse(
                    "message_delta",
                    {
                        "type": "message_delta",
                        "delta": {
                            "stop_reason": reply.resolved_stop_reason,
                            "stop_sequence": reply.stop_sequence,
                        },
                        "usage": final_usage,
                    },
                )
            )
            + _chunk(sse("message_stop", {"type": "message_stop"}))
            + _LAST_CHUNK
        )
        return True

    async def _fail_stream(
        self, reply: Reply, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> bool:
        await writer.drain()
        if reply.failure == "drop":
            # Without the last chunk the client sees an incomplete body.
            writer.transport.abort()
            return False
        if reply.failure == "hang":
            await self._hang(reader)
            return False
        error = reply.error_event
        writer.write(
            _chunk(sse("error", error_body(error.error_type, error.message))) + _LAST_CHUNK
        )
        return True


class ThreadedStandIn:
    """A :class:`StandInModel` served from its own thread and event loop.

    For synchronous code (tests, benchmarks) that needs a model server while
    its own loop, if any, is busy::

        with ThreadedStandIn(ScriptedResponder([...])) as standin:
            client = AsyncAnthropic(api_key="k", base_url=standin.url, max_retries=0)
    """

    def __init__(
        self,
        responder: Responder | None = None,
        *,
        api_key: str | None = None,
        token_delay: float = 0.0,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.model = StandInModel(responder, api_key=api_key, token_delay=token_delay)
        self._host = host
        self._port = port
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self.url: str | None = None

    def start(self, timeout: float = 10.0) -> str:
        """Start the server thread; returns the base URL once it accepts connections."""
        if self._thread is not None:
            raise RuntimeError("the stand-in model is already running")
        ready = threading.Event()
        outcome: dict[str, Any] = {}

        def serve() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            try:
                outcome["url"] = loop.run_until_complete(self.model.start(self._host, self._port))
            except BaseException as exc:  # reported to the starting thread
                outcome["error"] = exc
                ready.set()
                loop.close()
                return
            ready.set()
            try:
                loop.run_forever()
            finally:
                loop.run_until_complete(self.model.stop())
                loop.run_until_complete(loop.shutdown_asyncgens())
                loop.close()

        self._thread = threading.Thread(target=serve, name="standin-model", daemon=True)
        self._thread.start()
        if not ready.wait(timeout):
            raise RuntimeError("the stand-in model did not start in time")
        if "error" in outcome:
            self._thread.join()
            self._thread = None
            raise outcome["error"]
        self.url = outcome["url"]
        return outcome["url"]

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the server (closing hanging streams) and join its thread."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        asyncio.run_coroutine_threadsafe(self.model.stop(), loop).result(timeout)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout)
        self._loop = self._thread = None
        self.url = None

    def set_responder(self, responder: Responder) -> None:
        """Script the following requests with ``responder`` (thread-safe)."""
        self.model.set_responder(responder)

    @property
    def requests(self) -> list[RecordedRequest]:
        return self.model.requests

    def __enter__(self) -> ThreadedStandIn:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
