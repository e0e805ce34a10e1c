"""Password hashing runs off the event loop, at the lowest CPU priority."""

from __future__ import annotations

import asyncio
import os
import sys

import pytest

from service.auth import passwords


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-thread nice is Linux's")
def test_hashing_threads_yield_the_cpu_to_the_event_loop() -> None:
    assert passwords.hashing_thread_niceness() == passwords.HASHING_NICENESS
    assert os.getpriority(os.PRIO_PROCESS, 0) < passwords.HASHING_NICENESS


def test_a_hash_made_in_the_pool_checks_only_its_own_password() -> None:
    async def hash_and_check() -> tuple[bool, bool]:
        stored = await passwords.hash_password("a-good-password", 4)
        right = await passwords.check_password("a-good-password", stored)
        wrong = await passwords.check_password("a-good-passwore", stored)
        return right, wrong

    assert asyncio.run(hash_and_check()) == (True, False)


def test_a_burst_of_checks_all_complete() -> None:
    async def burst() -> list[bool]:
        stored = await passwords.hash_password("secret-password", 4)
        return await asyncio.gather(
            *(passwords.check_password("secret-password", stored) for _ in range(20))
        )

    assert asyncio.run(burst()) == [True] * 20
