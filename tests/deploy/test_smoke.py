"""What the image runs, run here: `portagent --demo` with the image's environment, checked by
the image's and Compose's health checks and by the smoke script CI runs on the image."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from deploytools import REPO
from test_dockerfile import healthcheck_command, parse

SMOKE = Path(__file__).with_name("smoke.py")
PORTAGENT = Path(sys.executable).with_name("portagent")
STOP_WITHIN = 10.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_listening(port: int, process: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, "portagent exited during start"
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise AssertionError(f"portagent did not listen on {port} within {timeout} s")


class Server:
    def __init__(self, process: subprocess.Popen[bytes], port: int, env: dict[str, str]):
        self.process = process
        self.port = port
        self.env = env

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """`portagent` as the image's CMD starts it, with the image's ENV (but on loopback)."""
    home = tmp_path_factory.mktemp("agentx-home")
    port = free_port()
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LANG": "C.UTF-8",
        "HOME": str(home),
        "DATA_DIR": str(home / ".agentx"),
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "NODE_ENV": "production",
        "PYTHONUNBUFFERED": "1",
        "LLM_PROVIDER": "demo",
        "BCRYPT_ROUNDS": "4",
    }
    log = (home / "server.log").open("wb")
    process = subprocess.Popen(
        [str(PORTAGENT)], env=env, cwd=home, stdout=log, stderr=subprocess.STDOUT
    )
    log.close()
    try:
        wait_listening(port, process)
        yield Server(process, port, env)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)


def test_smoke_script_passes_against_a_demo_server(server: Server) -> None:
    args = [sys.executable, str(SMOKE), server.base, "--timeout", "30"]
    if (REPO / "service" / "web" / "dist" / "index.html").is_file():
        args.append("--expect-ui")
    result = subprocess.run(args, capture_output=True, text=True, timeout=90, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "smoke: registered" in result.stdout  # with the daily invite code (the default)
    assert "smoke: all passed" in result.stdout


def test_smoke_script_fails_when_nothing_answers() -> None:
    port = free_port()
    result = subprocess.run(
        [sys.executable, str(SMOKE), f"http://127.0.0.1:{port}", "--timeout", "1"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 1
    assert "smoke: FAILED: not ready" in result.stderr


def dockerfile_healthcheck() -> list[str]:
    return healthcheck_command(parse((REPO / "Dockerfile").read_text())[-1])


def compose_healthcheck(port: int) -> list[str]:
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    test = compose["services"]["portagent"]["healthcheck"]["test"]
    assert test[0] == "CMD"
    # The container always listens on 5200; here the server has a free port.
    return [part.replace("127.0.0.1:5200", f"127.0.0.1:{port}") for part in test[1:]]


def run_check(command: list[str], env: dict[str, str]) -> int:
    command = [sys.executable if command[0] == "python" else command[0], *command[1:]]
    return subprocess.run(command, env=env, capture_output=True, timeout=30, check=False).returncode


def test_image_and_compose_health_checks_pass_while_it_runs(server: Server) -> None:
    assert run_check(dockerfile_healthcheck(), server.env) == 0
    assert run_check(compose_healthcheck(server.port), server.env) == 0


def test_stops_cleanly_on_sigterm_then_health_checks_fail(server: Server) -> None:
    """Runs last in this module: the container runtime's SIGTERM, then a failing check."""
    started = time.monotonic()
    server.process.send_signal(signal.SIGTERM)
    code = server.process.wait(timeout=STOP_WITHIN + 5)
    assert code == 0
    assert time.monotonic() - started < STOP_WITHIN
    assert run_check(dockerfile_healthcheck(), server.env) != 0
    assert run_check(compose_healthcheck(server.port), server.env) != 0
