"""A bounded soak: many users chatting with tools at once for a while. No run may fail, the
server's memory must stay within a bound, and no process or file descriptor may leak.

``SOAK_SECONDS`` (default 60) and ``SOAK_USERS`` (default 20) size it; for the five-minute,
fifty-user run: ``SOAK_SECONDS=300 SOAK_USERS=50 .venv/bin/pytest -s tests/security/test_soak.py``.
"""

from __future__ import annotations

import asyncio
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from support.server import Client, ServerProcess, register

from service.standin import ThreadedStandIn, demo_responder

SOAK_SECONDS = float(os.environ.get("SOAK_SECONDS", "60"))
SOAK_USERS = int(os.environ.get("SOAK_USERS", "20"))
RUNS_PER_SESSION = 15  # then the user starts a new conversation and deletes the old one
RSS_GROWTH_BOUND = 96 * 1024 * 1024
SAMPLE_EVERY = 2.0
WORKER_THREADS = min(32, (os.cpu_count() or 1) + 4)  # asyncio.to_thread's default pool

pytestmark = pytest.mark.timeout(SOAK_SECONDS + 240)


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def open_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def fd_targets(pid: int) -> list[str]:
    targets = []
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            targets.append(os.readlink(f"/proc/{pid}/fd/{fd}"))
        except OSError:
            continue
    return sorted(targets)


def descendants(pid: int) -> list[int]:
    """Every live process below ``pid`` (tool shells, bwrap and what they started)."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        parents[int(entry)] = int(stat.rsplit(")", 1)[1].split()[1])
    found, frontier = [], [pid]
    while frontier:
        parent = frontier.pop()
        children = [child for child, ppid in parents.items() if ppid == parent]
        found += children
        frontier += children
    return found


@dataclass
class Samples:
    rss: list[int] = field(default_factory=list)
    fds: list[int] = field(default_factory=list)
    processes: list[int] = field(default_factory=list)


MESSAGES = [
    "run: echo soak-{user}-{n} && ls | wc -l",
    "write: note-{n}.txt\nline one of {user}\nline two",
    "read: note-{n}.txt",
    "hello, how are you today?",
]


async def chat(server: ServerProcess, token: str, user: int, deadline: float) -> int:
    """One user's loop until the deadline; returns how many runs finished."""
    client = await Client.connect(server.ws_url, token)
    session = (await client.call("session.create"))["session"]["id"]
    runs = 0
    while time.monotonic() < deadline:
        text = MESSAGES[runs % len(MESSAGES)].format(user=user, n=runs - runs % len(MESSAGES))
        frames = await client.run_to_end(session, text, within=60)
        end = frames[-1]["event"]
        assert end["type"] == "RUN_FINISHED", (user, runs, end)
        runs += 1
        if runs % RUNS_PER_SESSION == 0:
            old = session
            session = (await client.call("session.create"))["session"]["id"]
            await client.call("session.delete", sessionId=old)
        client.frames.clear()
    await client.call("session.delete", sessionId=session)
    await client.close()
    return runs


def test_many_users_chatting_with_tools_hold_up(standin: ThreadedStandIn, tmp_path: Path) -> None:
    standin.set_responder(demo_responder)
    with ServerProcess(
        tmp_path / "data",
        standin.url or "",
        LOG_LEVEL="info",
        REGISTER_MAX_PER_ADDRESS="0",
        AGENT_BASH_TIMEOUT="30",
    ) as server:
        assert server.process is not None
        pid = server.process.pid
        tokens = [register(server.base, f"soak{index}")["token"] for index in range(SOAK_USERS)]
        idle_fds = open_fds(pid)
        idle_targets = fd_targets(pid)
        samples = Samples()

        async def soak() -> list[int]:
            deadline = time.monotonic() + SOAK_SECONDS

            async def sample() -> None:
                while time.monotonic() < deadline:
                    samples.rss.append(rss_bytes(pid))
                    samples.fds.append(open_fds(pid))
                    samples.processes.append(len(descendants(pid)))
                    await asyncio.sleep(SAMPLE_EVERY)

            sampler = asyncio.get_running_loop().create_task(sample())
            try:
                return await asyncio.gather(
                    *(chat(server, token, index, deadline) for index, token in enumerate(tokens))
                )
            finally:
                sampler.cancel()

        started = time.monotonic()
        runs = asyncio.run(soak())
        elapsed = time.monotonic() - started
        assert all(count > 0 for count in runs), runs

        # Every conversation was deleted: their shells must go. Descriptors may stay only in
        # bounded pools, never one per run: keep-alive connections to the model (at most one
        # per concurrent stream) and each worker thread's SQLite connections (4 files each).
        fd_bound = idle_fds + SOAK_USERS + 4 * WORKER_THREADS + 8
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and (descendants(pid) or open_fds(pid) > fd_bound):
            time.sleep(0.5)
        left = descendants(pid)
        assert left == [], f"processes left behind: {left}"
        assert open_fds(pid) <= fd_bound, (idle_targets, fd_targets(pid))

        warm = samples.rss[len(samples.rss) // 4]
        assert max(samples.rss) - warm < RSS_GROWTH_BOUND, (warm, max(samples.rss))
        output = server.output()
        assert "Traceback" not in output and "unhandled error" not in output
        print(
            f"\nsoak: {SOAK_USERS} users, {sum(runs)} runs in {elapsed:.0f} s, "
            f"RSS {warm / 2**20:.0f} MiB after warm-up, peak {max(samples.rss) / 2**20:.0f} MiB, "
            f"fds idle {idle_fds} peak {max(samples.fds)} after {open_fds(pid)}, "
            f"processes peak {max(samples.processes)}, after {len(left)}"
        )
