"""Sign-in and registration in Chromium, as a new user meets them."""

from __future__ import annotations

import datetime as dt
import itertools
import os
from collections.abc import Iterator
from typing import Any

import pytest
from support.server import ServerProcess, http_json, register
from webtools import EXPECT_TIMEOUT_MS, expect, shoot

pytestmark = pytest.mark.browser
_names = itertools.count(1)


def unique(prefix: str) -> str:
    return f"{prefix}{os.getpid() % 1000}x{next(_names)}"


def fill_registration(page: Any, username: str, password: str = "a-good-password") -> None:
    page.get_by_label("Username", exact=True).fill(username)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_label("Confirm password").fill(password)


def test_the_sign_in_page_loads_from_this_server_only(server: ServerProcess, new_context) -> None:
    page = new_context().new_page()
    response = page.goto(server.base + "/")
    assert response is not None and response.status == 200
    assert "script-src 'self'" in response.headers["content-security-policy"]
    expect(page).to_have_url(server.base + "/login")
    expect(page.get_by_label("Username or email")).to_be_visible()
    expect(page.get_by_label("Password")).to_be_visible()
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    expect(page.get_by_role("link", name="Create an account")).to_be_visible()
    shoot(page, "sign-in", readme="sign-in")


def test_a_new_user_registers_and_lands_in_the_chat(server: ServerProcess, new_context) -> None:
    page = new_context().new_page()
    page.goto(server.base + "/login")
    page.get_by_role("link", name="Create an account").click()
    expect(page).to_have_url(server.base + "/register")
    expect(page.get_by_label("Invite code")).to_have_count(0)
    shoot(page, "register")
    username = unique("newcomer")
    fill_registration(page, username)
    page.get_by_label("Email (optional)").fill(f"{username}@example.org")
    page.get_by_label("Display name (optional)").fill("New Comer")
    page.get_by_role("button", name="Create account").click()
    expect(page).to_have_url(server.base + "/chat")
    expect(page.get_by_role("button", name="New conversation")).to_be_visible()
    expect(page.get_by_label("Message")).to_be_visible()
    # The token is kept: a reload stays signed in.
    page.reload()
    expect(page.get_by_label("Message")).to_be_visible()
    expect(page).to_have_url(server.base + "/chat")


def test_registration_checks_the_form_before_sending(server: ServerProcess, new_context) -> None:
    page = new_context().new_page()
    page.goto(server.base + "/register")
    page.get_by_label("Username", exact=True).fill(unique("mismatch"))
    page.get_by_label("Password", exact=True).fill("a-good-password")
    page.get_by_label("Confirm password").fill("another-password")
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("alert")).to_contain_text("match")
    expect(page).to_have_url(server.base + "/register")


def test_a_taken_username_shows_the_servers_message(server: ServerProcess, new_context) -> None:
    taken = unique("taken")
    register(server.base, taken)
    page = new_context().new_page()
    page.goto(server.base + "/register")
    fill_registration(page, taken)
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("alert")).to_contain_text("already exists")


def test_sign_in_shows_errors_inline_then_signs_in_and_out(
    server: ServerProcess, new_context
) -> None:
    username = unique("returning")
    register(server.base, username, "the-right-password")
    page = new_context().new_page()
    page.goto(server.base + "/login")
    page.get_by_label("Username or email").fill(username)
    page.get_by_label("Password").fill("a-wrong-password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("Invalid")
    shoot(page, "sign-in-error")
    page.get_by_label("Password").fill("the-right-password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_label("Message")).to_be_visible()
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(server.base + "/login")
    # Signed out for real: a reload stays on the sign-in page.
    page.reload()
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()


def test_a_revoked_token_sends_the_user_back_to_sign_in(server: ServerProcess, new_context) -> None:
    username = unique("revoked")
    answer = register(server.base, username)
    context = new_context()
    page = context.new_page()
    page.goto(server.base + "/login")
    page.evaluate("token => localStorage.setItem('portagent.token', token)", answer["token"])
    page.goto(server.base + "/chat")
    expect(page.get_by_label("Message")).to_be_visible()
    status, _ = http_json(server.base, "POST", "/api/auth/logout", {}, token=answer["token"])
    assert status == 200
    page.reload()
    expect(page).to_have_url(server.base + "/login")
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()


@pytest.fixture(scope="module")
def invite_server(standin, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    process = ServerProcess(
        tmp_path_factory.mktemp("invite-server") / "data",
        standin.url or "",
        INVITE_CODE_REQUIRED="true",
        TZ="UTC",
        REGISTER_MAX_PER_ADDRESS="0",
    )
    with process:
        yield process


def daily_code_utc() -> str:
    """Today's code as the README explains it: the Unix time of today's 00:00:01 (UTC here)."""
    today = dt.datetime.now(dt.UTC).date()
    return str(int(dt.datetime.combine(today, dt.time(0, 0, 1), tzinfo=dt.UTC).timestamp()))


def test_with_invite_codes_required_the_field_shows_and_is_checked(
    invite_server: ServerProcess, new_context
) -> None:
    page = new_context().new_page()
    page.goto(invite_server.base + "/register")
    code = page.get_by_label("Invite code")
    expect(code).to_be_visible(timeout=EXPECT_TIMEOUT_MS)
    fill_registration(page, unique("invited"))
    code.fill("12345")
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("alert")).to_contain_text("Invalid invite code")
    code.fill(daily_code_utc())
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_label("Message")).to_be_visible()


def test_the_pages_policy_refuses_inline_scripts(server: ServerProcess, new_context, watch) -> None:
    page = new_context().new_page()
    page.goto(server.base + "/login")
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    with pytest.raises(Exception, match="Content Security Policy|Refused"):
        page.add_script_tag(content="window.injected = true;")
    assert page.evaluate("window.injected === undefined")
    refused = [error for error in watch.errors if "Content Security Policy" in error]
    assert refused, watch.errors
    watch.errors.clear()  # expected here; any other page's CSP violation fails its test
