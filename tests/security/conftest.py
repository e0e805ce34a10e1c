"""One real server process per module, with a stand-in model in this process, an admin (the
first user) and an ordinary user."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from harness import Deployment
from support.server import ServerProcess, register

from service.standin import ThreadedStandIn


@pytest.fixture(scope="module")
def deployment(
    standin: ThreadedStandIn, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Deployment]:
    data_dir = tmp_path_factory.mktemp("security") / "data"
    # The corpus sends thousands of requests from one address: no sign-in limits here (the
    # limits have their own tests in tests/auth/test_ratelimit.py).
    with ServerProcess(
        data_dir,
        standin.url or "",
        LOGIN_MAX_FAILURES_PER_ACCOUNT="0",
        LOGIN_MAX_FAILURES_PER_ADDRESS="0",
        REGISTER_MAX_PER_ADDRESS="0",
        LOG_LEVEL="info",
    ) as server:
        yield Deployment(server, register(server.base, "admin"), register(server.base, "member"))
