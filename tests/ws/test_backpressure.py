"""A client that stops reading: the server neither loses nor reorders its frames, nor blocks
anyone else, while the socket pushes back."""

from __future__ import annotations

import asyncio
import json
import socket
from pathlib import Path
from typing import Any

import pytest
import websockets
from support.server import Client, ServerProcess, register

from service.standin import ThreadedStandIn, tokens_responder

pytestmark = pytest.mark.timeout(180)

# About 7.5 MB of frames: more than the kernel buffers between the server and a client whose
# receive buffer is small, so the server's transport has to push back and the rest waits in
# the socket's outbox (well under its 60,000-frame limit).
TOKENS = 60_000


async def stalled_client(url: str, token: str) -> Client:
    """A client that reads only when asked: a small receive buffer and a tiny frame queue."""
    host, port = url.split("//", 1)[1].split("/", 1)[0].split(":")
    raw = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 32 * 1024)
    raw.connect((host, int(port)))
    ws = await websockets.connect(
        f"{url}?token={token}", sock=raw, open_timeout=10, max_queue=2, max_size=None
    )
    hello = json.loads(await asyncio.wait_for(ws.recv(), 10))
    return Client(ws, hello)


def test_a_client_that_stops_reading_gets_every_frame_in_order_afterwards(
    standin: ThreadedStandIn, tmp_path: Path
) -> None:
    standin.set_responder(tokens_responder(TOKENS))
    with ServerProcess(tmp_path / "data", standin.url or "", LOG_LEVEL="info") as server:
        user = register(server.base, "slow-reader")

        async def scenario() -> None:
            reader = await stalled_client(server.ws_url, user["token"])
            watcher = await Client.connect(server.ws_url, user["token"])
            session = (await reader.call("session.create"))["session"]["id"]
            await reader.ws.send(
                json.dumps(
                    {"type": "message.send", "id": "go", "sessionId": session, "content": "go"}
                )
            )
            # The reader reads nothing while the whole reply is relayed; another socket of the
            # same user still hears at once that the run has finished.
            await watcher.wait_for(
                lambda f: (
                    f["type"] == "notice"
                    and f["session"]["id"] == session
                    and not f["session"]["running"]
                    and f["session"]["messageCount"] == 2
                ),
                within=120,
            )
            done = await watcher.call("session.get", sessionId=session)
            assert done["messages"][-1]["content"] == "".join(
                f"tok{i} " for i in range(1, TOKENS + 1)
            )
            await reader.wait_for_event(session, "RUN_FINISHED", within=120)
            events: list[dict[str, Any]] = [f for f in reader.frames if f["type"] == "event"]
            seqs = [frame["seq"] for frame in events]
            assert seqs == list(range(seqs[0], seqs[0] + len(seqs))), "no gap, no duplicate"
            deltas = [
                f["event"]["delta"]
                for f in events
                if f["event"]["type"] == "TEXT_MESSAGE_CONTENT"
                and f["event"]["messageId"] != done["messages"][0]["id"]
            ]
            assert deltas == [f"tok{i} " for i in range(1, TOKENS + 1)]
            await reader.close()
            await watcher.close()

        asyncio.run(scenario())
