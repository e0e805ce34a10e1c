"""The processes a scenario runs: the stand-in model, Portagent itself, and what we read of them.

Portagent is started by the tests' own :class:`ServerProcess` (``python -m service.cli``, the
command a user runs, with ``DATA_DIR`` in a temporary folder), so the bench and the test suite
start the server the same way.
"""

from __future__ import annotations

import contextlib
import os
import platform
import resource
import select
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
MODEL_START_TIMEOUT = 15.0

# tests/ is not a package: the suite imports its helpers as ``support.*`` with tests/ on the
# path (pytest's rootdir conftest), and the bench does the same.
if str(REPO / "tests") not in sys.path:
    sys.path.append(str(REPO / "tests"))

import support.server  # noqa: E402
from support.server import ServerProcess  # noqa: E402

# On a machine busy with other work a server can take well over the tests' 20 s to import and
# start; a benchmark would rather wait than fail (its start-up is measured in scenario 7).
support.server.STARTUP_TIMEOUT = max(support.server.STARTUP_TIMEOUT, 90.0)

# What every bench server gets, on top of ServerProcess's test defaults: the log level a
# user runs with (debug logging on the hot path would be measured too), cheap password
# hashes (only the login storm pays real bcrypt cost), and no registration limit, since the
# bench registers hundreds of users from one address.
BENCH_SERVER_ENV = {
    "LOG_LEVEL": "info",
    "BCRYPT_ROUNDS": "4",
    "REGISTER_MAX_PER_ADDRESS": "0",
    "LLM_TIMEOUT": "60",
}


class ModelProcess:
    """``python -m bench.model`` in a process of its own, on a free loopback port."""

    def __init__(self, tokens: int = 50, delay: float = 0.0) -> None:
        self.tokens = tokens
        self.delay = delay
        self.process: subprocess.Popen[bytes] | None = None
        self.url = ""

    def start(self) -> ModelProcess:
        command = [sys.executable, "-m", "bench.model", "--tokens", str(self.tokens)]
        command += ["--delay", str(self.delay), "--port", "0"]
        self.process = subprocess.Popen(
            command, cwd=REPO, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL
        )
        line = _read_line(self.process, MODEL_START_TIMEOUT)
        if not line.startswith("READY "):
            self.stop()
            raise RuntimeError(f"the bench model did not start: {line!r}")
        self.url = line.split(" ", 1)[1].strip()
        return self

    def cpu(self) -> float:
        """CPU seconds the model process has used so far."""
        assert self.process is not None
        return cpu_seconds(self.process.pid)

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        if self.process.stdout is not None:
            self.process.stdout.close()

    def __enter__(self) -> ModelProcess:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def _read_line(process: subprocess.Popen[bytes], timeout: float) -> str:
    """The process's first line of output, waiting at most ``timeout`` seconds."""
    assert process.stdout is not None
    ready, _, _ = select.select([process.stdout], [], [], timeout)
    if not ready:
        return ""
    return process.stdout.readline().decode(errors="replace")


@contextlib.contextmanager
def portagent(model_url: str, **env: str) -> Iterator[ServerProcess]:
    """A Portagent server with a fresh data directory, killed (not stopped) at the end.

    Killing saves the 2-4 s a graceful stop of the single-process server takes; nothing a
    benchmark measures happens at shutdown, and the data directory is thrown away.
    """
    with tempfile.TemporaryDirectory(prefix="portagent-bench-") as root:
        server = ServerProcess(Path(root) / "data", model_url, **{**BENCH_SERVER_ENV, **env})
        server.start()
        try:
            yield server
        finally:
            server.kill()


def process_memory(pid: int) -> dict[str, int]:
    """VmRSS (resident now) and VmHWM (peak resident) of a process, in KiB."""
    values: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, rest = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            values[name] = int(rest.split()[0])
    return values


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time a process has used so far (from /proc/PID/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mib(pid: int) -> float:
    return process_memory(pid)["VmRSS"] / 1024


def raise_open_files(wanted: int) -> int:
    """Raise this process's soft open-file limit towards ``wanted`` (children inherit it);
    returns the limit now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        soft = target
    return soft


def load_average() -> tuple[float, float, float]:
    return os.getloadavg()


def machine() -> dict[str, Any]:
    """The machine a run happened on, for the JSON and the docs."""
    cpu = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    memory_kib = 0
    with contextlib.suppress(OSError, ValueError, IndexError):
        memory_kib = int(Path("/proc/meminfo").read_text().split()[1])
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "memory_gib": round(memory_kib / 1024 / 1024, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "load_average": [round(value, 2) for value in load_average()],
        "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
