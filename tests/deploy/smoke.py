"""Smoke test of a running Portagent: health, registration, sign-in, info, and one chat run.

CI runs it against the container image it just built (started with LLM_PROVIDER=demo), and
tests/deploy/test_smoke.py runs it against a local ``portagent --demo`` so that the script
itself is tested. It needs only the standard library and ``websockets``.

    python tests/deploy/smoke.py http://127.0.0.1:5200 [--expect-ui] [--timeout 60]

Exit code 0 when every step passed; otherwise 1 and the failing step on stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import sys
import time
import urllib.error
import urllib.request
import uuid
from typing import Any

import websockets

PASSWORD = "smoke-test-password"


class SmokeFailure(Exception):
    """A step of the smoke test did not give what it should."""


def http(
    base: str, method: str, path: str, body: dict[str, Any] | None = None, token: str = ""
) -> tuple[int, str, bytes]:
    """One HTTP request; returns (status, content type, body) for any status."""
    headers = {"Content-Type": "application/json"} if body is not None else {}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(base + path, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.headers.get("Content-Type", ""), response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get("Content-Type", ""), error.read()


def expect_json(base: str, method: str, path: str, status: int, **kwargs: Any) -> Any:
    code, _, raw = http(base, method, path, **kwargs)
    if code != status:
        raise SmokeFailure(f"{method} {path}: expected {status}, got {code}: {raw[:200]!r}")
    return json.loads(raw)


def wait_ready(base: str, timeout: float) -> None:
    """Poll /readyz until it answers 200 (the databases are open)."""
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        try:
            code, _, raw = http(base, "GET", "/readyz")
            if code == 200:
                return
            last = f"{code} {raw[:100]!r}"
        except OSError as error:
            last = str(error)
        time.sleep(0.5)
    raise SmokeFailure(f"not ready within {timeout:.0f} s: {last}")


def daily_invite_code() -> str:
    """Today's code: the Unix time of today's 00:00:01 (local time zone, as the server's)."""
    today = dt.datetime.combine(dt.date.today(), dt.time(0, 0, 1))
    return str(int(today.timestamp()))


async def command(ws: Any, frames: list[dict[str, Any]], **fields: Any) -> dict[str, Any]:
    """Send a command and return its result's data; other frames read meanwhile go to frames."""
    await ws.send(json.dumps(fields))
    while True:
        frame = json.loads(await ws.recv())
        if frame.get("type") != "result" or frame.get("id") != fields["id"]:
            frames.append(frame)
            continue
        if not frame.get("ok"):
            raise SmokeFailure(f"{fields['type']} failed: {frame.get('error')}")
        return frame["data"]


async def chat_once(base: str, token: str) -> str:
    """Open /ws, check hello, create a session, send a message; return the streamed reply."""
    url = base.replace("http", "ws", 1) + "/ws?token=" + token
    async with websockets.connect(url) as ws:
        hello = json.loads(await ws.recv())
        if hello.get("type") != "hello":
            raise SmokeFailure(f"first frame is not hello: {hello}")
        frames: list[dict[str, Any]] = []
        created = await command(ws, frames, type="session.create", id="1")
        session_id = created["session"]["id"]
        await command(
            ws, frames, type="message.send", id="2", sessionId=session_id, content="Hello"
        )
        reply: list[str] = []
        assistant_messages: set[str] = set()
        while True:
            frame = frames.pop(0) if frames else json.loads(await ws.recv())
            if frame.get("type") != "event":
                continue
            event = frame["event"]
            if event["type"] == "TEXT_MESSAGE_START" and event.get("role") == "assistant":
                assistant_messages.add(event["messageId"])
            elif (
                event["type"] == "TEXT_MESSAGE_CONTENT" and event["messageId"] in assistant_messages
            ):
                reply.append(event["delta"])
            elif event["type"] == "RUN_ERROR":
                raise SmokeFailure(f"the run failed: {event}")
            elif event["type"] == "RUN_FINISHED":
                outcome = event.get("outcome", {}).get("type", "success")
                if outcome != "success":
                    raise SmokeFailure(f"the run ended with {outcome}")
                return "".join(reply)


async def refused_without_token(base: str) -> None:
    url = base.replace("http", "ws", 1) + "/ws"
    try:
        async with asyncio.timeout(10), websockets.connect(url):
            pass
    except websockets.InvalidStatus as error:
        if error.response.status_code == 401:
            return
        raise SmokeFailure(f"/ws without a token: {error.response.status_code}") from None
    raise SmokeFailure("/ws without a token was accepted")


def run(base: str, timeout: float, expect_ui: bool) -> None:
    base = base.rstrip("/")
    wait_ready(base, timeout)
    step("ready")
    health = expect_json(base, "GET", "/health", 200)
    if health.get("status") != "ok":
        raise SmokeFailure(f"/health: {health}")
    step("health ok")

    config = expect_json(base, "GET", "/api/auth/config", 200)
    username = f"smoke-{uuid.uuid4().hex[:10]}"
    body: dict[str, Any] = {"username": username, "password": PASSWORD}
    if config.get("inviteCodeRequired"):
        body["inviteCode"] = daily_invite_code()
    expect_json(base, "POST", "/api/auth/register", 201, body=body)
    step(f"registered {username}")

    login = {"usernameOrEmail": username, "password": PASSWORD}
    token = expect_json(base, "POST", "/api/auth/login", 200, body=login)["token"]
    info = expect_json(base, "GET", "/agentx/info", 200, token=token)
    step(f"signed in; server version {info.get('version')}, demo {info.get('demo')}")

    asyncio.run(refused_without_token(base))
    reply = asyncio.run(asyncio.wait_for(chat_once(base, token), timeout))
    if not reply.strip():
        raise SmokeFailure("the run finished without any text")
    step(f"chat over /ws: {reply[:60]!r}")

    if expect_ui:
        code, content_type, page = http(base, "GET", "/")
        if code != 200 or "text/html" not in content_type or b"<html" not in page.lower():
            raise SmokeFailure(f"GET / did not serve the UI: {code} {content_type}")
        step("web UI served")


def step(message: str) -> None:
    print(f"smoke: {message}", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("base", help="the server's base URL, e.g. http://127.0.0.1:5200")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds per wait")
    parser.add_argument("--expect-ui", action="store_true", help="also require the web UI at /")
    args = parser.parse_args(argv)
    try:
        run(args.base, args.timeout, args.expect_ui)
    except (SmokeFailure, OSError, TimeoutError, websockets.WebSocketException) as error:
        print(f"smoke: FAILED: {error}", file=sys.stderr)
        return 1
    step("all passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
