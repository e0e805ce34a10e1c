"""Settings: built-in defaults < env file < environment < command-line flags, validated once.

Every setting has one name, the environment variable's (``PORT``, ``LLM_PROVIDER_KEY``...).
``load_settings`` merges the layers into a plain dict keyed by those names and validates it
with :class:`Settings`; a bad value raises :class:`ConfigError` with one line naming the
setting, which the command line prints without a traceback.
"""

from __future__ import annotations

import ipaddress
import os
import re
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from dotenv import dotenv_values
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

DEFAULT_SYSTEM_PROMPT = (
    "You are a helpful assistant working for the user through Portagent. "
    "Answer clearly and concisely, using Markdown where it helps."
)

LOG_LEVELS = ("debug", "info", "warn", "error")
BASE_PATH_PATTERN = re.compile(r"^(/[A-Za-z0-9._~-]+)+$")
MIN_JWT_SECRET_LENGTH = 32
JWT_SECRET_FILE = ".jwt_secret"


class ConfigError(Exception):
    """A setting is missing or invalid; the message is one line meant for the operator."""


def _split_csv(value: Any) -> Any:
    if isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    return value


class Settings(BaseModel):
    """All of Portagent's settings. Field aliases are the environment variable names."""

    model_config = ConfigDict(populate_by_name=True, frozen=True, extra="ignore")

    llm_provider: Literal["anthropic", "demo"] = Field("anthropic", alias="LLM_PROVIDER")
    llm_provider_key: SecretStr | None = Field(None, alias="LLM_PROVIDER_KEY")
    llm_provider_url: str = Field("https://api.anthropic.com", alias="LLM_PROVIDER_URL")
    llm_provider_model: str = Field("claude-sonnet-4-20250514", alias="LLM_PROVIDER_MODEL")
    llm_timeout: float = Field(600.0, alias="LLM_TIMEOUT", gt=0)
    llm_max_retries: int = Field(2, alias="LLM_MAX_RETRIES", ge=0, le=10)

    host: str = Field("0.0.0.0", alias="HOST")
    base_path: str = Field("", alias="BASE_PATH")
    port: int = Field(5200, alias="PORT", ge=1, le=65535)
    data_dir: Path = Field(Path("~/.agentx"), alias="DATA_DIR", validate_default=True)
    jwt_secret: SecretStr | None = Field(None, alias="JWT_SECRET")
    invite_code_required: bool = Field(True, alias="INVITE_CODE_REQUIRED")
    log_level: Literal["debug", "info", "warn", "error"] = Field("info", alias="LOG_LEVEL")
    node_env: Literal["production", "development", "test"] = Field("production", alias="NODE_ENV")

    cors_origins: list[str] = Field(default_factory=list, alias="CORS_ORIGINS")
    trusted_proxies: list[str] = Field(default_factory=list, alias="TRUSTED_PROXIES")

    login_max_failures_per_account: int = Field(10, alias="LOGIN_MAX_FAILURES_PER_ACCOUNT", ge=0)
    login_max_failures_per_address: int = Field(50, alias="LOGIN_MAX_FAILURES_PER_ADDRESS", ge=0)
    register_max_per_address: int = Field(20, alias="REGISTER_MAX_PER_ADDRESS", ge=0)
    bcrypt_rounds: int = Field(12, alias="BCRYPT_ROUNDS", ge=4, le=16)
    user_daily_token_limit: int = Field(0, alias="USER_DAILY_TOKEN_LIMIT", ge=0)
    user_max_concurrent_runs: int = Field(0, alias="USER_MAX_CONCURRENT_RUNS", ge=0, le=1000)

    agent_max_turns: int = Field(25, alias="AGENT_MAX_TURNS", ge=1, le=1000)
    agent_max_tokens: int = Field(8192, alias="AGENT_MAX_TOKENS", ge=1)
    agent_system_prompt: str = Field(DEFAULT_SYSTEM_PROMPT, alias="AGENT_SYSTEM_PROMPT")
    agent_context_tokens: int = Field(180_000, alias="AGENT_CONTEXT_TOKENS", ge=1000)
    agent_thinking_budget: int = Field(0, alias="AGENT_THINKING_BUDGET", ge=0)
    agent_tools: list[Literal["bash", "files"]] = Field(
        default_factory=lambda: ["bash", "files"], alias="AGENT_TOOLS"
    )
    agent_tool_format: Literal["anthropic", "json"] = Field("anthropic", alias="AGENT_TOOL_FORMAT")
    agent_bash_timeout: float = Field(120.0, alias="AGENT_BASH_TIMEOUT", gt=0)
    agent_sandbox: Literal["auto", "bwrap", "none"] = Field("auto", alias="AGENT_SANDBOX")
    agent_sandbox_network: bool = Field(True, alias="AGENT_SANDBOX_NETWORK")

    @field_validator("log_level", mode="before")
    @classmethod
    def _normalise_log_level(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = value.strip().lower()
            return "warn" if value == "warning" else value
        return value

    @field_validator(
        "llm_provider", "node_env", "agent_sandbox", "agent_tool_format", mode="before"
    )
    @classmethod
    def _lowercase(cls, value: Any) -> Any:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("cors_origins", "trusted_proxies", mode="before")
    @classmethod
    def _csv(cls, value: Any) -> Any:
        return _split_csv(value)

    @field_validator("agent_tools", mode="before")
    @classmethod
    def _tools(cls, value: Any) -> Any:
        value = _split_csv(value)
        if value == ["none"] or value == []:
            return []
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _valid_networks(cls, value: list[str]) -> list[str]:
        for item in value:
            ipaddress.ip_network(item, strict=False)
        return value

    @field_validator("cors_origins")
    @classmethod
    def _valid_origins(cls, value: list[str]) -> list[str]:
        for origin in value:
            if origin != "*" and not origin.startswith(("http://", "https://")):
                raise ValueError(f"'{origin}' is not an origin like https://chat.example.com")
        return [origin.rstrip("/") for origin in value]

    @field_validator("base_path")
    @classmethod
    def _valid_base_path(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if not value:
            return ""
        if not value.startswith("/") or not BASE_PATH_PATTERN.match(value) or ".." in value:
            raise ValueError("must be a path like /portagent (letters, digits, '-', '_', '.', '/')")
        return value

    @field_validator("data_dir", mode="before")
    @classmethod
    def _expand(cls, value: Any) -> Any:
        if isinstance(value, str):
            if not value.strip():
                raise ValueError("must not be empty")
            value = Path(value)
        if isinstance(value, Path):
            return value.expanduser().resolve()
        return value

    @field_validator("jwt_secret")
    @classmethod
    def _strong_secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or value.get_secret_value() == "":
            return None
        if len(value.get_secret_value()) < MIN_JWT_SECRET_LENGTH:
            raise ValueError(
                f"must be at least {MIN_JWT_SECRET_LENGTH} characters "
                "(generate one with: openssl rand -hex 32), or leave it unset "
                "to have one generated and kept in the data directory"
            )
        return value

    @model_validator(mode="after")
    def _key_required(self) -> Settings:
        if self.llm_provider == "anthropic" and not (
            self.llm_provider_key and self.llm_provider_key.get_secret_value().strip()
        ):
            raise ConfigError(
                "Error: LLM_PROVIDER_KEY is required\n"
                "Set it in the environment (export LLM_PROVIDER_KEY=sk-ant-...), in a .env file, "
                "or run with --demo to try Portagent without a key."
            )
        return self

    @property
    def demo(self) -> bool:
        return self.llm_provider == "demo"

    @property
    def debug(self) -> bool:
        return self.node_env == "development"

    @property
    def database_dir(self) -> Path:
        return self.data_dir / "data"

    @property
    def auth_db_path(self) -> Path:
        return self.database_dir / "portagent.db"

    @property
    def agent_db_path(self) -> Path:
        return self.database_dir / "agentx.db"

    @property
    def log_dir(self) -> Path:
        return self.data_dir / "logs"

    @property
    def log_file(self) -> Path:
        return self.log_dir / "portagent.log"

    @property
    def containers_dir(self) -> Path:
        return self.data_dir / "containers"

    def secret_values(self) -> list[str]:
        """Every secret this configuration holds, for redaction in logs."""
        values = []
        for secret in (self.llm_provider_key, self.jwt_secret):
            if secret is not None and secret.get_secret_value():
                values.append(secret.get_secret_value())
        return values


def mask_key(key: str) -> str:
    """Show at most the first 7 and last 4 characters of a key, and less for short keys."""
    if len(key) >= 24:
        return f"{key[:7]}...{key[-4:]}"
    if len(key) >= 12:
        return f"{key[:3]}...{key[-2:]}"
    return "****"


def _describe(error: ValidationError) -> str:
    first = error.errors()[0]
    name = first["loc"][0] if first["loc"] else "settings"
    field = Settings.model_fields.get(str(name))
    setting = field.alias if field is not None and field.alias else str(name)
    message = first["msg"]
    if message.startswith("Value error, "):
        message = message[len("Value error, ") :]
    value = first.get("input")
    shown = (
        ""
        if setting in ("LLM_PROVIDER_KEY", "JWT_SECRET") or not isinstance(value, str | int)
        else f" (got {value!r})"
    )
    return f"Error: invalid {setting}{shown}: {message}"


def read_env_file(path: Path) -> dict[str, str]:
    """Read a .env file; a missing file is the caller's business."""
    return {key: value for key, value in dotenv_values(path).items() if value is not None}


def load_settings(
    *,
    environ: Mapping[str, str] | None = None,
    env_file: Path | None = None,
    overrides: Mapping[str, Any] | None = None,
    cwd: Path | None = None,
) -> Settings:
    """Merge the layers and validate them.

    ``env_file`` names a file that must exist (``-e``); without it ``.env`` in ``cwd`` is read
    when present. ``overrides`` are command-line flags: keys are setting names, and a flag left
    unset must simply be absent (so it never overrides the environment).
    """
    environ = os.environ if environ is None else environ
    layers: dict[str, Any] = {}
    if env_file is not None:
        if not env_file.is_file():
            raise ConfigError(f"Error: Environment file not found: {env_file}")
        layers.update(read_env_file(env_file))
    else:
        default_file = (cwd or Path.cwd()) / ".env"
        if default_file.is_file():
            layers.update(read_env_file(default_file))
    names = {field.alias for field in Settings.model_fields.values() if field.alias}
    layers.update({key: value for key, value in environ.items() if key in names})
    layers.update(dict(overrides or {}))
    try:
        return Settings.model_validate(layers)
    except ValidationError as error:
        raise ConfigError(_describe(error)) from None


def prepare_data_dir(settings: Settings) -> Settings:
    """Create the data directory tree and settle the JWT secret; return the final settings.

    A generated secret is written once (mode 0600) and read back on every later start, so that
    tokens survive restarts. Writing goes through a temporary file and a hard link so that two
    processes starting at once agree on one secret.
    """
    try:
        # Private to the server's user: the folders hold password hashes, the secret and logs.
        # (The mode applies to folders made here; an existing folder keeps its own.)
        for folder in (
            settings.data_dir,
            settings.database_dir,
            settings.log_dir,
            settings.containers_dir,
        ):
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        probe = settings.data_dir / f".write-test-{os.getpid()}"
        probe.write_text("ok")
        probe.unlink()
    except OSError as error:
        raise ConfigError(
            f"Error: invalid DATA_DIR ({settings.data_dir}): cannot create or write it "
            f"({error.strerror or error})"
        ) from None
    if settings.jwt_secret is not None:
        return settings
    return settings.model_copy(update={"jwt_secret": SecretStr(_stored_jwt_secret(settings))})


def _stored_jwt_secret(settings: Settings) -> str:
    path = settings.database_dir / JWT_SECRET_FILE
    if not path.exists():
        temporary = path.with_name(f"{JWT_SECRET_FILE}.{os.getpid()}.tmp")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(48))
        try:
            os.link(temporary, path)
        except FileExistsError:
            pass
        finally:
            temporary.unlink()
    secret = path.read_text().strip()
    if len(secret) < MIN_JWT_SECRET_LENGTH:
        raise ConfigError(f"Error: the stored JWT secret in {path} is too short; delete the file")
    return secret


def python_log_level(level: str) -> str:
    return {"warn": "WARNING"}.get(level, level.upper())
