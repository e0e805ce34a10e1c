"""Helpers for the browser tests: screenshots, waiting, and Playwright's ``expect``."""

from __future__ import annotations

import os
import re
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO / "test-output" / "screenshots"
README_SCREENSHOTS = REPO / "docs" / "screenshots"
CHROMIUM = Path(os.environ.get("PORTAGENT_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-dev-shm-usage",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}
# Playwright's default wait is 30 s; a reply from the stand-in takes well under a second.
EXPECT_TIMEOUT_MS = 10_000


def numbered_words(count: int) -> str:
    """``w1 w2 ... wN``: a reply whose every word is distinct, to spot a gap or a duplicate."""
    return " ".join(f"w{i}" for i in range(1, count + 1))


def expect(target: Any) -> Any:
    """Playwright's ``expect`` (imported late: the module loads even without Playwright)."""
    from playwright.sync_api import expect as playwright_expect

    playwright_expect.set_options(timeout=EXPECT_TIMEOUT_MS)
    return playwright_expect(target)


def shoot(page: Any, name: str, *, readme: str | None = None) -> Path:
    """Save a screenshot under test-output/screenshots; with PORTAGENT_UPDATE_SCREENSHOTS=1,
    also as docs/screenshots/<readme>.png, the README's pictures."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{re.sub(r'[^A-Za-z0-9_.-]+', '-', name)}.png"
    page.screenshot(path=str(path), animations="disabled", caret="hide")
    if readme and os.environ.get("PORTAGENT_UPDATE_SCREENSHOTS") == "1":
        README_SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, README_SCREENSHOTS / f"{readme}.png")
    return path


def wait_until(condition: Callable[[], bool], within: float = 10.0, what: str = "") -> None:
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or condition}")
        time.sleep(0.05)
