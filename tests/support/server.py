"""A real Portagent server process on loopback, and a WebSocket client for its protocol."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import websockets
from agui.verify import validate_event_models

REPO = Path(__file__).resolve().parents[2]
STARTUP_TIMEOUT = 20.0
FRAME_TIMEOUT = 15.0
SERVER_KEY = "sk-ant-test-server-key-0123456789abcdef"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ServerProcess:
    """``portagent`` as a user runs it, pointed at a stand-in model."""

    def __init__(self, data_dir: Path, model_url: str, **env: str) -> None:
        self.data_dir = data_dir
        self.model_url = model_url
        self.extra_env = env
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path = data_dir.parent / f"server-{self.port}.out"

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"

    def start(self) -> ServerProcess:
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            # The server is the code next to these tests, whatever else is installed.
            "PYTHONPATH": str(REPO),
            "HOME": str(self.data_dir.parent),
            "LANG": "C.UTF-8",
            "LLM_PROVIDER_KEY": SERVER_KEY,
            "LLM_PROVIDER_URL": self.model_url,
            "LLM_MAX_RETRIES": "0",
            "LLM_TIMEOUT": "10",
            "DATA_DIR": str(self.data_dir),
            "PORT": str(self.port),
            "HOST": "127.0.0.1",
            "INVITE_CODE_REQUIRED": "false",
            "BCRYPT_ROUNDS": "4",
            "LOG_LEVEL": "debug",
            "AGENT_BASH_TIMEOUT": "20",
        }
        env.update(self.extra_env)
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "service.cli"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=str(self.data_dir.parent),
            start_new_session=True,
        )
        log.close()
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited at start:\n{self.output()}")
            with (
                contextlib.suppress(OSError),
                urllib.request.urlopen(self.base + "/health", timeout=1) as response,
            ):
                if response.status == 200:
                    return self
            time.sleep(0.1)
        self.kill()
        raise RuntimeError(f"server did not start:\n{self.output()}")

    def output(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self, timeout: float = 15.0) -> int:
        """SIGTERM and wait: a clean stop."""
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise

    def kill(self) -> None:
        """SIGKILL the whole process group: a crash (shells started by tools die too)."""
        if self.process is not None and self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)

    def __enter__(self) -> ServerProcess:
        # `with ServerProcess(...).start() as server:` must not start (and leak) a second one.
        if self.process is not None and self.process.poll() is None:
            return self
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        if self.process is not None and self.process.poll() is None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.stop()


def http_json(
    base: str, method: str, path: str, body: Any = None, token: str | None = None
) -> tuple[int, Any]:
    headers = {"content-type": "application/json"}
    if token:
        headers["authorization"] = f"Bearer {token}"
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(base + path, data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def register(base: str, username: str, password: str = "secret-pass") -> dict[str, Any]:
    status, body = http_json(
        base, "POST", "/api/auth/register", {"username": username, "password": password}
    )
    assert status == 201, body
    return body


class ProtocolError(AssertionError):
    pass


class Client:
    """A /ws client: commands get their result; events and notices are kept in order."""

    def __init__(self, ws: websockets.ClientConnection, hello: dict[str, Any]) -> None:
        self.ws = ws
        self.hello = hello
        self.frames: list[dict[str, Any]] = []
        self._counter = 0

    @classmethod
    async def connect(cls, url: str, token: str, **options: Any) -> Client:
        ws = await websockets.connect(f"{url}?token={token}", open_timeout=10, **options)
        hello = json.loads(await asyncio.wait_for(ws.recv(), FRAME_TIMEOUT))
        assert hello["type"] == "hello", hello
        return cls(ws, hello)

    async def close(self) -> None:
        await self.ws.close()

    async def next_frame(self, within: float = FRAME_TIMEOUT) -> dict[str, Any]:
        frame = json.loads(await asyncio.wait_for(self.ws.recv(), within))
        if frame.get("type") == "event":
            # Every event a test receives must be one the AG-UI models accept.
            validate_event_models([frame["event"]])
        self.frames.append(frame)
        return frame

    async def request(self, kind: str, **fields: Any) -> dict[str, Any]:
        """Send a command and return its whole result frame."""
        self._counter += 1
        command_id = f"c{self._counter}"
        await self.ws.send(json.dumps({"type": kind, "id": command_id, **fields}))
        while True:
            frame = await self.next_frame()
            if frame["type"] == "result" and frame["id"] == command_id:
                return frame

    async def call(self, kind: str, **fields: Any) -> dict[str, Any]:
        """Send a command that must succeed; return its data."""
        result = await self.request(kind, **fields)
        if not result["ok"]:
            raise ProtocolError(f"{kind} failed: {result['error']}")
        return result["data"]

    def events(self, session_id: str | None = None) -> list[dict[str, Any]]:
        return [
            frame
            for frame in self.frames
            if frame["type"] == "event" and (session_id is None or frame["sessionId"] == session_id)
        ]

    async def wait_for(
        self, predicate: Callable[[dict[str, Any]], bool], within: float = FRAME_TIMEOUT
    ) -> dict[str, Any]:
        for frame in self.frames:
            if predicate(frame):
                return frame
        deadline = time.monotonic() + within
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("no matching frame")
            frame = await self.next_frame(remaining)
            if predicate(frame):
                return frame

    async def wait_for_event(
        self,
        session_id: str,
        event_type: str,
        *,
        after_seq: int = 0,
        within: float = FRAME_TIMEOUT,
    ) -> dict[str, Any]:
        return await self.wait_for(
            lambda f: (
                f["type"] == "event"
                and f["sessionId"] == session_id
                and f["seq"] > after_seq
                and f["event"]["type"] == event_type
            ),
            within,
        )

    async def run_to_end(
        self, session_id: str, content: str, within: float = FRAME_TIMEOUT
    ) -> list[dict[str, Any]]:
        """Send a message and return the run's events (RUN_STARTED to its terminal event)."""
        sent = await self.call("message.send", sessionId=session_id, content=content)
        terminal = await self.wait_for(
            lambda f: (
                f["type"] == "event"
                and f["sessionId"] == session_id
                and f["event"]["type"] in ("RUN_FINISHED", "RUN_ERROR")
                and _run_of(self, f) == sent["runId"]
            ),
            within,
        )
        return run_events(self.events(session_id), sent["runId"], terminal["seq"])


def _run_of(client: Client, terminal: dict[str, Any]) -> str | None:
    started = [
        f
        for f in client.events(terminal["sessionId"])
        if f["event"]["type"] == "RUN_STARTED" and f["seq"] < terminal["seq"]
    ]
    return started[-1]["event"]["runId"] if started else None


def run_events(frames: list[dict[str, Any]], run_id: str, last_seq: int) -> list[dict[str, Any]]:
    start = next(
        f["seq"]
        for f in frames
        if f["event"]["type"] == "RUN_STARTED" and f["event"]["runId"] == run_id
    )
    return [f for f in frames if start <= f["seq"] <= last_seq]


def types(frames: list[dict[str, Any]]) -> list[str]:
    return [frame["event"]["type"] for frame in frames]
