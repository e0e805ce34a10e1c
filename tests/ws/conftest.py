"""A real server process per module, talking to a stand-in model in this process."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from support.server import ServerProcess, register

from service.standin import ThreadedStandIn, demo_responder

_names = itertools.count(1)


@pytest.fixture(autouse=True)
def demo_replies(standin: ThreadedStandIn) -> None:
    """Each test starts from the demo script; tests that need more set their own."""
    standin.set_responder(demo_responder)


@pytest.fixture(scope="module")
def server(
    standin: ThreadedStandIn, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    process = ServerProcess(tmp_path_factory.mktemp("server") / "data", standin.url or "")
    with process:
        yield process


@pytest.fixture
def new_user(server: ServerProcess) -> Callable[[], dict[str, Any]]:
    """Register a fresh user on the module's server; returns the register response."""

    def make() -> dict[str, Any]:
        return register(server.base, f"user{next(_names)}")

    return make
