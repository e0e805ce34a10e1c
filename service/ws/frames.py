"""Sending several text messages on a Sanic WebSocket in one write to the socket.

Sanic's ``ws.send`` frames one message and writes it to the transport: one system call per
message, which was a fifth of the server's time when it relayed a fast reply (docs/benchmarks.md).
``send_text_frames`` does for a list of messages what ``ws.send`` does for one (the same lock,
the same state checks, framing by the same ``websockets`` protocol object) and then writes all
the frames at once. It uses attributes of Sanic's ``WebsocketImplProtocol`` that are not public;
when they are not there (another Sanic version), it falls back to ``ws.send`` per message.
"""

from __future__ import annotations

from sanic.exceptions import ServerError, WebsocketClosed
from sanic.server.websockets.impl import WebsocketImplProtocol
from websockets.protocol import State

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
        protocol = ws.ws_proto
        for message in messages:
            protocol.send_text(message.encode())
        await ws.io_proto.send(b"".join(protocol.data_to_send()))
