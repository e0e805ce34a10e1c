"""Spreading a burst of bookkeeping over turns of the event loop."""

from __future__ import annotations

import asyncio
from collections import deque


class TurnGate:
    """Lets its waiters through one per turn of the event loop, in the order they came.

    When many runs end at the same moment (users whose replies started together and stream
    at the same pace), each one's end (committing the reply, recording how the run ended:
    about 0.8 ms) ran back to back in a single turn of the loop, and for that long no delta of
    the streams still going was relayed: the largest gaps of scenario 3 in
    docs/benchmarks.md. Through the gate, a turn of the loop does at most one of them, between
    the deltas of the other streams; a lone run waits one or two turns (microseconds).
    """

    def __init__(self) -> None:
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._releasing = False

    async def wait(self) -> None:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        self._waiters.append(future)
        if not self._releasing:
            self._releasing = True
            loop.call_soon(self._release_one)
        await future

    def _release_one(self) -> None:
        while self._waiters:
            future = self._waiters.popleft()
            if not future.done():  # a waiter cancelled meanwhile is skipped
                future.set_result(None)
                break
        if self._waiters:
            asyncio.get_running_loop().call_soon(self._release_one)
        else:
            self._releasing = False
