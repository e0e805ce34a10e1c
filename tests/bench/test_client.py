"""The bench's own WebSocket client: its frame reader on split reads, and the real server.

The server tests drive a real Portagent process over loopback sockets, with the bench's
stand-in model process, on uvloop as the benchmarks run.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Coroutine, Iterator
from typing import Any

import pytest

from bench.client import (
    BINARY,
    CLOSE,
    CONTINUATION,
    PING,
    PONG,
    TEXT,
    Accounts,
    BenchClient,
    BenchError,
    FrameReader,
    accept_key,
    client_frame,
)
from bench.model import directive
from bench.processes import ModelProcess, portagent
from bench.scenarios import expected_deltas, run_async

# ---- the frame reader, fed by hand ------------------------------------------------------------


class FakeTransport(asyncio.Transport):
    """Keeps what the reader writes."""

    def __init__(self) -> None:
        super().__init__()
        self.written = bytearray()
        self.closing = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.written += data

    def is_closing(self) -> bool:
        return self.closing

    def close(self) -> None:
        self.closing = True

    def abort(self) -> None:
        self.closing = True


def server_frame(opcode: int, payload: bytes, final: bool = True) -> bytes:
    """A frame as a server sends it: unmasked."""
    first = (0x80 if final else 0) | opcode
    length = len(payload)
    if length < 126:
        return bytes((first, length)) + payload
    if length < 65536:
        return bytes((first, 126)) + length.to_bytes(2, "big") + payload
    return bytes((first, 127)) + length.to_bytes(8, "big") + payload


def read_client_frames(data: bytes) -> list[tuple[int, bytes]]:
    """(opcode, unmasked payload) of each whole frame a client wrote."""
    frames = []
    at = 0
    while at < len(data):
        first, second = data[at], data[at + 1]
        assert first & 0x80, "the client sends whole frames"
        assert second & 0x80, "a client frame is masked"
        length, at = second & 0x7F, at + 2
        if length == 126:
            length, at = int.from_bytes(data[at : at + 2], "big"), at + 2
        elif length == 127:
            length, at = int.from_bytes(data[at : at + 8], "big"), at + 8
        mask, at = data[at : at + 4], at + 4
        payload = bytes(byte ^ mask[index % 4] for index, byte in enumerate(data[at : at + length]))
        frames.append((first & 0x0F, payload))
        at += length
    return frames


def opened_reader() -> tuple[FrameReader, FakeTransport, bytes]:
    """A reader with its transport, and the head of the server's 101 answer to it."""
    reader = FrameReader("127.0.0.1:1", "/ws?token=t")
    transport = FakeTransport()
    reader.connection_made(transport)
    head = (
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Accept: {accept_key(reader.key)}\r\n\r\n"
    ).encode()
    return reader, transport, head


def in_reads(data: bytes, size: int) -> Iterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


@pytest.mark.parametrize("read_size", [1, 7, 1 << 20])
def test_frames_are_read_whatever_the_reads_split(read_size: int) -> None:
    big = bytes(range(256)) * 300  # 76,800 bytes: the 64-bit length
    medium = "é" * 200  # 400 bytes of UTF-8: the 16-bit length
    stream = b"".join(
        [
            server_frame(TEXT, b'{"type":"hello"}'),
            server_frame(TEXT, medium.encode()),
            server_frame(BINARY, big),
            server_frame(TEXT, b"frag", final=False),
            server_frame(PING, b"are you there"),
            server_frame(CONTINUATION, b"men", final=False),
            server_frame(CONTINUATION, b"ted", final=True),
            server_frame(PONG, b"ignored"),
            server_frame(CLOSE, (1001).to_bytes(2, "big") + b"going away"),
        ]
    )

    async def scenario() -> None:
        reader, transport, head = opened_reader()
        for chunk in in_reads(head + stream, read_size):
            reader.data_received(chunk)

        assert reader.opened.done() and reader.opened.exception() is None
        assert [message for _, message in reader.inbox] == [
            '{"type":"hello"}',
            medium,
            big,
            "fragmented",
        ]
        request, _, frames = bytes(transport.written).partition(b"\r\n\r\n")
        assert request.startswith(b"GET /ws?token=t HTTP/1.1\r\n")
        assert read_client_frames(frames) == [
            (PONG, b"are you there"),
            (CLOSE, (1001).to_bytes(2, "big")),
        ]
        assert isinstance(reader.failure, BenchError)
        assert "1001 going away" in str(reader.failure)
        assert reader.closed.done()
        reader.connection_lost(None)

    asyncio.run(scenario())


def test_each_read_is_stamped_once() -> None:
    async def scenario() -> None:
        reader, _, head = opened_reader()
        reader.data_received(head + server_frame(TEXT, b"a") + server_frame(TEXT, b"b"))
        reader.data_received(server_frame(TEXT, b"c"))

        (first, _), (second, _), (third, _) = reader.inbox
        assert first == second < third
        reader.connection_lost(None)

    asyncio.run(scenario())


@pytest.mark.parametrize(
    ("frame", "complaint"),
    [
        (bytes((0x81, 0x81)) + b"\x00\x00\x00\x00x", "masked"),
        (server_frame(0x3, b"x"), "reserved opcode"),
        (bytes((0xC1, 1)) + b"x", "reserved bits"),
        (server_frame(CONTINUATION, b"x"), "no message open"),
    ],
)
def test_a_protocol_error_fails_the_socket(frame: bytes, complaint: str) -> None:
    async def scenario() -> None:
        reader, transport, head = opened_reader()
        reader.data_received(head + frame)

        assert isinstance(reader.failure, BenchError)
        assert complaint in str(reader.failure)
        assert transport.is_closing()
        reader.connection_lost(None)

    asyncio.run(scenario())


def test_the_accept_key_is_the_rfcs() -> None:
    # The example of RFC 6455 section 1.3.
    assert accept_key("dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="


def test_a_wrong_accept_key_is_refused() -> None:
    async def scenario() -> None:
        reader, _, _ = opened_reader()
        head = b"HTTP/1.1 101 Switching Protocols\r\nSec-WebSocket-Accept: wrong\r\n\r\n"
        reader.data_received(head)

        with pytest.raises(BenchError, match="Sec-WebSocket-Accept"):
            await reader.opened
        reader.connection_lost(None)

    asyncio.run(scenario())


@pytest.mark.parametrize("length", [0, 1, 125, 126, 65535, 65536, 70001])
def test_client_frames_are_masked_at_every_length(length: int) -> None:
    payload = bytes(index % 251 for index in range(length))

    assert read_client_frames(client_frame(TEXT, payload)) == [(TEXT, payload)]


# ---- against the real server ------------------------------------------------------------------


@pytest.fixture(scope="module")
def model() -> Iterator[ModelProcess]:
    with ModelProcess(tokens=5) as process:
        yield process


@pytest.fixture(scope="module")
def server(model: ModelProcess) -> Iterator[Any]:
    with portagent(model.url) as process:
        yield process


def run(coroutine: Coroutine[Any, Any, Any]) -> Any:
    return run_async(asyncio.wait_for(coroutine, 60))


async def register(server: Any, name: str) -> str:
    async with Accounts(server.base) as accounts:
        return await accounts.register(name)


def test_a_command_round_trip(server: Any) -> None:
    async def scenario() -> tuple[dict[str, Any], dict[str, Any], int]:
        client = await BenchClient.connect(server.ws_url, await register(server, "pinger"))
        try:
            pong = await client.call("ping")
            created = await client.call("session.create")
            return pong, created, client.commands_sent
        finally:
            await client.close()

    pong, created, sent = run(scenario())

    assert isinstance(pong, dict)
    assert created["session"]["id"]
    assert sent == 2


def test_a_run_arrives_whole_and_in_order(server: Any) -> None:
    async def scenario() -> Any:
        client = await BenchClient.connect(server.ws_url, await register(server, "runner"))
        try:
            session_id = (await client.call("session.create"))["session"]["id"]
            first = await client.run(session_id, directive(300))
            second = await client.run(session_id, directive(3))
            return first, second
        finally:
            await client.close()

    first, second = run(scenario())

    assert first.in_order(expected_deltas(300))
    assert first.delta_times == sorted(first.delta_times)
    assert first.sent_at < first.delta_times[0] <= first.finished_at
    assert second.in_order(expected_deltas(3)), "the first run's frames do not leak into the next"


def test_frames_over_64_kib_both_ways(server: Any) -> None:
    content = "x" * 90_000 + " " + directive(2)  # the bench model reads the end of a message

    async def scenario() -> tuple[Any, dict[str, Any]]:
        client = await BenchClient.connect(server.ws_url, await register(server, "bigwriter"))
        try:
            session_id = (await client.call("session.create"))["session"]["id"]
            trace = await client.run(session_id, content)
            return trace, await client.call("session.get", sessionId=session_id)
        finally:
            await client.close()

    trace, session = run(scenario())

    assert trace.in_order(expected_deltas(2))
    assert content in json.dumps(session), "the 90 kB message came back whole in session.get"


def test_a_bad_token_is_refused_with_its_status(server: Any) -> None:
    with pytest.raises(BenchError, match="401"):
        run(BenchClient.connect(server.ws_url, "not-a-token"))


@pytest.mark.parametrize("how", ["stop", "kill"])
def test_a_server_that_goes_away_fails_the_call(model: ModelProcess, how: str) -> None:
    with portagent(model.url) as server:

        async def scenario() -> None:
            client = await BenchClient.connect(server.ws_url, await register(server, "left"))
            await client.call("ping")
            await asyncio.to_thread(server.stop if how == "stop" else server.kill)
            try:
                with pytest.raises(BenchError):
                    await client.call("ping")
            finally:
                await client.close()

        run(scenario())
