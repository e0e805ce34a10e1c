"""Invite codes: the daily code (exactly today's 00:00:01 in the server's time zone), the
operator's single-use codes made with ``portagent invite``, and turning it all off."""

from __future__ import annotations

import datetime as dt
import re
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

PASSWORD = "secret-password"
INVALID = (400, {"error": "Invalid invite code"})


def daily_code(days: int = 0) -> str:
    """Worked out the way the README tells users to (``date -d 'today 00:00:01' +%s``)."""
    day = dt.date.today() + dt.timedelta(days=days)
    return str(int(dt.datetime.combine(day, dt.time(0, 0, 1)).timestamp()))


def register(client: Any, username: str, code: Any = None, **fields: Any) -> tuple[int, Any]:
    body = {"username": username, "password": PASSWORD, **fields}
    if code is not None:
        body["inviteCode"] = code
    _, response = client.post("/api/auth/register", json=body)
    return response.status, response.json


def test_the_daily_code_matches_what_date_prints() -> None:
    shell = subprocess.run(
        ["date", "-d", "today 00:00:01", "+%s"], capture_output=True, text=True, check=False
    )
    if shell.returncode != 0:
        pytest.skip("GNU date is not available")
    assert daily_code() == shell.stdout.strip()


SHARED_SETTINGS = {"INVITE_CODE_REQUIRED": "true"}


def test_auth_config_says_invite_codes_are_required(shared_client: Any) -> None:
    _, response = shared_client.get("/api/auth/config")
    assert response.status == 200
    assert response.json == {"inviteCodeRequired": True}


def test_the_daily_code_lets_anyone_register(shared_client: Any) -> None:
    status, body = register(shared_client, "daily1", daily_code())
    assert status == 201, body
    assert register(shared_client, "daily2", daily_code())[0] == 201


@pytest.mark.parametrize(
    "code",
    [
        "",
        "   ",
        "wrong",
        " " + daily_code(),
        daily_code() + " ",
        daily_code() + "\n",
        daily_code() + "0",
        daily_code() + "x",
        daily_code()[:-1],
        "0" + daily_code(),
        "+" + daily_code(),
        daily_code() + ".0",
        daily_code(days=-1),
        daily_code(days=1),
        str(int(daily_code()) - 1),
        str(int(daily_code()) + 1),
        # Digits that are not ASCII digits ("١٢٣" is Arabic-Indic).
        "".join(chr(0x0660 + int(d)) for d in daily_code()),
        "\u00b9\u00b2\u00b3",
        "pa-not-a-real-code",
    ],
)
def test_anything_but_exactly_todays_code_is_refused(shared_client: Any, code: str) -> None:
    assert register(shared_client, "hopeful", code) == INVALID


@pytest.mark.parametrize("code", [None, 1796342401, ["x"]])
def test_a_missing_or_non_string_code(shared_client: Any, code: Any) -> None:
    status, body = register(shared_client, "hopeful", code)
    if code is None:
        assert (status, body) == INVALID
    else:
        assert (status, body) == (400, {"error": "inviteCode must be a string"})


def test_a_lone_surrogate_in_the_code_is_a_clean_400(shared_client: Any) -> None:
    _, response = shared_client.post(
        "/api/auth/register",
        content=b'{"username":"hopeful","password":"secret-password","inviteCode":"\\ud800"}',
        headers={"content-type": "application/json"},
    )
    assert response.status == 400
    assert set(response.json) == {"error"}


def test_invite_codes_off_means_no_code_is_needed_or_checked(serve: Callable[..., Any]) -> None:
    with serve(INVITE_CODE_REQUIRED="false") as client:
        _, response = client.get("/api/auth/config")
        assert response.json == {"inviteCodeRequired": False}
        assert register(client, "free1")[0] == 201
        assert register(client, "free2", "anything at all")[0] == 201
        assert register(client, "free3", "")[0] == 201


# --- single-use codes made with the command line -------------------------------------------


@pytest.fixture
def invites(run_cli: Callable[..., Any], tmp_path: Path) -> Callable[..., Any]:
    """``portagent invite ARGS -d DATA_DIR`` on the data directory the ``serve`` fixture uses."""
    data_dir = tmp_path / "data-dir"

    def invite(*args: str) -> subprocess.CompletedProcess[str]:
        return run_cli("invite", *args, "-d", str(data_dir))

    return invite


def create_code(invites: Callable[..., Any], *args: str) -> tuple[str, str]:
    """Make a code; return it and its id."""
    made = invites("create", *args)
    assert made.returncode == 0, made.stderr
    code = made.stdout.strip()
    assert len(code.splitlines()) == 1 and len(code) >= 16
    match = re.search(r"\bid (\w+)", made.stderr)
    assert match, made.stderr
    return code, match.group(1)


def listing(invites: Callable[..., Any]) -> dict[str, str]:
    """``invite list`` as {id: its line}."""
    listed = invites("list")
    assert listed.returncode == 0, listed.stderr
    return {line.split()[0]: line for line in listed.stdout.splitlines() if line.strip()}


def test_a_created_code_works_once(invites: Callable[..., Any], serve: Callable[..., Any]) -> None:
    code, code_id = create_code(invites)
    with serve(INVITE_CODE_REQUIRED="true") as client:
        assert register(client, "first", code)[0] == 201
        assert register(client, "second", code) == INVALID
    line = listing(invites)[code_id]
    assert "1/1" in line
    assert code not in line


def test_a_code_with_several_uses(invites: Callable[..., Any], serve: Callable[..., Any]) -> None:
    code, code_id = create_code(invites, "--uses", "2")
    assert "0/2" in listing(invites)[code_id]
    with serve(INVITE_CODE_REQUIRED="true") as client:
        assert register(client, "first", code)[0] == 201
        assert register(client, "second", code)[0] == 201
        assert register(client, "third", code) == INVALID
    assert "2/2" in listing(invites)[code_id]


def test_a_revoked_code_is_refused(invites: Callable[..., Any], serve: Callable[..., Any]) -> None:
    code, code_id = create_code(invites, "--uses", "5")
    other, _ = create_code(invites)
    revoked = invites("revoke", code_id)
    assert revoked.returncode == 0, revoked.stderr
    assert code_id in revoked.stdout
    assert "revoked" in listing(invites)[code_id]
    with serve(INVITE_CODE_REQUIRED="true") as client:
        assert register(client, "first", code) == INVALID
        assert register(client, "second", other)[0] == 201


def test_revoking_while_the_server_runs_takes_effect_at_once(
    invites: Callable[..., Any], serve: Callable[..., Any]
) -> None:
    code, code_id = create_code(invites, "--uses", "5")
    with serve(INVITE_CODE_REQUIRED="true") as client:
        assert register(client, "first", code)[0] == 201
        assert invites("revoke", code_id).returncode == 0
        assert register(client, "second", code) == INVALID


def test_an_expired_code_is_refused(invites: Callable[..., Any], serve: Callable[..., Any]) -> None:
    code, code_id = create_code(invites, "--expires", "1s")
    lasting, lasting_id = create_code(invites, "--expires", "7d")
    time.sleep(1.2)
    with serve(INVITE_CODE_REQUIRED="true") as client:
        assert register(client, "late", code) == INVALID
        assert register(client, "ontime", lasting)[0] == 201
    listed = listing(invites)
    assert "usable" not in listed[code_id].split()
    week = (dt.datetime.now() + dt.timedelta(days=7)).strftime("%Y-%m-%d")
    assert week in listed[lasting_id]


def test_a_failed_registration_does_not_use_up_the_code(
    invites: Callable[..., Any], serve: Callable[..., Any]
) -> None:
    code, code_id = create_code(invites)
    with serve(INVITE_CODE_REQUIRED="true") as client:
        assert register(client, "taken", daily_code())[0] == 201
        assert register(client, "TAKEN", code)[0] == 409
        assert register(client, "bob", code, email="not-an-email")[0] == 400
        assert register(client, "b", code)[0] == 400
        assert register(client, "bob", code)[0] == 201
    assert "1/1" in listing(invites)[code_id]


def test_codes_are_stored_hashed(invites: Callable[..., Any], tmp_path: Path) -> None:
    code, _ = create_code(invites)
    data = tmp_path / "data-dir" / "data"
    stored = b"".join(path.read_bytes() for path in data.iterdir() if path.is_file())
    assert code.encode() not in stored
    assert code not in invites("list").stdout


def test_list_with_no_codes(invites: Callable[..., Any]) -> None:
    listed = invites("list")
    assert listed.returncode == 0
    assert listed.stdout.strip() == "No invite codes."


def test_revoking_an_unknown_id_fails(invites: Callable[..., Any]) -> None:
    revoked = invites("revoke", "no-such-id")
    assert revoked.returncode == 1
    assert revoked.stderr.strip() == "Error: no invite code with id no-such-id"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--uses", "0"), "--uses must be at least 1"),
        (("--uses", "many"), "invalid int value: 'many'"),
        (("--expires", "soon"), "'soon' is not a duration like 30m, 12h, 7d or 2w"),
        (("--expires", "0d"), "'0d' is not a duration like 30m, 12h, 7d or 2w"),
    ],
)
def test_bad_create_options_are_explained(
    invites: Callable[..., Any], args: tuple[str, ...], message: str
) -> None:
    made = invites("create", *args)
    assert made.returncode == 2
    assert made.stdout == ""
    assert message in made.stderr
    assert "Traceback" not in made.stderr


def test_invite_commands_need_no_api_key(
    run_cli: Callable[..., Any], cli_env: Callable[..., dict[str, str]], tmp_path: Path
) -> None:
    made = run_cli("invite", "create", "-d", str(tmp_path / "elsewhere"), env=cli_env())
    assert made.returncode == 0, made.stderr
    assert made.stdout.strip().startswith("pa-")


def test_data_dir_from_the_environment(
    run_cli: Callable[..., Any], cli_env: Callable[..., dict[str, str]], tmp_path: Path
) -> None:
    env = cli_env(DATA_DIR=str(tmp_path / "from-env"))
    made = run_cli("invite", "create", env=env)
    assert made.returncode == 0, made.stderr
    assert (tmp_path / "from-env" / "data" / "portagent.db").is_file()
    assert len(run_cli("invite", "list", env=env).stdout.splitlines()) == 1
