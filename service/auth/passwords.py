"""Password hashing: SHA-256 then bcrypt, always in a worker thread.

bcrypt reads only the first 72 bytes of its input (and bcrypt 5 refuses longer input), so the
password is first hashed with SHA-256 and base64-encoded (44 bytes): every one of up to 256
characters counts. A bcrypt hash costs about 0.3 s of CPU at cost 12, so it never runs on the
event loop. It runs in a pool of its own whose threads have the lowest CPU priority (Linux keeps
a nice value per thread): bcrypt releases the GIL, so a burst of sign-ins would otherwise take
both cores from the event loop and stall every stream; at nice 19 the hashes use what the loop
leaves over.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import functools
import hashlib
import os
from concurrent.futures import ThreadPoolExecutor

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


HASHING_NICENESS = 19


def _lower_own_priority() -> None:
    """Run in each new pool thread: on Linux, PRIO_PROCESS with who=0 names the calling thread."""
    with contextlib.suppress(OSError, AttributeError):
        os.setpriority(os.PRIO_PROCESS, 0, HASHING_NICENESS)


@functools.cache
def hashing_pool() -> ThreadPoolExecutor:
    """Made on first use, not at import. One thread per core: more would only queue on the CPU."""
    return ThreadPoolExecutor(
        max_workers=os.cpu_count() or 1,
        thread_name_prefix="password-hash",
        initializer=_lower_own_priority,
    )


def hashing_thread_niceness() -> int:
    """The nice value of a hashing thread (for tests and diagnostics)."""
    return hashing_pool().submit(os.getpriority, os.PRIO_PROCESS, 0).result(timeout=10)


async def hash_password(password: str, rounds: int) -> str:
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(hashing_pool(), hash_password_sync, password, rounds)


async def check_password(password: str, password_hash: str) -> bool:
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(hashing_pool(), check_password_sync, password, password_hash)


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
