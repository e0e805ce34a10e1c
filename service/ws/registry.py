"""Open sockets by token, so that a revoked or expired token ends its sockets at once."""

from __future__ import annotations

import asyncio
import time

from .connection import CLOSE_UNAUTHORIZED, Connection


class SocketRegistry:
    def __init__(self) -> None:
        self._sockets: set[Connection] = set()

    def add(self, conn: Connection) -> None:
        self._sockets.add(conn)

    def discard(self, conn: Connection) -> None:
        self._sockets.discard(conn)

    def __len__(self) -> int:
        return len(self._sockets)

    def close_token(self, token_id: str) -> None:
        for conn in [c for c in self._sockets if c.token_id == token_id]:
            conn.close_soon(CLOSE_UNAUTHORIZED, "token revoked")

    def close_user(self, user_id: str, reason: str = "account deactivated") -> None:
        for conn in [c for c in self._sockets if c.user_id == user_id]:
            conn.close_soon(CLOSE_UNAUTHORIZED, reason)

    def close_expired(self) -> None:
        now = time.time()
        for conn in [c for c in self._sockets if c.token_expires_at <= now]:
            conn.close_soon(CLOSE_UNAUTHORIZED, "token expired")

    async def drain(self, within: float) -> None:
        """Give every socket up to ``within`` seconds to send what is queued."""
        flushing = [asyncio.ensure_future(conn.flushed()) for conn in self._sockets]
        if not flushing:
            return
        _done, pending = await asyncio.wait(flushing, timeout=within)
        for task in pending:
            task.cancel()
