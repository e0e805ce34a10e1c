"""The UI in the server's other modes: under a BASE_PATH behind a proxy, and ``--demo``."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from support.server import ServerProcess
from webtools import expect, shoot

pytestmark = pytest.mark.browser


def register_in_the_browser(page: Any, username: str) -> None:
    page.get_by_role("link", name="Create an account").click()
    page.get_by_label("Username", exact=True).fill(username)
    page.get_by_label("Password", exact=True).fill("a-good-password")
    page.get_by_label("Confirm password").fill("a-good-password")
    page.get_by_role("button", name="Create account").click()


class SubPathServer(ServerProcess):
    """A server whose every route is under ``/portagent``: ``base`` is that sub-path."""

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}/portagent"


def test_under_a_base_path_every_url_stays_below_it(standin, new_context, tmp_path: Path) -> None:
    with SubPathServer(tmp_path / "data", standin.url or "", BASE_PATH="/portagent") as server:
        page = new_context().new_page()
        below = server.base + "/"
        requested: list[str] = []
        page.on("request", lambda request: requested.append(request.url))
        page.goto(below)
        expect(page).to_have_url(below + "login")
        register_in_the_browser(page, "basil")
        expect(page).to_have_url(below + "chat")
        box = page.get_by_label("Message")
        box.fill("run: echo under a sub-path")
        box.press("Enter")
        tool = page.get_by_role("log", name="Conversation").locator('[data-role="tool"]')
        expect(tool).to_contain_text("under a sub-path")
        expect(page).to_have_url(re.compile(re.escape(below) + r"chat/[^/]+$"))
        page.reload()
        expect(tool).to_contain_text("under a sub-path")
        outside = [url for url in requested if not url.startswith(below)]
        assert outside == [], f"requests outside the base path: {outside}"


def test_demo_mode_shows_a_banner(new_context, tmp_path: Path) -> None:
    # LLM_PROVIDER=demo is what --demo sets: the server runs its own stand-in model.
    with ServerProcess(tmp_path / "data", "http://127.0.0.1:9", LLM_PROVIDER="demo") as server:
        page = new_context().new_page()
        page.goto(server.base + "/")
        register_in_the_browser(page, "demo-user")
        banner = page.get_by_role("status").filter(has_text="Demo")
        expect(banner).to_be_visible()
        box = page.get_by_label("Message")
        box.fill("think: why test in a browser?")
        box.press("Enter")
        log = page.get_by_role("log", name="Conversation")
        expect(log.locator('[data-role="reasoning"]')).to_be_attached()
        expect(log.locator('[data-role="assistant"]').last).to_contain_text("demo mode")
        expect(log.locator('[data-streaming="true"]')).to_have_count(0)
        shoot(page, "demo")
