"""The Dockerfile, read and linted: no Docker engine runs here, so its promises are checked on
its text (the real build and a smoke run of the image happen in .github/workflows/ci.yml)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from deploytools import REPO, find_tool, run_tool

DOCKERFILE = REPO / "Dockerfile"
DATA_DIR = "/home/agentx/.agentx"


@dataclass
class Instruction:
    keyword: str
    args: str


def parse(text: str) -> list[list[Instruction]]:
    """Instructions grouped by stage, with continuation lines joined and comments dropped."""
    logical: list[str] = []
    current = ""
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("#") or (not line and not current):
            continue
        if line.endswith("\\"):
            current += line[:-1] + " "
            continue
        logical.append(current + line)
        current = ""
    stages: list[list[Instruction]] = []
    for line in logical:
        keyword, _, args = line.partition(" ")
        instruction = Instruction(keyword.upper(), args.strip())
        if instruction.keyword == "FROM":
            stages.append([])
        if stages:
            stages[-1].append(instruction)
    return stages


@pytest.fixture(scope="module")
def stages() -> list[list[Instruction]]:
    return parse(DOCKERFILE.read_text())


@pytest.fixture(scope="module")
def runtime(stages: list[list[Instruction]]) -> list[Instruction]:
    return stages[-1]


def only(stage: list[Instruction], keyword: str) -> list[str]:
    return [item.args for item in stage if item.keyword == keyword]


def exec_form(args: str) -> list[str]:
    """The JSON array of an exec-form instruction; fails the test for the shell form."""
    assert args.startswith("["), f"not exec form: {args}"
    value = json.loads(args)
    assert isinstance(value, list) and all(isinstance(item, str) for item in value)
    return value


def test_hadolint_finds_nothing() -> None:
    hadolint = find_tool("hadolint")
    result = run_tool([hadolint, "--failure-threshold", "style", str(DOCKERFILE)])
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_catches_a_bad_dockerfile(tmp_path: Path) -> None:
    """The linter really runs: root user, unpinned image and apt without cleanup fail."""
    hadolint = find_tool("hadolint")
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nRUN apt-get update && apt-get install -y curl\n")
    result = run_tool([hadolint, "--failure-threshold", "warning", str(bad)])
    assert result.returncode != 0
    assert "DL3007" in result.stdout  # latest tag


def test_three_stages_on_pinned_base_images(stages: list[list[Instruction]]) -> None:
    froms = [stage[0].args for stage in stages]
    names = [re.search(r"\bAS (\w+)$", line, re.IGNORECASE).group(1) for line in froms]
    assert names == ["web", "wheel", "runtime"]
    for line in froms:
        image = line.split()[0]
        assert re.fullmatch(r"[\w./-]+:\d+\.\d+\.\d+-[\w.-]+", image), f"not pinned: {image}"
    assert froms[0].startswith("node:")
    assert froms[1].split()[0] == froms[2].split()[0], "both Python stages on one tag"


def test_web_stage_builds_the_ui_with_npm_ci(stages: list[list[Instruction]]) -> None:
    runs = " ".join(only(stages[0], "RUN"))
    assert "npm ci" in runs and "npm run build" in runs
    wheel_copies = only(stages[1], "COPY")
    assert any("--from=web" in copy and "service/web/dist" in copy for copy in wheel_copies)


def test_runtime_installs_only_the_wheel_and_bubblewrap(runtime: list[Instruction]) -> None:
    runs = " ".join(only(runtime, "RUN"))
    assert "bubblewrap" in runs
    assert re.search(r"pip install [^&]*/tmp/dist/portagent-\*\.whl", runs)
    for forbidden in ("gcc", "build-essential", "nodejs", "npm ", "[test]", "-e ."):
        assert forbidden not in runs, forbidden
    assert not only(runtime, "COPY"), "the runtime stage copies nothing but through the wheel"
    assert not only(runtime, "ADD")


def test_runs_as_numeric_non_root_user_1001(runtime: list[Instruction]) -> None:
    users = only(runtime, "USER")
    assert users == ["1001:1001"]
    runs = " ".join(only(runtime, "RUN"))
    assert "groupadd --gid 1001 agentx" in runs
    assert "useradd --uid 1001 --gid 1001 --home-dir /home/agentx" in runs
    # Nothing after USER runs as root again.
    after_user = runtime[[item.keyword for item in runtime].index("USER") :]
    assert not [item for item in after_user if item.keyword == "RUN"]


def env_of(runtime: list[Instruction]) -> dict[str, str]:
    env: dict[str, str] = {}
    for args in only(runtime, "ENV"):
        for name, value in re.findall(r"(\w+)=(\S+)", args):
            env[name] = value
    return env


def test_environment_and_data_volume(runtime: list[Instruction]) -> None:
    env = env_of(runtime)
    assert env["DATA_DIR"] == DATA_DIR
    assert env["HOST"] == "0.0.0.0"
    assert env["PORT"] == "5200"
    assert env["NODE_ENV"] == "production"
    assert env["HOME"] == "/home/agentx"
    assert [exec_form(v) for v in only(runtime, "VOLUME")] == [[DATA_DIR]]
    assert only(runtime, "EXPOSE") == ["5200"]
    assert only(runtime, "WORKDIR") == ["/home/agentx"]


def test_cmd_is_portagent_in_exec_form_under_an_init(runtime: list[Instruction]) -> None:
    assert [exec_form(v) for v in only(runtime, "CMD")] == [["portagent"]]
    (entrypoint,) = only(runtime, "ENTRYPOINT")
    assert exec_form(entrypoint) == ["/usr/bin/tini", "--"]
    assert "tini" in " ".join(only(runtime, "RUN"))


def healthcheck_command(runtime: list[Instruction]) -> list[str]:
    (check,) = only(runtime, "HEALTHCHECK")
    options, _, command = check.partition(" CMD ")
    assert "--interval=" in options and "--timeout=" in options
    return exec_form(command.strip())


def test_healthcheck_needs_no_extra_package(runtime: list[Instruction]) -> None:
    command = healthcheck_command(runtime)
    assert command[0] == "python"
    assert "/health" in command[-1]


def test_no_secret_is_baked_in(stages: list[list[Instruction]]) -> None:
    text = DOCKERFILE.read_text()
    assert not re.search(r"sk-ant-[\w-]{8,}", text)
    for stage in stages:
        for item in stage:
            if item.keyword in ("ENV", "ARG"):
                names = re.findall(r"(\w+)=", item.args) or [item.args.split()[0]]
                for name in names:
                    assert not re.search(r"KEY|SECRET|TOKEN|PASSWORD", name), name
            if item.keyword in ("COPY", "ADD"):
                assert ".env" not in item.args.split(), item.args


def test_labels_carry_the_version_from_a_build_arg(runtime: list[Instruction]) -> None:
    labels = " ".join(only(runtime, "LABEL"))
    assert 'org.opencontainers.image.version="${VERSION}"' in labels
    assert any(arg.startswith("VERSION") for arg in only(runtime, "ARG"))


def test_copied_sources_exist(stages: list[list[Instruction]]) -> None:
    for stage in stages:
        for args in only(stage, "COPY"):
            if args.startswith("--from"):
                continue
            for source in args.split()[:-1]:
                assert (REPO / source).exists(), source


# --- .dockerignore ---------------------------------------------------------------------


def dockerignore_excludes(patterns: list[str], path: str) -> bool:
    """Docker's rule: the last pattern that matches the path, or a parent of it, decides."""
    excluded = False
    parts = path.split("/")
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    for raw in patterns:
        negate = raw.startswith("!")
        pattern = raw[1:] if negate else raw
        regex = re.escape(pattern.rstrip("/"))
        regex = regex.replace(r"\*\*/", "(?:.*/)?").replace(r"\*\*", ".*").replace(r"\*", "[^/]*")
        regex = regex.replace(r"\?", "[^/]")
        if any(re.fullmatch(regex, prefix) for prefix in prefixes):
            excluded = not negate
    return excluded


@pytest.fixture(scope="module")
def ignore_patterns() -> list[str]:
    lines = (REPO / ".dockerignore").read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


@pytest.mark.parametrize(
    "path",
    [
        ".git/HEAD",
        ".venv/bin/python",
        ".env",
        "data/data/portagent.db",
        ".cache/tools/bin/helm",
        "web/node_modules/vite/package.json",
        "service/web/dist/index.html",
        "service/__pycache__/app.cpython-312.pyc",
        "tests/conftest.py",
        "charts/portagent/Chart.yaml",
        "portagent.egg-info/PKG-INFO",
        "web/.env.local",
    ],
)
def test_dockerignore_keeps_out(ignore_patterns: list[str], path: str) -> None:
    assert dockerignore_excludes(ignore_patterns, path)


@pytest.mark.parametrize(
    "path",
    [
        "pyproject.toml",
        "README.md",
        "LICENSE",
        "service/app.py",
        "service/web/routes.py",
        "web/package.json",
        "web/package-lock.json",
        "web/src/main.tsx",
    ],
)
def test_dockerignore_lets_in_what_the_build_copies(ignore_patterns: list[str], path: str) -> None:
    assert not dockerignore_excludes(ignore_patterns, path)
