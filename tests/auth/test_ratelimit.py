"""Rate limits on login and register: per account and address, per address, registrations per
address; 429 with Retry-After; others unaffected; X-Forwarded-For only from a trusted proxy."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest

from service.auth.ratelimit import SlidingWindowLimit

PASSWORD = "secret-password"
TOO_MANY = re.compile(r"^Too many attempts, try again in (\d+) seconds$")


def login(client: Any, who: str, password: str, address: str | None = None) -> Any:
    headers = {"X-Forwarded-For": address} if address else {}
    _, response = client.post(
        "/api/auth/login", json={"usernameOrEmail": who, "password": password}, headers=headers
    )
    return response


def register(client: Any, username: str, address: str | None = None) -> Any:
    headers = {"X-Forwarded-For": address} if address else {}
    _, response = client.post(
        "/api/auth/register", json={"username": username, "password": PASSWORD}, headers=headers
    )
    return response


def assert_limited(response: Any, window: int) -> int:
    """A 429 with the contract's message, and a Retry-After that agrees with it."""
    assert response.status == 429, response.text
    match = TOO_MANY.match(response.json["error"])
    assert match, response.json
    seconds = int(match.group(1))
    assert response.headers["retry-after"] == str(seconds)
    assert 0 < seconds <= window
    return seconds


def test_too_many_failures_for_one_account_lock_it_even_with_the_right_password(
    serve: Callable[..., Any], register_user: Callable[..., Any]
) -> None:
    with serve(LOGIN_MAX_FAILURES_PER_ACCOUNT="3") as client:
        register_user(client, "alice", PASSWORD)
        for _ in range(3):
            assert login(client, "alice", "wrong").status == 401
        seconds = assert_limited(login(client, "alice", PASSWORD), window=300)
        assert seconds > 290
        assert_limited(login(client, "alice", "wrong"), window=300)
        # The same account by its other spelling is the same account.
        assert_limited(login(client, "ALICE", PASSWORD), window=300)


def test_the_account_limit_counts_the_account_not_the_spelling(
    serve: Callable[..., Any], register_user: Callable[..., Any]
) -> None:
    with serve(LOGIN_MAX_FAILURES_PER_ACCOUNT="3") as client:
        register_user(client, "alice", PASSWORD, email="alice@example.com")
        assert login(client, "alice", "wrong").status == 401
        assert login(client, "alice@example.com", "wrong").status == 401
        assert login(client, "Alice", "wrong").status == 401
        assert_limited(login(client, "alice@example.com", PASSWORD), window=300)


def test_a_locked_account_does_not_lock_other_accounts_or_addresses(
    serve: Callable[..., Any], register_user: Callable[..., Any]
) -> None:
    with serve(LOGIN_MAX_FAILURES_PER_ACCOUNT="3", TRUSTED_PROXIES="127.0.0.1") as client:
        register_user(client, "alice", PASSWORD)
        register_user(client, "bob", PASSWORD)
        for _ in range(3):
            assert login(client, "alice", "wrong", "203.0.113.9").status == 401
        assert_limited(login(client, "alice", PASSWORD, "203.0.113.9"), window=300)
        # Bob, from the attacker's own address, is not locked out...
        assert login(client, "bob", PASSWORD, "203.0.113.9").status == 200
        # ...and Alice, from her own address, can still sign in.
        assert login(client, "alice", PASSWORD, "198.51.100.7").status == 200


def test_a_successful_login_clears_the_accounts_failures(
    serve: Callable[..., Any], register_user: Callable[..., Any]
) -> None:
    with serve(LOGIN_MAX_FAILURES_PER_ACCOUNT="3") as client:
        register_user(client, "alice", PASSWORD)
        for _ in range(2):
            assert login(client, "alice", "wrong").status == 401
        assert login(client, "alice", PASSWORD).status == 200
        for _ in range(2):
            assert login(client, "alice", "wrong").status == 401
        assert login(client, "alice", PASSWORD).status == 200


def test_too_many_failures_from_one_address_lock_that_address(
    serve: Callable[..., Any], register_user: Callable[..., Any]
) -> None:
    with serve(
        LOGIN_MAX_FAILURES_PER_ACCOUNT="0",
        LOGIN_MAX_FAILURES_PER_ADDRESS="4",
        TRUSTED_PROXIES="127.0.0.1",
    ) as client:
        register_user(client, "alice", PASSWORD)
        for name in ("u1", "u2", "u3", "u4"):
            assert login(client, name, "wrong", "203.0.113.9").status == 401
        assert_limited(login(client, "alice", PASSWORD, "203.0.113.9"), window=300)
        assert_limited(login(client, "never-tried", "x", "203.0.113.9"), window=300)
        assert login(client, "alice", PASSWORD, "198.51.100.7").status == 200


def test_too_many_registrations_from_one_address(
    serve: Callable[..., Any],
) -> None:
    with serve(REGISTER_MAX_PER_ADDRESS="2", TRUSTED_PROXIES="127.0.0.1") as client:
        # Refused registrations do not count.
        _, refused = client.post("/api/auth/register", json={"username": "x", "password": "y"})
        assert refused.status == 400
        assert register(client, "user1", "203.0.113.9").status == 201
        assert register(client, "user2", "203.0.113.9").status == 201
        seconds = assert_limited(register(client, "user3", "203.0.113.9"), window=3600)
        assert seconds > 3500
        assert register(client, "user3", "198.51.100.7").status == 201
        # Signing in is a different limit.
        assert login(client, "user1", PASSWORD, "203.0.113.9").status == 200


@pytest.mark.parametrize(
    "settings",
    [
        {"LOGIN_MAX_FAILURES_PER_ACCOUNT": "0", "LOGIN_MAX_FAILURES_PER_ADDRESS": "0"},
        {"LOGIN_MAX_FAILURES_PER_ACCOUNT": "0", "LOGIN_MAX_FAILURES_PER_ADDRESS": "20"},
    ],
)
def test_zero_turns_a_limit_off(
    serve: Callable[..., Any], register_user: Callable[..., Any], settings: dict[str, str]
) -> None:
    with serve(**settings) as client:
        register_user(client, "alice", PASSWORD)
        for _ in range(12):
            assert login(client, "alice", "wrong").status == 401
        assert login(client, "alice", PASSWORD).status == 200


def test_zero_turns_the_registration_limit_off(serve: Callable[..., Any]) -> None:
    with serve(REGISTER_MAX_PER_ADDRESS="0") as client:
        for number in range(25):
            assert register(client, f"user{number}").status == 201


def test_the_defaults_are_ten_per_account_and_twenty_registrations(
    serve: Callable[..., Any], register_user: Callable[..., Any]
) -> None:
    with serve(
        LOGIN_MAX_FAILURES_PER_ACCOUNT="10",
        LOGIN_MAX_FAILURES_PER_ADDRESS="50",
        REGISTER_MAX_PER_ADDRESS="20",
    ) as client:
        settings = client.app.ctx.settings
        defaults = type(settings).model_fields
        assert defaults["login_max_failures_per_account"].default == 10
        assert defaults["login_max_failures_per_address"].default == 50
        assert defaults["register_max_per_address"].default == 20
        for number in range(20):
            assert register(client, f"user{number}").status == 201
        assert_limited(register(client, "user20"), window=3600)
        for _ in range(10):
            assert login(client, "user0", "wrong").status == 401
        assert_limited(login(client, "user0", PASSWORD), window=300)


def test_x_forwarded_for_is_ignored_without_a_trusted_proxy(
    serve: Callable[..., Any], register_user: Callable[..., Any]
) -> None:
    with serve(LOGIN_MAX_FAILURES_PER_ACCOUNT="3") as client:
        register_user(client, "alice", PASSWORD)
        for number in range(3):
            assert login(client, "alice", "wrong", f"203.0.113.{number}").status == 401
        # A new forged address does not escape the limit.
        assert_limited(login(client, "alice", PASSWORD, "198.51.100.7"), window=300)


def test_a_trusted_proxy_cannot_be_fooled_by_a_client_supplied_hop(
    serve: Callable[..., Any], register_user: Callable[..., Any]
) -> None:
    with serve(LOGIN_MAX_FAILURES_PER_ACCOUNT="3", TRUSTED_PROXIES="127.0.0.1") as client:
        register_user(client, "alice", PASSWORD)
        # The proxy appends the real client address; the left part is the client's say.
        for number in range(3):
            forged = f"10.9.9.{number}, 203.0.113.9"
            assert login(client, "alice", "wrong", forged).status == 401
        assert_limited(login(client, "alice", PASSWORD, "1.2.3.4, 203.0.113.9"), window=300)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_limit_lifts_once_the_window_has_passed() -> None:
    clock = FakeClock()
    limit = SlidingWindowLimit(3, 300, clock=clock)
    for _ in range(3):
        assert limit.retry_after("key") is None
        limit.record("key")
        clock.now += 10
    assert limit.retry_after("key") == 300 - 30
    assert limit.retry_after("other") is None
    clock.now += 300 - 30 - 1
    assert limit.retry_after("key") == 1
    clock.now += 1
    assert limit.retry_after("key") is None
