"""Sending several text messages on a Sanic WebSocket in one write to the socket.

Sanic's ``ws.send`` frames one message and writes it to the transport: one system call per
message, which was a fifth of the server's time when it relayed a fast reply (docs/benchmarks.md).
``send_text_frames`` does for a list of messages what ``ws.send`` does for one (the same lock,
the same state checks) and then writes all the frames at once; ``write_now`` does the same
without waiting, when the socket can take the frames at once, which spares a task switch per
frame when many sockets stream at a steady pace. Both frame the messages themselves, byte for
byte as the ``websockets`` protocol object would (``tests/ws/test_frames.py``).
Both use attributes of Sanic's ``WebsocketImplProtocol`` that are not public; when they are not
there (another Sanic version), ``write_now`` is not used and ``send_text_frames`` falls back to
``ws.send`` per message.
"""

from __future__ import annotations

from sanic.exceptions import ServerError, WebsocketClosed
from sanic.server.websockets.impl import WebsocketImplProtocol
from websockets.protocol import State
from websockets.server import ServerProtocol

_INTERNALS = ("conn_mutex", "ws_proto", "io_proto", "data_finished_fut")


def can_batch(ws: WebsocketImplProtocol) -> bool:
    return all(hasattr(ws, name) for name in _INTERNALS)


async def send_text_frames(ws: WebsocketImplProtocol, messages: list[str]) -> None:
    """Send ``messages`` in order, as one text frame each."""
    if not messages:
        return
    if len(messages) == 1 or not can_batch(ws):
        for message in messages:
            await ws.send(message)
        return
    async with ws.conn_mutex:
        if ws.ws_proto.state in (State.CLOSED, State.CLOSING):
            raise WebsocketClosed("Cannot write to websocket interface after it is closed.")
        if not ws.data_finished_fut or ws.data_finished_fut.done():
            raise ServerError("Cannot write to websocket interface after it is finished.")
        await ws.io_proto.send(_framed(ws.ws_proto, messages))


def write_now(ws: WebsocketImplProtocol, messages: list[str]) -> bool:
    """Write ``messages`` to the socket without waiting, if it can take them: nothing else is
    being sent on it (Sanic's lock is free), it is open, and its transport is not pushing back.
    False when it cannot; the caller then queues them for :func:`send_text_frames`.

    Only for a socket that :func:`can_batch`: the caller checks that once per connection,
    since this runs for every delta of every stream."""
    if ws.conn_mutex.locked():
        return False
    if ws.ws_proto.state is not State.OPEN or not ws.data_finished_fut:
        return False
    if ws.data_finished_fut.done():
        return False
    transport = getattr(ws.io_proto, "transport", None)
    can_write = getattr(ws.io_proto, "_can_write", None)
    if transport is None or transport.is_closing() or can_write is None or not can_write.is_set():
        return False
    transport.write(_framed(ws.ws_proto, messages))
    return True


def _framed(protocol: ServerProtocol, messages: list[str]) -> bytes:
    """``messages`` as text frames, after anything the protocol object still has to send.

    With no extension negotiated (Sanic offers none) and no fragmented message open, a text
    frame is a two- to ten-byte header and the payload, unmasked from a server (RFC 6455, 5.2):
    built here it costs a fraction of the protocol object's framing, once per frame per socket.
    """
    if protocol.extensions or protocol.expect_continuation_frame:
        for message in messages:
            protocol.send_text(message.encode())
        return b"".join(protocol.data_to_send())
    return b"".join([*protocol.data_to_send(), *map(text_frame, messages)])


def text_frame(message: str) -> bytes:
    """One unfragmented, unmasked WebSocket text frame carrying ``message``."""
    payload = message.encode()
    length = len(payload)
    if length < 126:
        return bytes((0x81, length)) + payload
    if length < 65536:
        return b"\x81\x7e" + length.to_bytes(2, "big") + payload
    return b"\x81\x7f" + length.to_bytes(8, "big") + payload
