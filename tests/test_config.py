"""Settings: defaults < env file < environment < flags; clear one-line errors; the data
directory and the generated JWT secret that survives a restart."""

from __future__ import annotations

import logging.handlers
import sqlite3
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jwt
import pytest

from service.config import ConfigError, load_settings

KEY = "sk-ant-config-0123456789abcdefghijklmnop"


def settings_from(
    tmp_path: Path,
    *,
    dotenv: str | None = None,
    environ: dict[str, str] | None = None,
    env_file: Path | None = None,
    flags: dict[str, Any] | None = None,
) -> Any:
    """Load settings as the server does, from a working directory holding ``dotenv``."""
    workdir = tmp_path / "workdir"
    workdir.mkdir(exist_ok=True)
    if dotenv is not None:
        (workdir / ".env").write_text(dotenv)
    return load_settings(
        environ={"LLM_PROVIDER_KEY": KEY, **(environ or {})},
        env_file=env_file,
        overrides=flags,
        cwd=workdir,
    )


# --- precedence ------------------------------------------------------------------------------


def test_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    settings = settings_from(tmp_path)
    assert settings.port == 5200
    assert settings.host == "0.0.0.0"
    assert settings.data_dir == tmp_path / "home" / ".agentx"
    assert settings.llm_provider_url == "https://api.anthropic.com"
    assert settings.llm_provider_model == "claude-sonnet-4-20250514"
    assert settings.invite_code_required is True
    assert settings.log_level == "info"
    assert settings.node_env == "production"
    assert settings.jwt_secret is None
    assert settings.cors_origins == []


def test_the_env_file_beats_the_defaults(tmp_path: Path) -> None:
    settings = settings_from(tmp_path, dotenv="PORT=6001\nLLM_PROVIDER_MODEL=claude-x\n")
    assert settings.port == 6001
    assert settings.llm_provider_model == "claude-x"


def test_the_environment_beats_the_env_file(tmp_path: Path) -> None:
    settings = settings_from(
        tmp_path, dotenv="PORT=6001\nLOG_LEVEL=debug\n", environ={"PORT": "6002"}
    )
    assert settings.port == 6002
    assert settings.log_level == "debug"


def test_a_flag_beats_the_environment(tmp_path: Path) -> None:
    settings = settings_from(
        tmp_path, dotenv="PORT=6001\n", environ={"PORT": "6002"}, flags={"PORT": 6003}
    )
    assert settings.port == 6003


def test_a_named_env_file_replaces_dot_env(tmp_path: Path) -> None:
    named = tmp_path / "prod.env"
    named.write_text("PORT=6004\n")
    settings = settings_from(
        tmp_path, dotenv="PORT=6001\nLOG_LEVEL=error\n", env_file=named, environ={}
    )
    assert settings.port == 6004
    assert settings.log_level == "info"


def test_the_key_can_come_from_the_env_file(tmp_path: Path) -> None:
    workdir = tmp_path / "workdir"
    workdir.mkdir()
    (workdir / ".env").write_text(f"LLM_PROVIDER_KEY={KEY}\n")
    settings = load_settings(environ={}, cwd=workdir)
    assert settings.llm_provider_key.get_secret_value() == KEY


def test_env_file_quoting_and_comments(tmp_path: Path) -> None:
    settings = settings_from(
        tmp_path,
        dotenv=(
            "# a comment\n"
            'PORT="6005"\n'
            "export LOG_LEVEL=warn\n"
            "LLM_PROVIDER_MODEL='claude-quoted'  # trailing comment\n"
            "\n"
        ),
    )
    assert settings.port == 6005
    assert settings.log_level == "warn"
    assert settings.llm_provider_model == "claude-quoted"


@pytest.mark.parametrize(
    ("text", "expected"), [("false", False), ("0", False), ("no", False), ("TRUE", True)]
)
def test_invite_code_required_reads_booleans(tmp_path: Path, text: str, expected: bool) -> None:
    settings = settings_from(tmp_path, environ={"INVITE_CODE_REQUIRED": text})
    assert settings.invite_code_required is expected


@pytest.mark.parametrize(("text", "expected"), [("INFO", "info"), ("Warn", "warn")])
def test_log_level_ignores_case(tmp_path: Path, text: str, expected: str) -> None:
    assert settings_from(tmp_path, environ={"LOG_LEVEL": text}).log_level == expected


def test_cors_origins_is_a_comma_separated_list(tmp_path: Path) -> None:
    settings = settings_from(
        tmp_path, environ={"CORS_ORIGINS": "https://a.example.com, https://b.example.com/"}
    )
    assert settings.cors_origins == ["https://a.example.com", "https://b.example.com"]


# --- errors ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("environ", "start"),
    [
        ({"PORT": "abc"}, "Error: invalid PORT (got 'abc'): "),
        ({"PORT": "70000"}, "Error: invalid PORT (got '70000'): "),
        ({"PORT": "0"}, "Error: invalid PORT (got '0'): "),
        ({"LOG_LEVEL": "verbose"}, "Error: invalid LOG_LEVEL (got 'verbose'): "),
        ({"INVITE_CODE_REQUIRED": "maybe"}, "Error: invalid INVITE_CODE_REQUIRED (got 'maybe'): "),
        ({"CORS_ORIGINS": "example.com"}, "Error: invalid CORS_ORIGINS"),
        ({"TRUSTED_PROXIES": "not-an-ip"}, "Error: invalid TRUSTED_PROXIES"),
        ({"REGISTER_MAX_PER_ADDRESS": "-1"}, "Error: invalid REGISTER_MAX_PER_ADDRESS"),
    ],
)
def test_a_bad_value_is_one_line_naming_the_setting(
    tmp_path: Path, environ: dict[str, str], start: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        settings_from(tmp_path, environ=environ)
    message = str(caught.value)
    assert message.startswith(start)
    assert "\n" not in message


def test_a_short_jwt_secret_is_refused_without_echoing_it(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        settings_from(tmp_path, environ={"JWT_SECRET": "hunter2-hunter2"})
    assert str(caught.value).startswith("Error: invalid JWT_SECRET")
    assert "hunter2" not in str(caught.value)


@pytest.mark.parametrize(
    ("variables", "start"),
    [
        ({"PORT": "abc"}, "Error: invalid PORT (got 'abc'): "),
        ({"LOG_LEVEL": "loud"}, "Error: invalid LOG_LEVEL (got 'loud'): "),
    ],
)
def test_the_command_stops_on_a_bad_value_with_one_line_and_exit_1(
    run_cli: Callable[..., Any],
    cli_env: Callable[..., dict[str, str]],
    tmp_path: Path,
    variables: dict[str, str],
    start: str,
) -> None:
    env = cli_env(LLM_PROVIDER_KEY=KEY, DATA_DIR=str(tmp_path / "d"), **variables)
    result = run_cli(env=env)
    assert result.returncode == 1
    assert result.stderr.startswith(start)
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr


def test_a_data_dir_that_cannot_be_created_is_one_line(
    run_cli: Callable[..., Any], cli_env: Callable[..., dict[str, str]], tmp_path: Path
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    env = cli_env(LLM_PROVIDER_KEY=KEY, DATA_DIR=str(blocker / "data"))
    result = run_cli(env=env)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"Error: invalid DATA_DIR ({blocker / 'data'}): ")
    assert "Traceback" not in result.stderr


def test_a_data_dir_flag_that_cannot_be_used_is_one_line(
    run_cli: Callable[..., Any], cli_env: Callable[..., dict[str, str]], tmp_path: Path
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    result = run_cli("-d", str(blocker), env=cli_env(LLM_PROVIDER_KEY=KEY))
    assert result.returncode == 1
    assert result.stderr.startswith(f"Error: invalid DATA_DIR ({blocker}): ")
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_bad_port_flag_is_refused(
    run_cli: Callable[..., Any], cli_env: Callable[..., dict[str, str]], tmp_path: Path
) -> None:
    result = run_cli("-p", "abc", "-d", str(tmp_path / "d"), env=cli_env(LLM_PROVIDER_KEY=KEY))
    assert result.returncode != 0
    assert "-p/--port: 'abc' is not a port number" in result.stderr
    assert "Traceback" not in result.stderr


def test_without_a_key_the_server_does_not_start(
    run_cli: Callable[..., Any], cli_env: Callable[..., dict[str, str]], tmp_path: Path
) -> None:
    result = run_cli("-d", str(tmp_path / "d"), env=cli_env())
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert lines[0] == "Error: LLM_PROVIDER_KEY is required"
    assert len(lines) == 2
    assert "LLM_PROVIDER_KEY=" in lines[1]
    assert "Traceback" not in result.stderr


def test_an_empty_key_counts_as_none(
    run_cli: Callable[..., Any], cli_env: Callable[..., dict[str, str]], tmp_path: Path
) -> None:
    result = run_cli("-d", str(tmp_path / "d"), env=cli_env(LLM_PROVIDER_KEY=""))
    assert result.returncode == 1
    assert result.stderr.startswith("Error: LLM_PROVIDER_KEY is required\n")


def test_a_missing_env_file_is_an_error(
    run_cli: Callable[..., Any], cli_env: Callable[..., dict[str, str]], tmp_path: Path
) -> None:
    missing = tmp_path / "nowhere.env"
    result = run_cli("-e", str(missing), env=cli_env(LLM_PROVIDER_KEY=KEY))
    assert result.returncode == 1
    assert result.stderr.strip() == f"Error: Environment file not found: {missing}"


# --- the data directory and the JWT secret ------------------------------------------------------


def test_start_creates_the_data_directory_tree(make_app: Callable[..., Any]) -> None:
    app = make_app()
    data_dir = app.ctx.settings.data_dir
    _, response = app.test_client.get("/health")
    assert response.status == 200
    assert (data_dir / "data" / "portagent.db").is_file()
    assert (data_dir / "data" / "agentx.db").is_file()
    assert (data_dir / "logs" / "portagent.log").is_file()


def test_the_databases_use_wal(make_app: Callable[..., Any]) -> None:
    app = make_app()
    app.test_client.get("/health")
    for name in ("portagent.db", "agentx.db"):
        with sqlite3.connect(app.ctx.settings.data_dir / "data" / name) as connection:
            assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_the_log_file_is_rotated_by_size(make_app: Callable[..., Any]) -> None:
    app = make_app()
    log_file = str(app.ctx.settings.data_dir / "logs" / "portagent.log")
    handlers = [
        handler
        for handler in logging.getLogger().handlers
        if isinstance(handler, logging.handlers.RotatingFileHandler)
        and handler.baseFilename == log_file
    ]
    assert len(handlers) == 1
    assert handlers[0].maxBytes > 0
    assert handlers[0].backupCount >= 2


def test_the_generated_jwt_secret_is_private_and_kept(
    make_app: Callable[..., Any], tmp_path: Path
) -> None:
    make_app()
    secret_file = tmp_path / "data-dir" / "data" / ".jwt_secret"
    assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600
    secret = secret_file.read_text().strip()
    assert len(secret) >= 32
    make_app()
    assert secret_file.read_text().strip() == secret


def test_a_token_survives_a_restart(
    serve: Callable[..., Any], register_user: Callable[..., Any]
) -> None:
    with serve() as client:
        registered = register_user(client, "alice")
    with serve() as client:
        _, response = client.get(
            "/api/auth/verify", headers={"Authorization": f"Bearer {registered['token']}"}
        )
    assert response.status == 200
    assert response.json == {"valid": True, "user": registered["user"]}


def test_a_given_jwt_secret_signs_the_tokens(
    serve: Callable[..., Any], register_user: Callable[..., Any]
) -> None:
    secret = "a-very-long-operator-chosen-secret-0123456789"
    with serve(JWT_SECRET=secret) as client:
        token = register_user(client, "alice")["token"]
    assert jwt.decode(token, secret, algorithms=["HS256"])["sub"]
    with serve(JWT_SECRET=secret + "-rotated") as client:
        _, response = client.get("/api/auth/verify", headers={"Authorization": f"Bearer {token}"})
    assert response.status == 401


@pytest.mark.parametrize(
    "key",
    [
        "sk-ant-api03-" + "A" * 80 + "WXYZ",
        "sk-ant-0123456789abcdefgh",
        "0123456789abcdef",
        "0123456789",
        "abc",
    ],
)
def test_the_banner_masks_the_key_to_at_most_7_and_4_characters(key: str) -> None:
    from service.config import mask_key

    masked = mask_key(key)
    assert key not in masked
    shown = masked.replace("...", "").replace("*", "")
    assert len(shown) <= 11
    assert len(shown) <= len(key) // 2
    head, _, tail = masked.partition("...")
    if tail:
        assert key.startswith(head) and len(head) <= 7
        assert key.endswith(tail) and len(tail) <= 4


def test_the_folders_it_creates_are_private(make_app: Callable[..., Any], tmp_path: Path) -> None:
    make_app()
    data_dir = tmp_path / "data-dir"
    for folder in (data_dir, data_dir / "data", data_dir / "logs", data_dir / "containers"):
        assert stat.S_IMODE(folder.stat().st_mode) & 0o077 == 0, folder
