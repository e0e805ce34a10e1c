"""Reading the model's event stream: the SSE decoder, JSON decoding, and a broken stream from a
real loopback server read through the real ``anthropic`` client."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anthropic
import pytest

from service.agent.provider import ProviderProtocolError, classify_provider_error
from service.agent.stream import SSEDecoder, parse_json, stream_reply

REQUEST = {
    "model": "claude-sonnet-4-5",
    "max_tokens": 64,
    "messages": [{"role": "user", "content": "hi"}],
}


def decode(*chunks: bytes, close: bool = True) -> list[tuple[str | None, bytes]]:
    decoder = SSEDecoder()
    out = []
    for chunk in chunks:
        out += decoder.feed(chunk)
    if close:
        out += decoder.close()
    return out


def test_events_are_split_on_blank_lines() -> None:
    body = b'event: a\ndata: {"x":1}\n\nevent: b\ndata: 2\n\n'
    assert decode(body) == [("a", b'{"x":1}'), ("b", b"2")]


def test_every_line_ending_is_understood_even_split_across_chunks() -> None:
    crlf = b"event: a\r\ndata: 1\r\n\r\nevent: b\rdata: 2\r\r"
    assert decode(crlf) == [("a", b"1"), ("b", b"2")]
    # CRLF cut between its two bytes must not count as two line ends (a blank line).
    assert decode(b"event: a\r", b"\ndata: 1\r", b"\n\r\n") == [("a", b"1")]
    # Byte by byte gives the same events.
    one_by_one = [crlf[i : i + 1] for i in range(len(crlf))]
    assert decode(*one_by_one) == [("a", b"1"), ("b", b"2")]


def test_comments_fields_and_multiline_data() -> None:
    body = b": keep-alive\nid: 7\nretry: 10\nevent:x\ndata:first\ndata: second\n\n"
    assert decode(body) == [("x", b"first\nsecond")]


def test_data_without_an_event_name_and_an_unterminated_last_event() -> None:
    assert decode(b"data: 1\n\nevent: last\ndata: 2") == [(None, b"1"), ("last", b"2")]
    assert decode(b"event: last\ndata: 2", close=False) == []


def test_multibyte_text_split_across_chunks_survives() -> None:
    body = 'data: {"t":"héllo ✓"}\n\n'.encode()
    cut = body.index("✓".encode()) + 1
    [(_, data)] = decode(body[:cut], body[cut:])
    assert parse_json(data) == {"t": "héllo ✓"}


def test_a_lone_surrogate_from_the_model_is_replaced_not_fatal() -> None:
    assert parse_json(b'{"text":"a\\ud800b"}') == {"text": "a?b"}


def test_non_json_is_a_protocol_error() -> None:
    with pytest.raises(ProviderProtocolError):
        parse_json(b"{not json")


@asynccontextmanager
async def sse_server(body: bytes, declared_length: int | None = None) -> AsyncIterator[str]:
    """A loopback HTTP server answering every request 200 with ``body`` as an event stream
    (announcing ``declared_length`` bytes, to cut a body short, then closing)."""

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        length = next(
            (
                int(line.split(b":", 1)[1])
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length:")
            ),
            0,
        )
        await reader.readexactly(length)
        writer.write(
            b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nconnection: close\r\n"
            b"content-length: " + str(declared_length or len(body)).encode() + b"\r\n\r\n" + body
        )
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.close()
        await server.wait_closed()


@pytest.fixture(params=["aiohttp", "httpx"])
def transport(request: pytest.FixtureRequest) -> str:
    """The server's HTTP transport (the SDK's aiohttp client), and the SDK's default."""
    return request.param


def make_client(url: str, transport: str) -> anthropic.AsyncAnthropic:
    extra = {"http_client": anthropic.DefaultAioHttpClient()} if transport == "aiohttp" else {}
    return anthropic.AsyncAnthropic(api_key="test-key", base_url=url, max_retries=0, **extra)


async def read_stream(body: bytes, transport: str = "aiohttp") -> list[dict[str, Any]]:
    received: list[dict[str, Any]] = []
    async with sse_server(body) as url:
        client = make_client(url, transport)
        try:
            await asyncio.wait_for(stream_reply(client, REQUEST, received.append), 10)
        finally:
            await client.close()
    return received


def test_a_stream_that_is_not_json_fails_with_a_clear_provider_error(transport: str) -> None:
    body = b'event: message_start\ndata: {"type":"message_start"}\n\nevent: x\ndata: oops\n\n'
    with pytest.raises(ProviderProtocolError) as caught:
        asyncio.run(read_stream(body, transport))
    failure = classify_provider_error(caught.value)
    assert failure.code == "provider_error"
    assert "could not read" in failure.message


def test_an_event_that_is_not_an_object_fails_the_same_way() -> None:
    with pytest.raises(ProviderProtocolError):
        asyncio.run(read_stream(b"event: message_start\ndata: [1, 2]\n\n"))


def test_pings_and_nameless_events_are_skipped_and_error_events_raise(transport: str) -> None:
    body = (
        b'event: ping\ndata: {"type":"ping"}\n\n'
        b'data: {"type":"ignored"}\n\n'
        b'event: message_start\ndata: {"type":"message_start"}\n\n'
        b'event: error\ndata: {"type":"error","error":{"type":"overloaded_error",'
        b'"message":"Overloaded"}}\n\n'
    )
    with pytest.raises(anthropic.APIStatusError) as caught:
        asyncio.run(read_stream(body, transport))
    assert caught.value.body == {
        "type": "error",
        "error": {"type": "overloaded_error", "message": "Overloaded"},
    }
    assert classify_provider_error(caught.value).code == "provider_overloaded"


def test_a_body_cut_short_is_a_connection_error(transport: str) -> None:
    """The server promises more bytes than it sends, then closes: the SDK's connection error,
    which the run reports as provider_unreachable."""
    body = b'event: message_start\ndata: {"type":"message_start"}\n\n'

    async def scenario() -> None:
        async with sse_server(body, declared_length=100_000) as url:
            await expect_cut(url)

    async def expect_cut(url: str) -> None:
        received: list[dict[str, Any]] = []
        client = make_client(url, transport)
        try:
            with pytest.raises(anthropic.APIConnectionError) as caught:
                await asyncio.wait_for(stream_reply(client, REQUEST, received.append), 10)
        finally:
            await client.close()
        assert received == [{"type": "message_start"}], "what arrived before the cut was read"
        assert classify_provider_error(caught.value).code == "provider_unreachable"

    asyncio.run(scenario())
