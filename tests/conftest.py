"""Shared fixtures: apps built from the factory, each with its own data directory."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sanic import Sanic

from service.app import create_app, next_test_app_name
from service.config import Settings, load_settings

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
