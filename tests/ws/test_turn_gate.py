"""Runs that end at the same moment end one per turn of the event loop (sessions.turns), and
every one of them still ends: its reply committed, its end recorded and announced."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from support.server import Client, ServerProcess, register

from service.sessions.turns import TurnGate
from service.standin import ThreadedStandIn, tokens_responder

pytestmark = pytest.mark.timeout(120)


async def _through_gate(gate: TurnGate, count: int, cancel: set[int]) -> tuple[list[int], int]:
    """Send ``count`` waiters through ``gate`` (cancelling those in ``cancel``); return the
    order they came out in and the most that came out within one turn of the loop."""
    passed: list[int] = []
    per_turn: list[int] = [0]
    done = asyncio.Event()

    def tick() -> None:
        per_turn.append(0)
        if not done.is_set():
            asyncio.get_running_loop().call_soon(tick)

    async def waiter(index: int) -> None:
        await gate.wait()
        passed.append(index)
        per_turn[-1] += 1

    asyncio.get_running_loop().call_soon(tick)
    tasks = [asyncio.create_task(waiter(index)) for index in range(count)]
    await asyncio.sleep(0)
    for index in cancel:
        tasks[index].cancel()
    await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), 5)
    done.set()
    return passed, max(per_turn)


def test_waiters_pass_one_per_turn_of_the_loop_in_the_order_they_came() -> None:
    passed, most_in_a_turn = asyncio.run(_through_gate(TurnGate(), 50, set()))
    assert passed == list(range(50))
    assert most_in_a_turn == 1


def test_a_cancelled_waiter_is_skipped_and_holds_up_no_one() -> None:
    gate = TurnGate()
    passed, _ = asyncio.run(_through_gate(gate, 10, {0, 4, 9}))
    assert passed == [1, 2, 3, 5, 6, 7, 8]
    # The gate is idle again: the next waiter goes straight through.
    later, _ = asyncio.run(_through_gate(gate, 1, set()))
    assert later == [0]


USERS = 30
TOKENS = 40


def test_many_runs_that_end_together_all_end_whole(
    standin: ThreadedStandIn, tmp_path: Path
) -> None:
    """Thirty replies started together at the same pace end within a few milliseconds of each
    other: each run is answered in full, announced finished, and stored as completed."""
    standin.set_responder(tokens_responder(TOKENS, 0.005))
    expected = "".join(f"tok{i} " for i in range(1, TOKENS + 1))
    # Thirty registrations from one address: more than the default limit of 20.
    with ServerProcess(
        tmp_path / "data", standin.url or "", REGISTER_MAX_PER_ADDRESS="0"
    ) as server:
        tokens = [register(server.base, f"ender{i}")["token"] for i in range(USERS)]

        async def scenario() -> None:
            clients = [await Client.connect(server.ws_url, token) for token in tokens]
            sessions = [(await c.call("session.create"))["session"]["id"] for c in clients]
            runs = await asyncio.gather(
                *(
                    client.run_to_end(session, "go", within=60)
                    for client, session in zip(clients, sessions, strict=True)
                )
            )
            for client, session, events in zip(clients, sessions, runs, strict=True):
                assert events[-1]["event"]["type"] == "RUN_FINISHED", events[-1]
                deltas = [
                    e["event"]["delta"]
                    for e in events
                    if e["event"]["type"] == "TEXT_MESSAGE_CONTENT" and e["event"]["delta"] != "go"
                ]
                assert "".join(deltas) == expected
                stored = await client.call("session.get", sessionId=session)
                assert [m["role"] for m in stored["messages"]] == ["user", "assistant"]
                assert stored["messages"][-1]["content"] == expected
                assert [run["status"] for run in stored["runs"]] == ["completed"]
                await client.close()

        asyncio.run(scenario())
