"""A stand-in model in this process for the tests that run a real server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from support.server import SERVER_KEY

from service.standin import ThreadedStandIn, demo_responder


@pytest.fixture(scope="module")
def standin() -> Iterator[ThreadedStandIn]:
    model = ThreadedStandIn(demo_responder, api_key=SERVER_KEY)
    model.start()
    yield model
    model.stop()
