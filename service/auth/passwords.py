"""Password hashing: SHA-256 then bcrypt, always in a worker thread.

bcrypt reads only the first 72 bytes of its input (and bcrypt 5 refuses longer input), so the
password is first hashed with SHA-256 and base64-encoded (44 bytes): every one of up to 256
characters counts. A bcrypt hash costs about 0.3 s of CPU at cost 12, so it never runs on the
event loop.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib

import bcrypt


def _prehash(password: str) -> bytes:
    return base64.b64encode(hashlib.sha256(password.encode("utf-8")).digest())


def hash_password_sync(password: str, rounds: int) -> str:
    return bcrypt.hashpw(_prehash(password), bcrypt.gensalt(rounds=rounds)).decode("ascii")


def check_password_sync(password: str, password_hash: str) -> bool:
    try:
        return bcrypt.checkpw(_prehash(password), password_hash.encode("ascii"))
    except ValueError:
        return False


async def hash_password(password: str, rounds: int) -> str:
    return await asyncio.to_thread(hash_password_sync, password, rounds)


async def check_password(password: str, password_hash: str) -> bool:
    return await asyncio.to_thread(check_password_sync, password, password_hash)


class DummyHash:
    """A real hash to compare against when the user is unknown, so that a login for a missing
    account takes as long as one with a wrong password."""

    def __init__(self, rounds: int) -> None:
        self._rounds = rounds
        self._hash: str | None = None

    async def get(self) -> str:
        if self._hash is None:
            self._hash = await hash_password("portagent-dummy-password", self._rounds)
        return self._hash
