"""docker-compose.yml and .env.example, read: what `docker compose up -d` will do."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from deploytools import REPO, find_tool, run_tool

from service.config import Settings, load_settings

ENV_EXAMPLE = REPO / ".env.example"
COMPOSE_ONLY = {"PORTAGENT_IMAGE", "PORTAGENT_PORT"}


@pytest.fixture(scope="module")
def service() -> dict[str, Any]:
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    assert list(compose["services"]) == ["portagent"]
    return compose["services"]["portagent"]


def test_compose_runs_the_image_as_the_readme_shows(service: dict[str, Any]) -> None:
    assert service["env_file"] == ".env"
    assert service["volumes"] == ["./data:/home/agentx/.agentx"]
    assert service["restart"] == "unless-stopped"
    assert service["ports"] == ["${PORTAGENT_PORT:-5200}:5200"]
    assert service["build"]["context"] == "."
    assert service["environment"]["DATA_DIR"] == "/home/agentx/.agentx"
    check = service["healthcheck"]
    assert check["test"][0] == "CMD" and "/health" in check["test"][-1]
    assert {"interval", "timeout", "retries", "start_period"} <= set(check)


def test_compose_file_matches_the_compose_spec(tmp_path: Path) -> None:
    checker = find_tool("check-jsonschema")
    compose = str(REPO / "docker-compose.yml")
    result = run_tool([checker, "--builtin-schema", "vendor.compose-spec", compose])
    assert result.returncode == 0, result.stdout + result.stderr
    typo = tmp_path / "compose.yml"
    typo.write_text((REPO / "docker-compose.yml").read_text().replace("restart:", "restartt:"))
    result = run_tool([checker, "--builtin-schema", "vendor.compose-spec", str(typo)])
    assert result.returncode != 0 and "restartt" in result.stdout


def example_lines() -> dict[str, str]:
    """The commented `# NAME=value` lines of .env.example."""
    found = re.findall(r"^# ([A-Z][A-Z0-9_]*)=(.*)$", ENV_EXAMPLE.read_text(), re.MULTILINE)
    return dict(found)


def test_env_example_lists_every_setting() -> None:
    settings = {field.alias for field in Settings.model_fields.values() if field.alias}
    listed = set(example_lines())
    assert settings - listed == set(), "settings missing from .env.example"
    assert listed - settings - COMPOSE_ONLY == set(), "names the server does not know"


def test_env_example_holds_no_secret_and_sets_nothing() -> None:
    active = [
        line
        for line in ENV_EXAMPLE.read_text().splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    assert active == [], "every line is a comment: copying the file changes no default"
    lines = example_lines()
    assert lines["LLM_PROVIDER_KEY"] == ""
    assert lines["JWT_SECRET"] == ""
    assert not re.search(r"sk-ant-[\w-]{6,}", ENV_EXAMPLE.read_text())


def test_env_example_shows_the_real_defaults(tmp_path: Path) -> None:
    """Uncommenting a line with its shown value changes nothing: the values are the defaults."""
    shown = {name: value for name, value in example_lines().items() if value}
    shown = {name: value for name, value in shown.items() if name not in COMPOSE_ONLY}
    env_file = tmp_path / ".env"
    env_file.write_text("".join(f"{name}={value}\n" for name, value in shown.items()))
    from_example = load_settings(environ={}, env_file=env_file, overrides={"LLM_PROVIDER": "demo"})
    defaults = load_settings(
        environ={}, cwd=tmp_path / "nowhere", overrides={"LLM_PROVIDER": "demo"}
    )
    assert from_example.model_dump() == defaults.model_dump()
