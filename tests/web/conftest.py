"""Browser tests: Debian's Chromium, driven by Playwright, against a real server and stand-in model.

The browser may reach loopback only: every other request is aborted and recorded, and a test
fails if one was made. Console errors (a Content-Security-Policy violation among them) and
uncaught page errors fail the test too. Screenshots go to ``test-output/screenshots/``; with
``PORTAGENT_UPDATE_SCREENSHOTS=1`` the README's go to ``docs/screenshots/`` as well.

Without Chromium, Playwright or a built UI these tests are skipped, except under
``PORTAGENT_REQUIRE_BROWSER=1`` (what ``make test`` sets), where they fail instead.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import pytest
from support.server import SERVER_KEY, ServerProcess
from webtools import (
    CHROMIUM,
    CHROMIUM_ARGS,
    EXPECT_TIMEOUT_MS,
    LOOPBACK,
    SCREENSHOTS,
    numbered_words,
    shoot,
)

from service.standin import Reply, StatusError, Text, ThreadedStandIn, demo_responder
from service.web import DEFAULT_DIST_DIR

_SLOW = re.compile(r"^slow:\s*(\d+)\s*$")


def _missing_prerequisite() -> str | None:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright is not installed (pip install -e '.[test]')"
    if not CHROMIUM.exists():
        return f"Chromium is not at {CHROMIUM} (bash scripts/install-test-deps.sh)"
    if not (DEFAULT_DIST_DIR / "index.html").exists():
        return "the web UI is not built (make build-web)"
    return None


def e2e_responder(body: dict[str, Any]) -> Reply:
    """The demo script, plus ``slow: N`` (N numbered words streamed at 10 per second) and
    ``overload`` (the API answers 529 Overloaded)."""
    messages = body.get("messages") or []
    last = messages[-1] if messages else {}
    content = last.get("content")
    said = content if isinstance(content, str) else ""
    if isinstance(content, list):
        said = "\n".join(b.get("text", "") for b in content if b.get("type") == "text")
    if said.strip() == "overload":
        return Reply(status_error=StatusError(529))
    match = _SLOW.match(said.strip())
    if match:
        return Reply(content=[Text(numbered_words(int(match.group(1))))], token_delay=0.1)
    return demo_responder(body)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "browser: runs in Chromium against a real server")


@pytest.fixture(scope="session", autouse=True)
def fresh_failure_screenshots() -> None:
    """Screenshots of failures are kept until the next run, which starts without them."""
    for old in SCREENSHOTS.glob("FAILED-*.png"):
        old.unlink()


@pytest.fixture(scope="session")
def standin() -> Iterator[ThreadedStandIn]:
    model = ThreadedStandIn(e2e_responder, api_key=SERVER_KEY)
    model.start()
    yield model
    model.stop()


@pytest.fixture(scope="module")
def server(
    standin: ThreadedStandIn, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    process = ServerProcess(
        tmp_path_factory.mktemp("web-server") / "data",
        standin.url or "",
        REGISTER_MAX_PER_ADDRESS="0",
        LOGIN_MAX_FAILURES_PER_ADDRESS="0",
    )
    with process:
        yield process


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Chromium for one module. Not longer: Playwright's sync API keeps an event loop in the
    main thread while it runs, and later tests run loops of their own there."""
    reason = _missing_prerequisite()
    if reason is not None:
        if os.environ.get("PORTAGENT_REQUIRE_BROWSER") == "1":
            pytest.fail(f"Browser tests cannot run: {reason}")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        yield instance
        instance.close()


@dataclass
class Watch:
    """What the browser did that a test must not allow: outside requests and errors."""

    blocked: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def route(self, route: Any) -> None:
        url = route.request.url
        host = urlsplit(url).hostname or ""
        if url.startswith(("data:", "blob:")) or host in LOOPBACK:
            route.continue_()
        else:
            self.blocked.append(url)
            route.abort("blockedbyclient")

    def console(self, message: Any) -> None:
        if message.type == "error" and not _expected_console_error(message.text):
            self.errors.append(f"console: {message.text} ({message.location.get('url')})")

    def page_error(self, error: Any) -> None:
        self.errors.append(f"page error: {error}")


def _expected_console_error(text: str) -> bool:
    """Errors a browser logs for things the app does on purpose: failed sign-ins (401) and
    the WebSocket dropped while a test restarts the server."""
    return (
        "status of 401" in text
        or "status of 400" in text
        or "status of 409" in text
        or "WebSocket connection to" in text
        or "ERR_CONNECTION_REFUSED" in text
    )


@pytest.fixture
def watch() -> Watch:
    return Watch()


@pytest.fixture
def new_context(
    browser: Any, watch: Watch, request: pytest.FixtureRequest
) -> Iterator[Callable[..., Any]]:
    """Open a browser context (its own storage: another person, or another device) with the
    outside world blocked; ``new_context(width=360)`` for a phone."""
    contexts: list[Any] = []

    def open_context(
        width: int = 1280, height: int = 800, color_scheme: str = "light", **options: Any
    ) -> Any:
        context = browser.new_context(
            viewport={"width": width, "height": height},
            color_scheme=color_scheme,
            device_scale_factor=1,
            **options,
        )
        context.set_default_timeout(EXPECT_TIMEOUT_MS)
        context.route("**/*", watch.route)
        context.on("page", _watch_page(watch))
        contexts.append(context)
        return context

    yield open_context
    failed = getattr(request.node, "rep_call", None) is not None and request.node.rep_call.failed
    for index, context in enumerate(contexts):
        for number, page in enumerate(context.pages):
            if failed and not page.is_closed():
                shoot(page, f"FAILED-{request.node.name}-{index}-{number}")
        context.close()
    assert watch.blocked == [], f"the page asked for outside hosts: {watch.blocked}"
    assert watch.errors == [], "\n".join(watch.errors)


def _watch_page(watch: Watch) -> Callable[[Any], None]:
    def attach(page: Any) -> None:
        page.on("console", watch.console)
        page.on("pageerror", watch.page_error)

    return attach


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    if report.when == "call":
        item.rep_call = report  # type: ignore[attr-defined]
    return report
