"""Shared fixtures: apps built from the factory, each with its own data directory."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

import pytest
from sanic import Sanic
from sanic_testing.reusable import ReusableClient
from support.server import SERVER_KEY

from service.app import create_app, next_test_app_name
from service.config import Settings, load_settings
from service.standin import ThreadedStandIn, demo_responder

Sanic.test_mode = True

TEST_KEY = "sk-ant-test-0123456789abcdefghijklmnop"


@pytest.fixture
def make_settings(tmp_path: Path) -> Callable[..., Settings]:
    """Settings for a test: a temporary data dir, a fake key, cheap bcrypt; overrides by name."""

    def build(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "DATA_DIR": str(tmp_path / "data-dir"),
            "LLM_PROVIDER_KEY": TEST_KEY,
            "BCRYPT_ROUNDS": "4",
            "INVITE_CODE_REQUIRED": "false",
            "LOG_LEVEL": "debug",
        }
        values.update({key: str(value) for key, value in overrides.items()})
        return load_settings(environ={}, overrides=values, cwd=tmp_path)

    return build


@pytest.fixture
def make_app(make_settings: Callable[..., Settings]) -> Callable[..., Sanic]:
    def build(**overrides: Any) -> Sanic:
        return create_app(make_settings(**overrides), name=next_test_app_name())

    return build


@pytest.fixture
def app(make_app: Callable[..., Sanic]) -> Sanic:
    return make_app()


# --- Helpers for the auth, config, CLI and error tests (added after the fixtures above) ---

PORTAGENT = Path(sys.executable).with_name("portagent")


def find_free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def free_port() -> Callable[[], int]:
    return find_free_port


@pytest.fixture
def serve(make_app: Callable[..., Sanic]) -> Callable[..., AbstractContextManager[ReusableClient]]:
    """Start an app on a free loopback port for several requests (one server, so state such as
    rate limits lasts between them): ``with serve(INVITE_CODE_REQUIRED="true") as client:``."""

    @contextmanager
    def start(**overrides: Any) -> Iterator[ReusableClient]:
        app = make_app(**overrides)
        try:
            with ReusableClient(app, host="127.0.0.1", port=find_free_port()) as client:
                yield client
        finally:
            Sanic.unregister_app(app)

    return start


@pytest.fixture
def register_user() -> Callable[..., dict[str, Any]]:
    """Register through the API and return the answer's body (token, user, expiresIn)."""

    def register(
        client: ReusableClient,
        username: str = "alice",
        password: str = "secret-password",
        **fields: Any,
    ) -> dict[str, Any]:
        _, response = client.post(
            "/api/auth/register", json={"username": username, "password": password, **fields}
        )
        assert response.status == 201, response.text
        return response.json

    return register


@pytest.fixture
def cli_env(tmp_path: Path) -> Callable[..., dict[str, str]]:
    """A clean environment for a ``portagent`` subprocess: nothing inherited that could set a
    key or a setting, a private HOME, plus the given variables."""

    def build(**variables: str) -> dict[str, str]:
        home = tmp_path / "home"
        home.mkdir(exist_ok=True)
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home)}
        env["LANG"] = "C.UTF-8"
        env.update(variables)
        return env

    return build


@pytest.fixture
def run_cli(tmp_path: Path, cli_env: Callable[..., dict[str, str]]) -> Callable[..., Any]:
    """Run ``portagent ARGS`` to completion (from an empty working directory, so no stray
    ``.env`` is read) and return the ``CompletedProcess``."""
    workdir = tmp_path / "cwd"
    workdir.mkdir(exist_ok=True)

    def run(*args: str, env: dict[str, str] | None = None, timeout: float = 30) -> Any:
        return subprocess.run(
            [str(PORTAGENT), *args],
            env=cli_env() if env is None else env,
            cwd=workdir,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    return run


SHARED_DEFAULTS = {
    "LLM_PROVIDER_KEY": TEST_KEY,
    "BCRYPT_ROUNDS": "4",
    "INVITE_CODE_REQUIRED": "false",
    "LOG_LEVEL": "debug",
    # Many tests share this server: its limits are off unless a module turns them on.
    "LOGIN_MAX_FAILURES_PER_ACCOUNT": "0",
    "LOGIN_MAX_FAILURES_PER_ADDRESS": "0",
    "REGISTER_MAX_PER_ADDRESS": "0",
}


@pytest.fixture(scope="module")
def shared_client(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ReusableClient]:
    """One server for a whole test module, for the many checks that need no fresh state (so
    that each does not pay for booting an app). A module may set ``SHARED_SETTINGS``."""
    root = tmp_path_factory.mktemp("shared")
    overrides = {**SHARED_DEFAULTS, "DATA_DIR": str(root / "data-dir")}
    overrides.update({k: str(v) for k, v in getattr(request.module, "SHARED_SETTINGS", {}).items()})
    settings = load_settings(environ={}, overrides=overrides, cwd=root)
    app = create_app(settings, name=next_test_app_name())
    try:
        with ReusableClient(app, host="127.0.0.1", port=find_free_port()) as client:
            yield client
    finally:
        Sanic.unregister_app(app)


@pytest.fixture(scope="module")
def standin() -> Iterator[ThreadedStandIn]:
    """The stand-in model on loopback, answering with the demo script (the real SDK path runs
    end to end). tests/web overrides it with its own script."""
    model = ThreadedStandIn(demo_responder, api_key=SERVER_KEY)
    model.start()
    yield model
    model.stop()
