"""POST /api/auth/register: the answer's shape, each check in the contract's order, conflicts,
and that a refused registration leaves nothing behind."""

from __future__ import annotations

import base64
import hashlib
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import bcrypt
import pytest
from pony.orm import db_session, select

from service.auth.invites import daily_invite_code

USER_KEYS = {
    "userId",
    "username",
    "email",
    "containerId",
    "displayName",
    "avatar",
    "createdAt",
    "isAdmin",
}
CONTAINER_ID = re.compile(r"^user-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def post_register(client: Any, body: Any) -> tuple[int, Any]:
    _, response = client.post("/api/auth/register", json=body)
    return response.status, response.json


def containers(data_dir: Path) -> list[str]:
    folder = data_dir / "containers"
    return sorted(path.name for path in folder.iterdir()) if folder.exists() else []


def test_register_answers_201_with_token_user_and_expiry(shared_client: Any) -> None:
    before = int(time.time() * 1000)
    status, body = post_register(
        shared_client,
        {
            "username": "alice201",
            "password": "secret-password",
            "email": "alice201@example.com",
            "displayName": "Alice A.",
            "avatar": "https://example.com/alice.png",
        },
    )
    after = int(time.time() * 1000)

    assert status == 201
    assert set(body) == {"token", "user", "expiresIn"}
    assert body["expiresIn"] == "7d"
    assert body["token"].count(".") == 2
    user = body["user"]
    assert set(user) == USER_KEYS
    assert user["username"] == "alice201"
    assert user["email"] == "alice201@example.com"
    assert user["displayName"] == "Alice A."
    assert user["avatar"] == "https://example.com/alice.png"
    assert CONTAINER_ID.match(user["containerId"])
    assert before <= user["createdAt"] <= after
    assert user["userId"] and user["userId"] != user["containerId"]


def test_optional_fields_are_null_when_not_given_or_empty(shared_client: Any) -> None:
    status, body = post_register(shared_client, {"username": "nulls1", "password": "secret-pw"})
    assert status == 201
    assert body["user"]["email"] is None
    assert body["user"]["displayName"] is None
    assert body["user"]["avatar"] is None

    status, body = post_register(
        shared_client,
        {"username": "nulls2", "password": "secret-pw", "email": "", "displayName": None},
    )
    assert status == 201
    assert body["user"]["email"] is None
    assert body["user"]["displayName"] is None


def test_the_answer_never_holds_the_password_or_its_hash(shared_client: Any) -> None:
    _, response = shared_client.post(
        "/api/auth/register", json={"username": "nohash", "password": "secret-password"}
    )
    assert response.status == 201
    assert "secret-password" not in response.text
    assert "$2b$" not in response.text
    assert "password" not in response.text.lower()


def test_registration_makes_the_users_workspace_folder(shared_client: Any) -> None:
    data_dir = shared_client.app.ctx.settings.data_dir
    status, body = post_register(shared_client, {"username": "folder", "password": "secret-pw"})
    assert status == 201
    container_id = body["user"]["containerId"]
    assert (data_dir / "containers" / container_id / "workspace").is_dir()


def test_each_user_gets_their_own_container(shared_client: Any) -> None:
    _, first = post_register(shared_client, {"username": "own1", "password": "secret-password"})
    _, second = post_register(shared_client, {"username": "own2", "password": "secret-password"})
    assert first["user"]["containerId"] != second["user"]["containerId"]
    assert first["user"]["userId"] != second["user"]["userId"]


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"password": "secret-password"},
        {"username": "alice"},
        {"username": "", "password": "secret-password"},
        {"username": "alice", "password": ""},
        {"username": None, "password": "secret-password"},
        {"username": "alice", "password": None},
    ],
)
def test_username_and_password_are_required(shared_client: Any, body: dict[str, Any]) -> None:
    assert post_register(shared_client, body) == (
        400,
        {"error": "Username and password are required"},
    )


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            {"username": "al", "password": "secret-password"},
            "Username must be at least 3 characters",
        ),
        ({"username": "alice", "password": "12345"}, "Password must be at least 6 characters"),
        (
            {"username": "alice", "password": "secret-password", "email": "not-an-email"},
            "Invalid email format",
        ),
        (
            {"username": "alice", "password": "secret-password", "email": "a@b"},
            "Invalid email format",
        ),
        (
            {"username": "alice", "password": "secret-password", "email": "a b@example.com"},
            "Invalid email format",
        ),
        (
            {"username": "a" * 65, "password": "secret-password"},
            "Username must be at most 64 characters",
        ),
        (
            {"username": "alice smith", "password": "secret-password"},
            "Username may contain only letters, digits, '_', '-' and '.'",
        ),
        (
            {"username": "alice/..", "password": "secret-password"},
            "Username may contain only letters, digits, '_', '-' and '.'",
        ),
        (
            {"username": "alice@example.com", "password": "secret-password"},
            "Username may contain only letters, digits, '_', '-' and '.'",
        ),
        (
            {"username": "alice", "password": "x" * 257},
            "Password must be at most 256 characters",
        ),
    ],
)
def test_each_field_check_has_its_message(
    shared_client: Any, body: dict[str, Any], message: str
) -> None:
    assert post_register(shared_client, body) == (400, {"error": message})


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("username", 12345),
        ("username", ["alice"]),
        ("password", 12345678),
        ("password", {"a": 1}),
        ("email", 5),
        ("displayName", ["Alice"]),
        ("avatar", True),
        ("inviteCode", 1234567890),
    ],
)
def test_a_field_of_the_wrong_type_is_named(shared_client: Any, field: str, value: Any) -> None:
    body: dict[str, Any] = {"username": "typed", "password": "secret-password", field: value}
    assert post_register(shared_client, body) == (400, {"error": f"{field} must be a string"})


def test_boundary_lengths_are_accepted(shared_client: Any) -> None:
    assert post_register(shared_client, {"username": "abc", "password": "123456"})[0] == 201
    assert post_register(shared_client, {"username": "b" * 64, "password": "p" * 256})[0] == 201
    body = {"username": "a.b_c-D9", "password": "secret-password"}
    assert post_register(shared_client, body)[0] == 201


def test_checks_come_in_the_contracts_order(serve: Callable[..., Any]) -> None:
    everything_wrong = {"username": "al", "password": "123", "email": "bad", "inviteCode": "nope"}
    valid_code = {**everything_wrong, "inviteCode": daily_invite_code()}
    steps = [
        ({**everything_wrong, "username": ""}, "Username and password are required"),
        (everything_wrong, "Invalid invite code"),
        (valid_code, "Username must be at least 3 characters"),
        ({**valid_code, "username": "alice"}, "Password must be at least 6 characters"),
        ({**valid_code, "username": "alice", "password": "secret-pw"}, "Invalid email format"),
    ]
    with serve(INVITE_CODE_REQUIRED="true") as client:
        for body, message in steps:
            assert post_register(client, body) == (400, {"error": message})


def test_a_taken_username_is_a_conflict_whatever_its_case(
    serve: Callable[..., Any], register_user: Callable[..., dict[str, Any]]
) -> None:
    with serve() as client:
        register_user(client, "alice")
        for name in ("alice", "ALICE", "Alice"):
            _, response = client.post(
                "/api/auth/register", json={"username": name, "password": "other-password"}
            )
            assert response.status == 409
            assert response.json == {"error": f"Username '{name}' already exists"}


def test_a_taken_email_is_a_conflict_whatever_its_case(
    serve: Callable[..., Any], register_user: Callable[..., dict[str, Any]]
) -> None:
    with serve() as client:
        register_user(client, "alice", email="alice@example.com")
        _, response = client.post(
            "/api/auth/register",
            json={"username": "bob", "password": "secret-password", "email": "Alice@Example.COM"},
        )
        assert response.status == 409
        assert response.json == {"error": "Email 'Alice@Example.COM' already exists"}


def test_two_users_without_email_do_not_conflict(shared_client: Any) -> None:
    first = {"username": "noemail1", "password": "secret-password"}
    assert post_register(shared_client, first)[0] == 201
    second = {"username": "noemail2", "password": "secret-password", "email": ""}
    assert post_register(shared_client, second)[0] == 201


def test_a_refused_registration_leaves_no_rows_or_folders(
    serve: Callable[..., Any], register_user: Callable[..., dict[str, Any]]
) -> None:
    with serve() as client:
        first = register_user(client, "alice", email="alice@example.com")
        store = client.app.ctx.store
        data_dir = client.app.ctx.settings.data_dir
        refused = [
            {"username": "ALICE", "password": "secret-password"},
            {"username": "bob", "password": "secret-password", "email": "ALICE@example.com"},
            {"username": "bob", "password": "short"},
            {"username": "bob", "password": "secret-password", "email": "bad"},
            {"username": "bob smith", "password": "secret-password"},
        ]
        for body in refused:
            _, response = client.post("/api/auth/register", json=body)
            assert response.status in (400, 409), response.text

        assert containers(data_dir) == [first["user"]["containerId"]]
        with db_session:
            assert select(u for u in store.auth.User).count() == 1
            assert select(c for c in store.agent.Container).count() == 1

        # And the names it refused are still free for a correct registration.
        register_user(client, "bob", email="bob@example.com")


def test_the_first_account_can_sign_in_with_the_password_it_registered(
    serve: Callable[..., Any], register_user: Callable[..., dict[str, Any]]
) -> None:
    with serve() as client:
        registered = register_user(client, "alice", "correct horse")
        _, response = client.post(
            "/api/auth/login", json={"usernameOrEmail": "alice", "password": "correct horse"}
        )
        assert response.status == 200
        assert response.json["user"] == registered["user"]


def test_passwords_are_stored_as_bcrypt_cost_12_of_the_sha256_prehash(
    serve: Callable[..., Any], register_user: Callable[..., dict[str, Any]]
) -> None:
    password = "ü" * 100  # 200 bytes: past bcrypt's own 72-byte limit
    with serve(BCRYPT_ROUNDS="12") as client:
        user_id = register_user(client, "hashed", password)["user"]["userId"]
        with db_session:
            stored = client.app.ctx.store.auth.User[user_id].password_hash
    assert stored.startswith("$2b$12$")
    prehash = base64.b64encode(hashlib.sha256(password.encode()).digest())
    assert bcrypt.checkpw(prehash, stored.encode())
    assert password not in stored


def test_bcrypt_cost_defaults_to_12() -> None:
    from service.config import Settings

    assert Settings.model_fields["bcrypt_rounds"].default == 12
