"""One streamed Messages API call: the request sent as JSON bytes, the reply's server-sent events
read as plain dicts.

The SDK still makes the call (authentication, retries, status errors, time-outs), through its
public low-level ``client.post``. ``messages.create`` would also walk and copy the whole request
before serializing it (tens of ms for a long conversation, every turn), and the SDK's event
iterator builds a pydantic model per event (most of the server's CPU per relayed delta); see
docs/benchmarks.md. Here the request is serialized once with orjson and the body is read with a
byte-level SSE parser, raising the same SDK exceptions the SDK's iterator would for a
mid-stream ``error`` event or a broken read.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import orjson

from .provider import ProviderProtocolError

if TYPE_CHECKING:
    import anthropic

ModelEvent = dict[str, Any]


class SSEDecoder:
    """Server-sent events from chunks of bytes, per the WHATWG rules the API follows: lines end
    with LF, CRLF or CR; a blank line ends an event; ``:`` starts a comment; one space after a
    field's colon is dropped. Yields ``(event name or None, data)`` pairs."""

    def __init__(self) -> None:
        self._pending = b""
        self._event: str | None = None
        self._data: list[bytes] = []

    def feed(self, chunk: bytes) -> list[tuple[str | None, bytes]]:
        buffer = self._pending + chunk
        held_cr = b""
        if b"\r" in buffer:
            if buffer.endswith(b"\r"):  # maybe the first half of a CRLF split across chunks
                buffer, held_cr = buffer[:-1], b"\r"
            buffer = buffer.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        lines = buffer.split(b"\n")
        self._pending = lines.pop() + held_cr
        return self._lines(lines)

    def close(self) -> list[tuple[str | None, bytes]]:
        """What the end of the body completes (an event with no blank line after it)."""
        rest = self._pending.rstrip(b"\r")
        self._pending = b""
        return self._lines([rest, b""] if rest else [b""])

    def _lines(self, lines: list[bytes]) -> list[tuple[str | None, bytes]]:
        out: list[tuple[str | None, bytes]] = []
        for line in lines:
            if not line:
                if self._data or self._event is not None:
                    out.append((self._event, b"\n".join(self._data)))
                    self._event, self._data = None, []
                continue
            if line.startswith(b"data: "):
                self._data.append(line[6:])
                continue
            name, colon, value = line.partition(b":")
            if not name:
                continue  # a comment
            if colon and value.startswith(b" "):
                value = value[1:]
            if name == b"event":
                self._event = value.decode("utf-8", "replace")
            elif name == b"data":
                self._data.append(value)
        return out


def parse_json(data: bytes) -> Any:
    """orjson first; a payload with a lone surrogate escape (which orjson refuses, and which no
    socket or database could encode later) is read by ``json`` with the surrogate replaced."""
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        pass
    try:
        value = json.loads(data)
    except (ValueError, RecursionError) as error:
        raise ProviderProtocolError("an event from the model is not JSON") from error
    return orjson.loads(json.dumps(value, ensure_ascii=False).encode("utf-8", "replace"))


def _status_error(response: Any, data: bytes) -> Exception:
    """A mid-stream ``event: error``, as the SDK's own iterator reports it."""
    import anthropic

    try:
        body: Any = parse_json(data)
        message = f"{body}"
    except ProviderProtocolError:
        body = data.decode("utf-8", "replace")
        message = body or f"Error code: {response.status_code}"
    return anthropic.APIStatusError(message, response=response, body=body)


def _read_error(response: Any, error: Exception) -> Exception:
    """A failed read of the body, as the SDK's own iterator reports it."""
    import anthropic

    http = sys.modules[type(response).__module__.split(".")[0]]  # httpx or httpx2
    if isinstance(error, http.TimeoutException | TimeoutError):  # aiohttp's are TimeoutErrors
        return anthropic.APITimeoutError(request=response.request)
    return anthropic.APIConnectionError(request=response.request)


def _chunk_reader(response: Any) -> Callable[[], Awaitable[bytes]]:
    """What reads the body's next chunk (``b""`` at its end).

    Over the SDK's aiohttp transport, aiohttp's own reader, whatever has arrived: the generic
    path passes every chunk through four async generators (httpx's response, its stream, the
    SDK's aiohttp adapter, aiohttp's iterator), about a tenth of the server's time when many
    replies stream a delta at a time. The attributes on the way (httpx's timing wrapper, the
    adapter's response) are not public, so any other transport, or another version of them,
    takes the generic path."""
    stream = getattr(response.stream, "_stream", response.stream)
    content = getattr(getattr(stream, "_aiohttp_response", None), "content", None)
    if content is not None and callable(getattr(content, "readany", None)):
        return content.readany
    chunks = response.aiter_bytes()

    async def next_chunk() -> bytes:
        return await anext(chunks, b"")

    return next_chunk


async def stream_reply(
    client: anthropic.AsyncAnthropic,
    request: dict[str, Any],
    on_event: Callable[[ModelEvent], None],
) -> None:
    """Make one streamed Messages API call and hand each event to ``on_event`` as a dict."""
    import anthropic
    from anthropic.types import Message, RawMessageStreamEvent

    body = orjson.dumps({**request, "stream": True})
    async with await client.post(
        "/v1/messages",
        cast_to=Message,
        content=body,
        options={"headers": {"Content-Type": "application/json"}},
        stream=True,
        stream_cls=anthropic.AsyncStream[RawMessageStreamEvent],
    ) as stream:
        response = stream.response
        decoder = SSEDecoder()
        read_chunk = _chunk_reader(response)
        first_delta = True
        while True:
            try:
                chunk = await read_chunk() or None
            except anthropic.AnthropicError:
                raise
            except Exception as error:
                raise _read_error(response, error) from error
            pairs = decoder.feed(chunk) if chunk is not None else decoder.close()
            for name, data in pairs:
                if name is None or name == "ping":
                    continue
                if name == "error":
                    raise _status_error(response, data)
                if not data:
                    continue
                event = parse_json(data)
                if not isinstance(event, dict):
                    raise ProviderProtocolError("an event from the model is not an object")
                on_event(event)
                if first_delta and event.get("type") == "content_block_delta":
                    # While the model's bytes keep coming nothing here awaits, so the sockets'
                    # writers send what the relay produced only when it yields. A chunk can hold
                    # a whole short reply: the first delta goes out before the rest is read.
                    first_delta = False
                    await asyncio.sleep(0)
            if chunk is None:
                return
