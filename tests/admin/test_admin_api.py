"""The admin role and /api/admin: who may, what each action does, and the audit trail."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

PASSWORD = "secret-password"
ADMIN_ROUTES = [
    ("GET", "/api/admin/users", None),
    ("POST", "/api/admin/users/{user}/deactivate", None),
    ("POST", "/api/admin/users/{user}/activate", None),
    ("POST", "/api/admin/users/{user}/password", {"password": "another-password"}),
    ("POST", "/api/admin/users/{user}/quota", {"dailyTokenLimit": 5}),
    ("GET", "/api/admin/invites", None),
    ("POST", "/api/admin/invites", {"uses": 1}),
    ("DELETE", "/api/admin/invites/abc", None),
    ("GET", "/api/admin/usage", None),
]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def call(
    client: Any, method: str, path: str, body: Any = None, token: str | None = None
) -> tuple[int, Any]:
    options: dict[str, Any] = {"headers": bearer(token) if token else {}}
    if body is not None:
        options["json"] = body
    _, response = client.request(path, http_method=method.lower(), **options)
    return response.status, response.json


def login(client: Any, username: str, password: str = PASSWORD) -> tuple[int, Any]:
    return call(
        client, "POST", "/api/auth/login", {"usernameOrEmail": username, "password": password}
    )


@pytest.fixture
def team(
    serve: Callable[..., Any], register_user: Callable[..., dict[str, Any]]
) -> Iterator[tuple[Any, dict[str, Any], dict[str, Any]]]:
    """A server with its first user (the admin) and a second, ordinary user."""
    with serve() as client:
        boss = register_user(client, "boss", PASSWORD)
        worker = register_user(client, "worker", PASSWORD)
        yield client, boss, worker


def test_the_first_user_is_an_admin_and_the_next_is_not(team: Any) -> None:
    client, boss, worker = team
    assert boss["user"]["isAdmin"] is True
    assert worker["user"]["isAdmin"] is False
    status, verified = call(client, "GET", "/api/auth/verify", token=boss["token"])
    assert status == 200 and verified["user"]["isAdmin"] is True


@pytest.mark.parametrize(("method", "path", "body"), ADMIN_ROUTES)
def test_a_non_admin_gets_403_and_a_stranger_401(
    team: Any, method: str, path: str, body: Any
) -> None:
    client, boss, worker = team
    path = path.format(user=boss["user"]["userId"])
    assert call(client, method, path, body, token=worker["token"]) == (403, {"error": "Forbidden"})
    assert call(client, method, path, body)[0] == 401
    assert call(client, method, path, body, token="not-a-token") == (
        401,
        {"error": "Invalid token"},
    )
    # Nothing happened to the admin on the way.
    assert login(client, "boss")[0] == 200


def test_the_users_list_has_roles_state_and_usage(team: Any) -> None:
    client, boss, worker = team
    status, body = call(client, "GET", "/api/admin/users", token=boss["token"])
    assert status == 200
    assert [u["username"] for u in body["users"]] == ["boss", "worker"]
    listed = body["users"][1]
    assert listed["userId"] == worker["user"]["userId"]
    assert (listed["isAdmin"], listed["isActive"]) == (False, True)
    assert listed["dailyTokenLimit"] is None and listed["effectiveDailyTokenLimit"] is None
    assert listed["usageToday"] == {"inputTokens": 0, "outputTokens": 0, "totalTokens": 0}
    assert "password_hash" not in str(body) and "passwordHash" not in str(body)


def test_deactivation_refuses_tokens_and_sign_in_until_activated(team: Any) -> None:
    client, boss, worker = team
    user_id = worker["user"]["userId"]
    status, body = call(
        client, "POST", f"/api/admin/users/{user_id}/deactivate", token=boss["token"]
    )
    assert status == 200 and body["user"]["isActive"] is False
    assert call(client, "GET", "/api/auth/verify", token=worker["token"]) == (
        401,
        {"valid": False},
    )
    assert login(client, "worker") == (401, {"error": "Invalid credentials"})
    status, body = call(client, "POST", f"/api/admin/users/{user_id}/activate", token=boss["token"])
    assert status == 200 and body["user"]["isActive"] is True
    assert call(client, "GET", "/api/auth/verify", token=worker["token"])[0] == 200
    assert login(client, "worker")[0] == 200


def test_an_admin_cannot_deactivate_themselves_and_unknown_users_are_404(team: Any) -> None:
    client, boss, _ = team
    me = boss["user"]["userId"]
    assert call(client, "POST", f"/api/admin/users/{me}/deactivate", token=boss["token"]) == (
        400,
        {"error": "You cannot deactivate your own account"},
    )
    for action in ("deactivate", "activate", "quota", "password"):
        status, body = call(
            client,
            "POST",
            f"/api/admin/users/nobody/{action}",
            {"password": "long-enough", "dailyTokenLimit": 1},
            token=boss["token"],
        )
        assert (status, body) == (404, {"error": "No such user"}), action


def test_a_password_reset_ends_old_tokens_and_the_old_password(team: Any) -> None:
    client, boss, worker = team
    user_id = worker["user"]["userId"]
    path = f"/api/admin/users/{user_id}/password"
    for bad in ({}, {"password": 5}, {"password": "short"}, {"password": "x" * 257}):
        assert call(client, "POST", path, bad, token=boss["token"])[0] == 400, bad
    assert call(client, "POST", path, {"password": "brand-new-pass"}, token=boss["token"]) == (
        200,
        {"success": True},
    )
    assert call(client, "GET", "/api/auth/verify", token=worker["token"])[0] == 401
    assert login(client, "worker")[0] == 401
    status, fresh = login(client, "worker", "brand-new-pass")
    assert status == 200
    assert call(client, "GET", "/api/auth/verify", token=fresh["token"])[0] == 200


@pytest.mark.parametrize(
    "body",
    [{}, {"dailyTokenLimit": -1}, {"dailyTokenLimit": "5"}, {"dailyTokenLimit": True},
     {"dailyTokenLimit": 1.5}, {"dailyTokenLimit": 2**70}],
)  # fmt: skip
def test_bad_quota_bodies_are_400(team: Any, body: dict[str, Any]) -> None:
    client, boss, worker = team
    path = f"/api/admin/users/{worker['user']['userId']}/quota"
    assert call(client, "POST", path, body, token=boss["token"])[0] == 400


def test_a_per_user_limit_is_set_and_cleared(team: Any) -> None:
    client, boss, worker = team
    path = f"/api/admin/users/{worker['user']['userId']}/quota"
    status, body = call(client, "POST", path, {"dailyTokenLimit": 5000}, token=boss["token"])
    assert status == 200
    assert body["user"]["dailyTokenLimit"] == body["user"]["effectiveDailyTokenLimit"] == 5000
    status, body = call(client, "POST", path, {"dailyTokenLimit": None}, token=boss["token"])
    assert body["user"]["dailyTokenLimit"] is None


def test_invites_are_created_listed_used_and_revoked(
    serve: Callable[..., Any], register_user: Callable[..., dict[str, Any]]
) -> None:
    with serve(INVITE_CODE_REQUIRED="true") as client:
        daily = client.app.ctx.auth  # the first user registers with the daily code
        from service.auth.invites import daily_invite_code

        assert daily.invite_code_required
        boss = register_user(client, "boss", PASSWORD, inviteCode=daily_invite_code())
        token = boss["token"]
        status, made = call(
            client,
            "POST",
            "/api/admin/invites",
            {"uses": 2, "expiresIn": "7d", "note": "for the team"},
            token=token,
        )
        assert status == 201
        code, invite = made["code"], made["invite"]
        assert code.startswith("pa-")
        assert (invite["maxUses"], invite["uses"], invite["usable"]) == (2, 0, True)
        assert invite["note"] == "for the team" and invite["expiresAt"] is not None
        register_user(client, "newcomer", PASSWORD, inviteCode=code)
        status, listed = call(client, "GET", "/api/admin/invites", token=token)
        assert status == 200
        assert [(i["id"], i["uses"]) for i in listed["invites"]] == [(invite["id"], 1)]
        assert code not in str(listed)
        assert call(client, "DELETE", f"/api/admin/invites/{invite['id']}", token=token) == (
            200,
            {"success": True},
        )
        status, refused = call(
            client,
            "POST",
            "/api/auth/register",
            {"username": "late", "password": PASSWORD, "inviteCode": code},
        )
        assert (status, refused) == (400, {"error": "Invalid invite code"})
        assert call(client, "DELETE", "/api/admin/invites/nope", token=token) == (
            404,
            {"error": "No such invite code"},
        )


@pytest.mark.parametrize(
    "body",
    [{"uses": 0}, {"uses": 1001}, {"uses": "2"}, {"uses": None}, {"expiresIn": "forever"},
     {"expiresIn": 7}, {"expiresIn": "99999w"}, {"note": "n" * 201}, {"note": 3},
     {"note": "a\x00b"}],
)  # fmt: skip
def test_bad_invite_bodies_are_400(team: Any, body: dict[str, Any]) -> None:
    client, boss, _ = team
    status, answer = call(client, "POST", "/api/admin/invites", body, token=boss["token"])
    assert status == 400 and answer["error"]


@pytest.mark.parametrize("days", ["0", "367", "x", "-1", "1.5", "٣"])
def test_bad_usage_days_are_400(team: Any, days: str) -> None:
    client, boss, _ = team
    status, body = call(client, "GET", f"/api/admin/usage?days={days}", token=boss["token"])
    assert status == 400 and "days" in body["error"]


def test_usage_answers_for_admins_and_each_user(team: Any) -> None:
    client, boss, worker = team
    status, body = call(client, "GET", "/api/admin/usage?days=30", token=boss["token"])
    assert status == 200
    assert body["days"] == [] and body["total"]["totalTokens"] == 0
    assert body["since"] <= body["until"]
    status, mine = call(client, "GET", "/api/usage", token=worker["token"])
    assert status == 200
    assert mine["today"]["totalTokens"] == 0 and mine["dailyTokenLimit"] is None
    assert mine["resetsAt"] % 86_400_000 == 0
    assert call(client, "GET", "/api/usage")[0] == 401


def test_admin_actions_are_audited_without_secrets(team: Any) -> None:
    client, boss, worker = team
    user_id = worker["user"]["userId"]
    call(client, "GET", "/api/admin/users", token=worker["token"])
    call(client, "POST", f"/api/admin/users/{user_id}/password", {"password": "pw-secret-123"},
         token=boss["token"])  # fmt: skip
    call(client, "POST", f"/api/admin/users/{user_id}/deactivate", token=boss["token"])
    status, made = call(client, "POST", "/api/admin/invites", {}, token=boss["token"])
    log = client.app.ctx.settings.log_file.read_text()
    admin_id = boss["user"]["userId"]
    for line in (
        f"admin action=reset_password admin={admin_id} user={user_id}",
        f"admin action=deactivate admin={admin_id} user={user_id}",
        f"admin action=invite_create admin={admin_id} invite={made['invite']['id']}",
        f"admin refused user={user_id} reason=not_admin",
    ):
        assert f"portagent.audit: {line}" in log
    assert "pw-secret-123" not in log
    assert made["code"] not in log
    assert boss["token"] not in log
