"""A missing deploy tool skips its tests on a developer's machine but fails them in CI."""

from __future__ import annotations

import pytest
from deploytools import find_tool


def test_missing_tool_fails_in_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="no-such-tool-4711 is not installed"):
        find_tool("no-such-tool-4711")


def test_missing_tool_skips_elsewhere(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="make install-test"):
        find_tool("no-such-tool-4711")


def test_present_tool_is_found() -> None:
    assert find_tool("hadolint").endswith("/hadolint")
