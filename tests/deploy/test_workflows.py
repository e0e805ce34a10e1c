"""The GitHub Actions workflows and the Dependabot config: linted, schema-checked, and read
for what the pipeline promises (pinned actions, least permissions, both architectures)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from deploytools import REPO, YAMLLINT_CONFIG, find_tool, run_tool

WORKFLOWS = REPO / ".github" / "workflows"
FILES = sorted(WORKFLOWS.glob("*.yml"))
PINNED = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40} # v\d+\.\d+\.\d+$")


def load(name: str) -> dict[str, Any]:
    # PyYAML reads the key `on` as True (YAML 1.1); give it back its name.
    data = yaml.safe_load((WORKFLOWS / name).read_text())
    if True in data:
        data["on"] = data.pop(True)
    return data


def steps(workflow: dict[str, Any]) -> list[dict[str, Any]]:
    return [step for job in workflow["jobs"].values() for step in job.get("steps", [])]


def uses_lines(path: Path) -> list[str]:
    pattern = re.compile(r"^\s*(?:-\s+)?uses:\s+(.*)$")
    return [
        m.group(1).strip() for line in path.read_text().splitlines() if (m := pattern.match(line))
    ]


def test_there_are_ci_and_release_workflows() -> None:
    assert [path.name for path in FILES] == ["ci.yml", "release.yml"]


def test_actionlint_finds_nothing() -> None:
    actionlint = find_tool("actionlint")
    result = run_tool([actionlint, *map(str, FILES)], cwd=REPO)
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_catches_a_bad_workflow(tmp_path: Path) -> None:
    actionlint = find_tool("actionlint")
    bad = tmp_path / "bad.yml"
    bad.write_text(
        "on: push\njobs:\n  x:\n    runs-on: ubuntu-24.04\n"
        "    steps:\n      - run: echo ${{ github.nope }}\n"
    )
    result = run_tool([actionlint, str(bad)])
    assert result.returncode != 0
    assert "nope" in result.stdout


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_workflow_matches_github_schema(path: Path) -> None:
    checker = find_tool("check-jsonschema")
    result = run_tool([checker, "--builtin-schema", "vendor.github-workflows", str(path)])
    assert result.returncode == 0, result.stdout + result.stderr


def test_dependabot_config_matches_schema_and_covers_every_ecosystem() -> None:
    checker = find_tool("check-jsonschema")
    path = REPO / ".github" / "dependabot.yml"
    result = run_tool([checker, "--builtin-schema", "vendor.dependabot", str(path)])
    assert result.returncode == 0, result.stdout + result.stderr
    updates = yaml.safe_load(path.read_text())["updates"]
    covered = {(item["package-ecosystem"], item["directory"]) for item in updates}
    assert covered >= {
        ("github-actions", "/"),
        ("pip", "/"),
        ("npm", "/web"),
        ("npm", "/tests/agui"),
        ("docker", "/"),
    }


def test_yamllint_on_workflows_and_compose() -> None:
    yamllint = find_tool("yamllint")
    files = [*FILES, REPO / ".github" / "dependabot.yml", REPO / "docker-compose.yml"]
    result = run_tool([yamllint, "--strict", "-c", str(YAMLLINT_CONFIG), *map(str, files)])
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_every_action_is_pinned_to_a_commit_with_its_version(path: Path) -> None:
    lines = uses_lines(path)
    assert lines
    unpinned = [line for line in lines if not PINNED.match(line)]
    assert not unpinned, unpinned


def test_one_version_of_each_action() -> None:
    """Dependabot bumps them together; two SHAs of one action would be a half-done bump."""
    seen: dict[str, set[str]] = {}
    for path in FILES:
        for line in uses_lines(path):
            action, _, ref = line.partition("@")
            seen.setdefault(action, set()).add(ref)
    assert {action: refs for action, refs in seen.items() if len(refs) > 1} == {}


def test_ci_runs_the_readme_test_command_on_311_and_312() -> None:
    ci = load("ci.yml")
    assert set(ci["on"]) == {"push", "pull_request"}
    assert ci["permissions"] == {"contents": "read"}
    test = ci["jobs"]["test"]
    assert test["strategy"]["matrix"]["python"] == ["3.11", "3.12"]
    assert "python:${{ matrix.python }}" in test["container"]["image"]
    assert any(step.get("run") == "bash .ci/run" for step in test["steps"])
    assert (REPO / ".ci" / "run").read_text().strip().endswith("make test")


def test_ci_lints_and_builds_and_smoke_tests_the_image() -> None:
    ci = load("ci.yml")
    runs = "\n".join(step.get("run", "") for step in steps(ci))
    for command in (
        "ruff check service tests",
        "npm run build",
        "hadolint",
        "helm lint --strict charts/portagent",
        "kubernetes-validate --strict",
        "actionlint",
        "check-jsonschema --builtin-schema vendor.github-workflows",
        "python tests/deploy/smoke.py http://127.0.0.1:5200 --expect-ui",
        "docker stop --time 10 portagent",
    ):
        assert command in runs, command
    (build,) = [s for s in ci["jobs"]["image"]["steps"] if "build-push-action" in s.get("uses", "")]
    assert build["with"]["platforms"] == "linux/amd64"
    assert build["with"]["load"] is True and build["with"]["push"] is False
    assert "LLM_PROVIDER=demo" in runs
    assert "/home/agentx/.agentx" in runs
    assert (REPO / "tests" / "deploy" / "smoke.py").is_file()


def test_release_on_version_tags_with_least_permissions() -> None:
    release = load("release.yml")
    assert release["on"] == {"push": {"tags": ["v*"]}}
    assert release["permissions"] == {}
    allowed = {"contents": {"read", "write"}, "packages": {"write"}, "id-token": {"write"}}
    writers: dict[str, list[str]] = {}
    for name, job in release["jobs"].items():
        assert "permissions" in job, f"job {name} inherits permissions"
        for scope, level in job["permissions"].items():
            assert level in allowed[scope], (name, scope, level)
            if level == "write":
                writers.setdefault(scope, []).append(name)
    assert writers == {
        "packages": ["image", "chart"],
        "contents": ["github-release"],
        "id-token": ["pypi"],
    }


def test_release_builds_both_architectures_with_sbom_and_provenance() -> None:
    release = load("release.yml")
    image_steps = release["jobs"]["image"]["steps"]
    used = [step.get("uses", "").split("@")[0] for step in image_steps]
    for action in (
        "docker/setup-qemu-action",
        "docker/setup-buildx-action",
        "docker/login-action",
        "docker/metadata-action",
        "docker/build-push-action",
    ):
        assert action in used, action
    (build,) = [s for s in image_steps if "build-push-action" in s.get("uses", "")]
    settings = build["with"]
    assert settings["platforms"] == "linux/amd64,linux/arm64"
    assert settings["push"] is True
    assert settings["sbom"] is True
    assert settings["provenance"] == "mode=max"
    assert settings["cache-from"] == "type=gha"
    assert "VERSION=${{ needs.version.outputs.version }}" in settings["build-args"]
    logins = [s for s in image_steps if "login-action" in s.get("uses", "")]
    assert [s["with"].get("registry", "docker.io") for s in logins] == ["ghcr.io", "docker.io"]
    assert "vars.DOCKERHUB_REPOSITORY" in logins[1]["if"]
    assert "secrets.DOCKERHUB_TOKEN" in logins[1]["with"]["password"]


def test_release_checks_the_tag_and_ships_chart_wheel_and_sdist() -> None:
    release = load("release.yml")
    runs = "\n".join(step.get("run", "") for step in steps(release))
    assert "does not match pyproject.toml version" in runs
    assert 'helm package charts/portagent --version "$VERSION" --app-version "$VERSION"' in runs
    assert 'helm push "dist-chart/portagent-$VERSION.tgz"' in runs
    assert "npm run build" in runs and "python -m build" in runs
    assert "gh release create" in runs
    python_job = release["jobs"]["python"]["steps"]
    build_web = next(i for i, s in enumerate(python_job) if "npm run build" in s.get("run", ""))
    build_py = next(i for i, s in enumerate(python_job) if "python -m build" in s.get("run", ""))
    assert build_web < build_py, "the wheel must be built after the web UI"
    pypi = release["jobs"]["pypi"]
    assert pypi["if"] == "vars.PYPI_PUBLISH == 'true'"
    assert any("gh-action-pypi-publish" in s.get("uses", "") for s in pypi["steps"])
    assert not any("password" in s.get("with", {}) for s in pypi["steps"]), "trusted publishing"


def test_release_rewrites_exactly_the_image_repository_of_the_chart() -> None:
    """The chart job's sed replaces lines `  repository: ...` of values.yaml: only one exists."""
    release = (WORKFLOWS / "release.yml").read_text()
    assert "s|^  repository: .*|  repository: ghcr.io/${GITHUB_REPOSITORY_OWNER,,}/portagent|" in (
        release
    )
    values = (REPO / "charts" / "portagent" / "values.yaml").read_text().splitlines()
    assert len([line for line in values if line.startswith("  repository: ")]) == 1
    image = yaml.safe_load("\n".join(values))["image"]
    assert image["repository"].endswith("/portagent")
