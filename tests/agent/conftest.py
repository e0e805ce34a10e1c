"""Fixtures for the agent's tools: a fresh workspace per test, and the sandbox modes."""

from __future__ import annotations

from pathlib import Path

import pytest

from service.agent.tools import detect_sandbox


def bwrap_works() -> bool:
    return detect_sandbox("auto") == "bwrap"


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """An empty workspace directory, with siblings a sandbox must not reveal."""
    path = tmp_path / "workspace"
    path.mkdir()
    return path


@pytest.fixture
def requires_bwrap() -> None:
    if not bwrap_works():
        pytest.skip("bubblewrap does not work on this machine")


@pytest.fixture(params=["none", "bwrap"])
def sandbox(request: pytest.FixtureRequest) -> str:
    """Each sandbox mode in turn; "bwrap" is skipped where bubblewrap does not work."""
    if request.param == "bwrap" and not bwrap_works():
        pytest.skip("bubblewrap does not work on this machine")
    return request.param
