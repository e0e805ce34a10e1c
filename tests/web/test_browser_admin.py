"""The admin page in Chromium, on a server that requires invite codes: the first user (the
admin) makes a code, a second person registers with it, the admin finds and deactivates them,
and their open page is sent back to sign-in. A user who is not an admin sees no Admin link and
is told so on ``/admin``."""

from __future__ import annotations

import itertools
import os
import re
from collections.abc import Iterator
from typing import Any

import pytest
from support.server import ServerProcess, http_json
from webtools import expect, shoot, wait_until

from service.auth.invites import daily_invite_code
from service.standin import ThreadedStandIn

pytestmark = pytest.mark.browser
_names = itertools.count(1)


def unique(name: str) -> str:
    return f"{name}{os.getpid() % 1000}x{next(_names)}"


@pytest.fixture(scope="module")
def server(
    standin: ThreadedStandIn, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    """A server of this module's own: the first account registered on it is the admin."""
    # The daily code depends on the time zone: give the server this process's.
    zone = {"TZ": os.environ["TZ"]} if "TZ" in os.environ else {}
    process = ServerProcess(
        tmp_path_factory.mktemp("admin-server") / "data",
        standin.url or "",
        INVITE_CODE_REQUIRED="true",
        REGISTER_MAX_PER_ADDRESS="0",
        LOGIN_MAX_FAILURES_PER_ADDRESS="0",
        **zone,
    )
    with process:
        yield process


@pytest.fixture(scope="module")
def admin(server: ServerProcess) -> dict[str, Any]:
    """The first account (with the daily invite code): the admin."""
    body = {
        "username": unique("boss"),
        "password": "a-good-password",
        "displayName": "Bea Boss",
        "inviteCode": daily_invite_code(),
    }
    status, answer = http_json(server.base, "POST", "/api/auth/register", body)
    assert status == 201, answer
    assert answer["user"]["isAdmin"] is True
    return answer


def open_signed_in(context: Any, server: ServerProcess, token: str, path: str = "/chat") -> Any:
    page = context.new_page()
    page.goto(server.base + "/login")
    page.evaluate("token => localStorage.setItem('portagent.token', token)", token)
    page.goto(server.base + path)
    return page


def user_row(page: Any, username: str) -> Any:
    return page.locator(f'tr[data-user="{username}"]')


def test_admin_invites_a_user_then_deactivates_them(
    server: ServerProcess, admin: dict[str, Any], new_context
) -> None:
    page = open_signed_in(new_context(), server, admin["token"])
    expect(page.get_by_label("Message")).to_be_enabled()
    # Everyone sees their own usage today at the foot of the sidebar.
    expect(page.locator("[data-usage-today]")).to_contain_text("Tokens today")
    page.get_by_role("link", name="Admin").click()
    expect(page).to_have_url(re.compile(r"/admin$"))
    expect(page).to_have_title("Admin · Portagent")
    me = admin["user"]["username"]
    expect(user_row(page, me)).to_contain_text("Admin")
    expect(page.get_by_role("button", name=f"Deactivate {me}")).to_be_disabled()

    # A code that is checked before it is sent, then a good one, shown once.
    page.get_by_label("Uses").fill("0")
    page.get_by_role("button", name="Create invite code").click()
    expect(page.get_by_role("alert")).to_contain_text("Uses must be a whole number from 1 to 1000")
    page.get_by_label("Uses").fill("1")
    page.get_by_label("Expires in").fill("7d")
    page.get_by_label("Note").fill("for the newcomer")
    page.get_by_role("button", name="Create invite code").click()
    new_code = page.locator("[data-invite-code]")
    expect(new_code).to_contain_text("Shown only once")
    expect(new_code.get_by_role("button", name="Copy")).to_be_visible()
    code = new_code.get_attribute("data-invite-code") or ""
    assert code.startswith("pa-")
    expect(page.get_by_label("New invite code")).to_have_value(code)
    invite_row = page.locator("tr[data-invite]", has_text="for the newcomer")
    expect(invite_row).to_have_attribute("data-state", "usable")
    expect(invite_row).to_contain_text("0 / 1")

    # Someone registers with it, in their own browser.
    newcomer = unique("newbie")
    other = new_context().new_page()
    other.goto(server.base + "/register")
    other.get_by_label("Username", exact=True).fill(newcomer)
    other.get_by_label("Password", exact=True).fill("a-good-password")
    other.get_by_label("Confirm password").fill("a-good-password")
    other.get_by_label("Invite code").fill(code)
    other.get_by_role("button", name="Create account").click()
    expect(other.get_by_label("Message")).to_be_enabled()
    expect(other.locator("[data-connection]")).to_have_attribute("data-connection", "connected")
    expect(other.get_by_role("link", name="Admin")).to_have_count(0)

    # The admin sees them, and the code used up.
    page.get_by_role("button", name="Refresh").click()
    row = user_row(page, newcomer)
    expect(row).to_have_attribute("data-active", "true")
    expect(row).to_contain_text("User")
    expect(invite_row).to_have_attribute("data-state", "spent")
    expect(page.get_by_role("button", name=re.compile(r"^Revoke "))).to_have_count(0)

    # A spare code, revoked.
    page.get_by_label("Note").fill("spare")
    page.get_by_role("button", name="Create invite code").click()
    spare = page.locator("tr[data-invite]", has_text="spare")
    expect(spare).to_have_attribute("data-state", "usable")
    spare_id = spare.get_attribute("data-invite")
    page.get_by_role("button", name=f"Revoke {spare_id}").click()
    expect(spare).to_have_attribute("data-state", "revoked")
    expect(page.get_by_role("button", name=re.compile(r"^Revoke "))).to_have_count(0)

    # A quota: bad input is refused in the dialog, a good one shows in the row.
    page.get_by_role("button", name=f"Set quota for {newcomer}").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Daily token limit").fill("lots")
    dialog.get_by_role("button", name="Save").click()
    expect(dialog.get_by_role("alert")).to_contain_text("whole number of tokens")
    dialog.get_by_label("Daily token limit").fill("50k")
    dialog.get_by_role("button", name="Save").click()
    expect(page.get_by_role("dialog")).to_have_count(0)
    expect(row).to_contain_text("50,000")

    # A password reset checks the length first.
    page.get_by_role("button", name=f"Reset password for {newcomer}").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("New password").fill("short")
    dialog.get_by_role("button", name="Set password").click()
    expect(dialog.get_by_role("alert")).to_have_text("Password must be at least 6 characters")
    dialog.get_by_role("button", name="Cancel").click()
    expect(page.get_by_role("dialog")).to_have_count(0)
    # Focus is back on the button that opened the dialog.
    expect(page.get_by_role("button", name=f"Reset password for {newcomer}")).to_be_focused()
    shoot(page, "admin", readme="admin")

    # Deactivating asks first; Cancel changes nothing.
    page.get_by_role("button", name=f"Deactivate {newcomer}").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text(f"Deactivate {newcomer}?")
    dialog.get_by_role("button", name="Cancel").click()
    expect(row).to_have_attribute("data-active", "true")
    page.get_by_role("button", name=f"Deactivate {newcomer}").click()
    page.get_by_role("dialog").get_by_role("button", name="Deactivate").click()
    expect(row).to_have_attribute("data-active", "false")
    expect(row).to_contain_text("Deactivated")
    expect(page.get_by_role("status").filter(has_text="is deactivated")).to_be_visible()

    # Their open page goes back to sign-in, and signing in again is refused.
    expect(other).to_have_url(re.compile(r"/login$"))
    expect(other.get_by_role("button", name="Sign in")).to_be_visible()
    other.get_by_label("Username or email").fill(newcomer)
    other.get_by_label("Password").fill("a-good-password")
    other.get_by_role("button", name="Sign in").click()
    expect(other.get_by_role("alert")).to_be_visible()

    # Activated again, they can sign in.
    page.get_by_role("button", name=f"Activate {newcomer}").click()
    expect(row).to_have_attribute("data-active", "true")
    other.get_by_role("button", name="Sign in").click()
    expect(other.get_by_label("Message")).to_be_enabled()


def test_the_admin_page_fits_a_phone_in_the_dark(
    server: ServerProcess, admin: dict[str, Any], new_context
) -> None:
    page = open_signed_in(
        new_context(width=360, height=780, color_scheme="dark"), server, admin["token"], "/admin"
    )
    expect(page.get_by_role("region", name="Users table")).to_be_visible()
    expect(page.get_by_role("heading", name="Usage, last 7 days")).to_be_visible()
    # The page itself does not scroll sideways; the tables do.
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    table = page.get_by_role("region", name="Users table")
    assert table.evaluate("el => el.scrollWidth > el.clientWidth")
    # Keyboard: the table region takes focus and scrolls with the arrow keys.
    table.focus()
    expect(table).to_be_focused()
    for _ in range(3):
        page.keyboard.press("ArrowRight")
    wait_until(lambda: table.evaluate("el => el.scrollLeft") > 0, what="the table to scroll")
    shoot(page, "admin-phone-dark")


def test_a_user_who_is_not_an_admin_sees_no_admin_page(
    server: ServerProcess, admin: dict[str, Any], new_context
) -> None:
    status, created = http_json(
        server.base, "POST", "/api/admin/invites", {"uses": 1}, token=admin["token"]
    )
    assert status == 201, created
    code = created["code"]
    body = {"username": unique("plain"), "password": "a-good-password", "inviteCode": code}
    status, answer = http_json(server.base, "POST", "/api/auth/register", body)
    assert status == 201, answer
    assert answer["user"]["isAdmin"] is False

    page = open_signed_in(new_context(), server, answer["token"])
    admin_calls: list[str] = []
    page.on("request", lambda request: admin_calls.append(request.url))
    expect(page.get_by_label("Message")).to_be_enabled()
    expect(page.locator("[data-usage-today]")).to_contain_text("Tokens today")
    expect(page.get_by_role("link", name="Admin")).to_have_count(0)
    page.goto(server.base + "/admin")
    expect(page.get_by_text("Only admins can see this page")).to_be_visible()
    expect(page.get_by_role("button", name="Create invite code")).to_have_count(0)
    assert not [url for url in admin_calls if "/api/admin" in url]
