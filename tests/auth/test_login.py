"""POST /api/auth/login: by username or email, the same 401 for every kind of failure, and
passwords whose every character counts."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

import pytest
from pony.orm import db_session

PASSWORD = "correct horse battery"


def login(client: Any, body: Any) -> tuple[int, Any]:
    _, response = client.post("/api/auth/login", json=body)
    return response.status, response.json


@pytest.fixture(scope="module")
def accounts(shared_client: Any) -> dict[str, dict[str, Any]]:
    """Users registered once for this module, by username."""
    made = {}
    for name, email in (("alice", "Alice@Example.com"), ("bob", None)):
        body = {"username": name, "password": PASSWORD}
        if email:
            body["email"] = email
        _, response = shared_client.post("/api/auth/register", json=body)
        assert response.status == 201, response.text
        made[name] = response.json
    return made


def test_login_by_username_answers_token_user_and_expiry(
    shared_client: Any, accounts: dict[str, dict[str, Any]]
) -> None:
    status, body = login(shared_client, {"usernameOrEmail": "alice", "password": PASSWORD})
    assert status == 200
    assert set(body) == {"token", "user", "expiresIn"}
    assert body["expiresIn"] == "7d"
    assert body["user"] == accounts["alice"]["user"]
    assert body["token"] != accounts["alice"]["token"]


@pytest.mark.parametrize("identifier", ["alice", "ALICE", "alice@example.com", "ALICE@EXAMPLE.COM"])
def test_username_and_email_are_matched_whatever_their_case(
    shared_client: Any, accounts: dict[str, dict[str, Any]], identifier: str
) -> None:
    status, body = login(shared_client, {"usernameOrEmail": identifier, "password": PASSWORD})
    assert status == 200
    assert body["user"]["userId"] == accounts["alice"]["user"]["userId"]


def test_the_login_token_is_accepted_by_verify(
    shared_client: Any, accounts: dict[str, dict[str, Any]]
) -> None:
    _, body = login(shared_client, {"usernameOrEmail": "bob", "password": PASSWORD})
    _, response = shared_client.get(
        "/api/auth/verify", headers={"Authorization": f"Bearer {body['token']}"}
    )
    assert response.status == 200
    assert response.json == {"valid": True, "user": accounts["bob"]["user"]}


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"usernameOrEmail": "alice"},
        {"password": PASSWORD},
        {"usernameOrEmail": "", "password": PASSWORD},
        {"usernameOrEmail": "alice", "password": ""},
        {"usernameOrEmail": None, "password": None},
        {"username": "alice", "password": PASSWORD},
    ],
)
def test_both_fields_are_required(shared_client: Any, body: dict[str, Any]) -> None:
    assert login(shared_client, body) == (
        400,
        {"error": "Username/email and password are required"},
    )


@pytest.mark.parametrize(
    ("field", "value"), [("usernameOrEmail", 42), ("password", ["x"]), ("password", True)]
)
def test_a_field_of_the_wrong_type_is_named(shared_client: Any, field: str, value: Any) -> None:
    body = {"usernameOrEmail": "alice", "password": PASSWORD, field: value}
    assert login(shared_client, body) == (400, {"error": f"{field} must be a string"})


@pytest.mark.parametrize(
    "body",
    [
        {"usernameOrEmail": "alice", "password": "wrong password"},
        {"usernameOrEmail": "alice", "password": PASSWORD.upper()},
        {"usernameOrEmail": "alice", "password": PASSWORD + " "},
        {"usernameOrEmail": "nobody", "password": PASSWORD},
        {"usernameOrEmail": "nobody@example.com", "password": PASSWORD},
        {"usernameOrEmail": "bob@example.com", "password": PASSWORD},
    ],
)
def test_every_failure_is_the_same_invalid_credentials(
    shared_client: Any, accounts: dict[str, dict[str, Any]], body: dict[str, Any]
) -> None:
    assert login(shared_client, body) == (401, {"error": "Invalid credentials"})


def test_an_inactive_user_gets_invalid_credentials_too(
    serve: Callable[..., Any], register_user: Callable[..., dict[str, Any]]
) -> None:
    with serve() as client:
        registered = register_user(client, "carol", PASSWORD)
        store = client.app.ctx.store
        with db_session:
            store.auth.User[registered["user"]["userId"]].is_active = False
        assert login(client, {"usernameOrEmail": "carol", "password": PASSWORD}) == (
            401,
            {"error": "Invalid credentials"},
        )
        # Its existing tokens stop working as well.
        _, response = client.get(
            "/api/auth/verify", headers={"Authorization": f"Bearer {registered['token']}"}
        )
        assert response.status == 401
        assert response.json == {"valid": False}


def test_every_character_of_a_long_password_counts(
    shared_client: Any, register_user: Callable[..., dict[str, Any]]
) -> None:
    long_password = "p" * 100 + "-the-end"
    register_user(shared_client, "longpass", long_password)
    for wrong in (long_password[:72], long_password[:-1], long_password[:-1] + "D"):
        assert login(shared_client, {"usernameOrEmail": "longpass", "password": wrong}) == (
            401,
            {"error": "Invalid credentials"},
        )
    assert (
        login(shared_client, {"usernameOrEmail": "longpass", "password": long_password})[0] == 200
    )


def test_the_longest_allowed_password_and_unicode_work(
    shared_client: Any, register_user: Callable[..., dict[str, Any]]
) -> None:
    longest = "é" * 255 + "!"  # 256 characters, 511 bytes in UTF-8
    register_user(shared_client, "longest", longest)
    assert login(shared_client, {"usernameOrEmail": "longest", "password": longest})[0] == 200
    assert login(shared_client, {"usernameOrEmail": "longest", "password": "é" * 256})[0] == 401


def test_an_absurdly_long_password_is_just_wrong(
    shared_client: Any, accounts: dict[str, dict[str, Any]]
) -> None:
    body = {"usernameOrEmail": "alice", "password": "x" * 100_000}
    assert login(shared_client, body) == (401, {"error": "Invalid credentials"})


def _median_seconds(client: Any, body: dict[str, Any], runs: int = 5) -> float:
    durations = []
    for _ in range(runs):
        started = time.perf_counter()
        status, _ = login(client, body)
        durations.append(time.perf_counter() - started)
        assert status == 401
    return statistics.median(durations)


def test_an_unknown_user_takes_about_as_long_as_a_wrong_password(
    serve: Callable[..., Any], register_user: Callable[..., dict[str, Any]]
) -> None:
    # A real cost, so that hashing dominates the time of a request.
    with serve(BCRYPT_ROUNDS="10", LOGIN_MAX_FAILURES_PER_ACCOUNT="0") as client:
        register_user(client, "dave", PASSWORD)
        login(client, {"usernameOrEmail": "warm-up", "password": "x"})
        wrong_password = _median_seconds(client, {"usernameOrEmail": "dave", "password": "nope"})
        unknown_user = _median_seconds(client, {"usernameOrEmail": "nobody", "password": "nope"})
    assert wrong_password > 0.01, "bcrypt at cost 10 should take measurable time"
    assert 0.5 < unknown_user / wrong_password < 2.0
