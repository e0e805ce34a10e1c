"""The chat in Chromium: streaming, tools, stop, rename and delete, reload mid-answer, privacy
between users, a phone-width screen, and a server restart."""

from __future__ import annotations

import itertools
import os
import re
from typing import Any

import pytest
from support.server import ServerProcess, http_json
from webtools import expect, numbered_words, shoot

pytestmark = pytest.mark.browser
_names = itertools.count(1)


def signed_in_page(
    context: Any, server: ServerProcess, name: str = "chatter", display_name: str | None = None
) -> Any:
    """A page signed in as a fresh user (registered through the API; the forms have their
    own tests), showing an empty chat."""
    username = f"{name}{os.getpid() % 1000}x{next(_names)}"
    body = {"username": username, "password": "a-good-password"}
    if display_name:
        body["displayName"] = display_name
    status, answer = http_json(server.base, "POST", "/api/auth/register", body)
    assert status == 201, answer
    page = context.new_page()
    page.goto(server.base + "/login")
    page.evaluate("token => localStorage.setItem('portagent.token', token)", answer["token"])
    page.goto(server.base + "/chat")
    expect(page.get_by_label("Message")).to_be_enabled()
    expect(page.locator("[data-connection]")).to_have_attribute("data-connection", "connected")
    return page


def send(page: Any, text: str) -> None:
    box = page.get_by_label("Message")
    expect(box).to_be_enabled()
    box.fill(text)
    box.press("Enter")


def transcript(page: Any) -> Any:
    return page.get_by_role("log", name="Conversation")


def assistant(page: Any) -> Any:
    return transcript(page).locator('[data-role="assistant"]')


def wait_for_reply_end(page: Any) -> None:
    expect(transcript(page).locator('[data-streaming="true"]')).to_have_count(0)
    expect(page.get_by_role("button", name="Send")).to_be_visible()


def sidebar(page: Any) -> Any:
    return page.get_by_role("navigation", name="Conversations")


def words(text: str) -> list[str]:
    return [word for word in text.split() if word.startswith("w") and word[1:].isdigit()]


def test_a_message_streams_a_reply_and_a_tool_runs(server: ServerProcess, new_context) -> None:
    page = signed_in_page(new_context(), server, "ada", "Ada Lovelace")
    shoot(page, "chat-empty")
    send(page, "Hello there")
    expect(transcript(page).locator('[data-role="user"]')).to_contain_text("Hello there")
    expect(assistant(page).first).to_contain_text("demo mode")
    wait_for_reply_end(page)
    expect(page).to_have_url(re.compile(r"/chat/[^/]+$"))
    # The conversation is in the sidebar.
    expect(sidebar(page).get_by_role("link")).to_have_count(1)

    send(page, "run: echo portagent-$((6 * 7)) && uname -s")
    card = transcript(page).locator('[data-role="tool"]')
    expect(card).to_have_count(1)
    expect(card).to_contain_text("bash")
    expect(card).to_have_attribute("data-tool-status", "done")
    expect(card).to_contain_text("portagent-42")
    wait_for_reply_end(page)
    expect(assistant(page).last).to_contain_text("portagent-42")
    expect(transcript(page).locator("[data-usage]").first).to_be_attached()
    card.locator("summary").click()
    expect(card.locator(".tool-output")).to_be_visible()
    shoot(page, "chat-light", readme="chat-light")

    # The same conversation in dark mode, on another device of the same user.
    url = page.url
    token = page.evaluate("localStorage.getItem('portagent.token')")
    dark = new_context(color_scheme="dark").new_page()
    dark.goto(server.base + "/login")
    dark.evaluate("token => localStorage.setItem('portagent.token', token)", token)
    dark.goto(url)
    dark_card = transcript(dark).locator('[data-role="tool"]')
    expect(dark_card).to_contain_text("portagent-42")
    expect(assistant(dark)).to_have_count(assistant(page).count())
    dark_card.locator("summary").click()
    shoot(dark, "chat-dark", readme="chat-dark")


def test_a_running_reply_stops(server: ServerProcess, new_context) -> None:
    page = signed_in_page(new_context(), server)
    send(page, "slow: 300")
    stop = page.get_by_role("button", name="Stop")
    expect(stop).to_be_visible()
    expect(assistant(page).last).to_contain_text(re.compile(r"\bw3\b"))
    shoot(page, "chat-streaming")
    stop.click()
    wait_for_reply_end(page)
    written = words(assistant(page).last.inner_text())
    assert written and written == numbered_words(len(written)).split()
    assert len(written) < 300
    # The next message works as usual.
    send(page, "Are you there?")
    expect(assistant(page).last).to_contain_text("demo mode")
    wait_for_reply_end(page)


def test_escape_stops_a_running_reply(server: ServerProcess, new_context) -> None:
    page = signed_in_page(new_context(), server)
    send(page, "slow: 300")
    expect(assistant(page).last).to_contain_text(re.compile(r"\bw2\b"))
    page.keyboard.press("Escape")
    wait_for_reply_end(page)
    assert len(words(assistant(page).last.inner_text())) < 300


def test_reloading_mid_answer_continues_without_loss_or_duplicate(
    server: ServerProcess, new_context
) -> None:
    page = signed_in_page(new_context(), server)
    send(page, "slow: 60")
    expect(assistant(page).last).to_contain_text(re.compile(r"\bw8\b"))
    page.reload()
    # The part already written shows at once, and the rest follows.
    expect(assistant(page)).to_have_count(1)
    expect(page.get_by_role("button", name="Stop")).to_be_visible()
    expect(assistant(page).last).to_contain_text(re.compile(r"\bw60\b"), timeout=20_000)
    wait_for_reply_end(page)
    assert words(assistant(page).last.inner_text()) == numbered_words(60).split()
    expect(transcript(page).locator('[data-role="user"]')).to_have_count(1)


def test_a_failed_reply_shows_an_error_that_stays_after_a_reload(
    server: ServerProcess, new_context
) -> None:
    page = signed_in_page(new_context(), server)
    send(page, "overload")
    error = transcript(page).locator('[data-role="error"]')
    expect(error).to_be_visible()
    expect(error).to_contain_text("overloaded", ignore_case=True)
    shoot(page, "chat-error")
    page.reload()
    expect(error).to_be_visible()
    expect(error).to_contain_text("overloaded", ignore_case=True)
    # The conversation goes on.
    send(page, "Try again")
    expect(assistant(page).last).to_contain_text("demo mode")
    wait_for_reply_end(page)


def test_rename_and_delete_a_conversation(server: ServerProcess, new_context) -> None:
    page = signed_in_page(new_context(), server)
    send(page, "First conversation")
    wait_for_reply_end(page)
    links = sidebar(page).get_by_role("link")
    expect(links).to_have_count(1)

    sidebar(page).get_by_role("button", name="Rename").click()
    title = page.get_by_label("Conversation title")
    title.fill("Escaped title")
    title.press("Escape")
    expect(links.first).not_to_contain_text("Escaped title")

    sidebar(page).get_by_role("button", name="Rename").click()
    title.fill("Quarterly numbers")
    title.press("Enter")
    expect(sidebar(page).get_by_role("link", name="Quarterly numbers")).to_be_visible()
    page.get_by_label("Filter conversations").fill("quarter")
    expect(links).to_have_count(1)
    page.get_by_label("Filter conversations").fill("nothing like it")
    expect(links).to_have_count(0)
    page.get_by_label("Filter conversations").fill("")
    # The new title is the server's: a reload keeps it.
    page.reload()
    expect(sidebar(page).get_by_role("link", name="Quarterly numbers")).to_be_visible()

    sidebar(page).get_by_role("button", name="Delete").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    shoot(page, "delete-confirmation")
    dialog.get_by_role("button", name="Cancel").click()
    expect(links).to_have_count(1)
    sidebar(page).get_by_role("button", name="Delete").click()
    page.get_by_role("dialog").get_by_role("button", name="Delete").click()
    expect(links).to_have_count(0)
    page.reload()
    expect(sidebar(page)).to_contain_text("No conversations yet")


def test_another_user_sees_none_of_the_first_users_conversations(
    server: ServerProcess, new_context
) -> None:
    first = signed_in_page(new_context(), server, "owner")
    send(first, "Private plans for the owner")
    wait_for_reply_end(first)
    private_url = first.url
    expect(sidebar(first).get_by_role("link")).to_have_count(1)

    second = signed_in_page(new_context(), server, "other")
    expect(sidebar(second)).to_contain_text("No conversations yet")
    second.goto(private_url)
    expect(transcript(second)).to_contain_text("does not exist")
    expect(transcript(second)).not_to_contain_text("Private plans")
    expect(sidebar(second).get_by_role("link")).to_have_count(0)


def test_on_a_phone_the_sidebar_is_a_drawer(server: ServerProcess, new_context) -> None:
    context = new_context(width=360, height=740, is_mobile=True, has_touch=True)
    page = signed_in_page(context, server, "phone")
    nav = sidebar(page)
    expect(nav).not_to_be_in_viewport()
    send(page, "run: echo small screen")
    expect(transcript(page).locator('[data-role="tool"]')).to_contain_text("small screen")
    wait_for_reply_end(page)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 360, f"the page scrolls sideways ({width}px)"
    shoot(page, "phone-chat")
    page.get_by_role("button", name="Toggle sidebar").click()
    expect(nav).to_be_in_viewport()
    expect(nav.get_by_role("link")).to_have_count(1)
    shoot(page, "phone-drawer")
    nav.get_by_role("button", name="New conversation").click()
    expect(nav).not_to_be_in_viewport()
    expect(page).to_have_url(server.base + "/chat")


def test_two_tabs_of_one_user_follow_the_same_conversation(
    server: ServerProcess, new_context
) -> None:
    context = new_context()
    first = signed_in_page(context, server, "twotabs")
    send(first, "Hello from the first tab")
    wait_for_reply_end(first)
    second = context.new_page()
    second.goto(first.url)
    expect(transcript(second).locator('[data-role="user"]')).to_have_count(1)
    send(first, "slow: 20")
    expect(assistant(second).last).to_contain_text(re.compile(r"\bw20\b"))
    wait_for_reply_end(second)
    assert words(assistant(second).last.inner_text()) == numbered_words(20).split()
    # The second tab's sidebar follows a rename made in the first.
    sidebar(first).get_by_role("button", name="Rename").click()
    title = first.get_by_label("Conversation title")
    title.fill("Shared between tabs")
    title.press("Enter")
    expect(sidebar(second).get_by_role("link", name="Shared between tabs")).to_be_visible()


def test_the_conversation_survives_a_server_restart(
    standin, new_context, tmp_path_factory: pytest.TempPathFactory
) -> None:
    data_dir = tmp_path_factory.mktemp("restart") / "data"
    first = ServerProcess(data_dir, standin.url or "").start()
    try:
        page = signed_in_page(new_context(), first, "restarter")
        send(page, "run: echo before the restart")
        wait_for_reply_end(page)
        expect(transcript(page).locator('[data-role="tool"]')).to_contain_text("before the restart")
        first.stop()
        indicator = page.locator("[data-connection]")
        expect(indicator).not_to_have_attribute("data-connection", "connected")
        shoot(page, "reconnecting")
        second = ServerProcess(data_dir, standin.url or "")
        second.port = first.port
        second.start()
    finally:
        first.kill()
    try:
        expect(indicator).to_have_attribute("data-connection", "connected", timeout=30_000)
        page.reload()
        expect(transcript(page).locator('[data-role="tool"]')).to_contain_text("before the restart")
        expect(sidebar(page).get_by_role("link")).to_have_count(1)
        send(page, "Still there?")
        expect(assistant(page).last).to_contain_text("demo mode")
        wait_for_reply_end(page)
    finally:
        second.stop()
