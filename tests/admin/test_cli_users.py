"""``portagent user ...`` on a real data directory."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

PASSWORD = "secret-password"
PORTAGENT = Path(sys.executable).with_name("portagent")


@pytest.fixture
def users(run_cli: Callable[..., Any], tmp_path: Path) -> Callable[..., Any]:
    data_dir = tmp_path / "data-dir"
    return lambda *args: run_cli("user", *args, "-d", str(data_dir))


def login(client: Any, username: str) -> int:
    _, response = client.post(
        "/api/auth/login", json={"usernameOrEmail": username, "password": PASSWORD}
    )
    return response.status


def test_list_promote_demote_and_deactivate(
    users: Callable[..., Any],
    serve: Callable[..., Any],
    register_user: Callable[..., dict[str, Any]],
    tmp_path: Path,
) -> None:
    with serve() as client:
        register_user(client, "first", PASSWORD)
        register_user(client, "second", PASSWORD, email="second@example.com")
    listed = users("list")
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert lines[0].startswith("first ") and "  admin  today 0 tokens" in lines[0]
    assert lines[1].startswith("second ") and "  user  " in lines[1]

    promoted = users("promote", "SECOND@example.com")
    assert promoted.returncode == 0 and promoted.stdout.strip() == "second is now an admin."
    assert users("demote", "first").returncode == 0
    deactivated = users("deactivate", "first")
    assert deactivated.stdout.strip() == "first is deactivated: their tokens are refused."
    lines = users("list").stdout.splitlines()
    assert "  user, deactivated  " in lines[0] and "  admin  " in lines[1]
    with serve() as client:
        assert login(client, "first") == 401
        assert login(client, "second") == 200
    assert users("activate", "first").returncode == 0
    with serve() as client:
        assert login(client, "first") == 200
    log = (tmp_path / "data-dir" / "logs" / "portagent.log").read_text()
    assert "portagent.audit: cli action=deactivate user=" in log


def test_unknown_users_and_commands_fail_clearly(users: Callable[..., Any]) -> None:
    missing = users("promote", "ghost")
    assert missing.returncode == 1
    assert missing.stderr.strip() == "Error: no user named ghost"
    assert users("list").stdout.strip() == "No users."
    wrong = users("explode")
    assert wrong.returncode == 2 and "invalid choice" in wrong.stderr


def test_password_and_quota_from_the_command_line(
    users: Callable[..., Any],
    serve: Callable[..., Any],
    register_user: Callable[..., dict[str, Any]],
    cli_env: Callable[..., dict[str, str]],
    tmp_path: Path,
) -> None:
    with serve() as client:
        old = register_user(client, "first", PASSWORD)["token"]
    data_dir = str(tmp_path / "data-dir")
    changed = subprocess.run(
        [str(PORTAGENT), "user", "password", "first", "-d", data_dir],
        input="a-fresh-password\n",
        env=cli_env(),
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert changed.returncode == 0, changed.stderr
    assert changed.stdout.strip() == "first has a new password: their old tokens are refused."
    assert "a-fresh-password" not in (tmp_path / "data-dir" / "logs" / "portagent.log").read_text()
    with serve() as client:
        assert login(client, "first") == 401
        _, response = client.get("/api/auth/verify", headers={"Authorization": f"Bearer {old}"})
        assert response.status == 401
        _, response = client.post(
            "/api/auth/login",
            json={"usernameOrEmail": "first", "password": "a-fresh-password"},
        )
        assert response.status == 200
    assert users("quota", "first", "5000").stdout.strip() == "first may use 5,000 tokens a day."
    assert "today 0 tokens of 5,000" in users("list").stdout
    assert users("quota", "first", "0").stdout.strip() == "first has no daily token limit."
    assert "today 0 tokens\n" in users("list").stdout + "\n"
    assert users("quota", "first", "default").returncode == 0
    refused = users("quota", "first", "-3")
    assert refused.returncode == 1
    assert refused.stderr.strip() == "Error: '-3' is not a number of tokens, 0 or 'default'"
    short = subprocess.run(
        [str(PORTAGENT), "user", "password", "first", "-d", data_dir],
        input="abc\n",
        env=cli_env(),
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert short.returncode == 1 and "6-256 characters" in short.stderr
