"""Fixtures of the deploy checks: the external tools, and Helm rendering.

The tools come from the project's own install steps (`make install-test`: the `test` extra
and scripts/install-deploy-tools.sh). A missing tool skips its tests on a developer's machine,
but fails them in CI (CI=true), so that a broken install cannot pass as green.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
CHART = REPO / "charts" / "portagent"
YAMLLINT_CONFIG = Path(__file__).with_name("yamllint.yaml")
#: The oldest Kubernetes the chart supports (Chart.yaml kubeVersion is >=1.25) is older than
#: what kubernetes-validate ships schemas for; check a common and a recent version.
KUBERNETES_VERSIONS = ("1.30.0", "1.35.0")
TOOL_TIMEOUT = 120


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def find_tool(name: str) -> str:
    """The tool's path: the venv's bin, .cache/tools/bin, then PATH; skip or fail when missing."""
    for folder in (Path(sys.executable).parent, REPO / ".cache" / "tools" / "bin"):
        candidate = folder / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    found = shutil.which(name)
    if found:
        return found
    message = f"{name} is not installed: run `make install-test`"
    if in_ci():
        pytest.fail(message)
    pytest.skip(message)


def run_tool(args: Sequence[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        list(args), capture_output=True, text=True, timeout=TOOL_TIMEOUT, check=False, **kwargs
    )


@pytest.fixture(scope="session")
def helm_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Helm's cache, config and data folders kept out of the user's home."""
    home = tmp_path_factory.mktemp("helm")
    env = dict(os.environ)
    for kind in ("CACHE", "CONFIG", "DATA"):
        env[f"HELM_{kind}_HOME"] = str(home / kind.lower())
    env.pop("KUBECONFIG", None)
    return env


@pytest.fixture(scope="session")
def helm(helm_env: dict[str, str]) -> Callable[..., subprocess.CompletedProcess[str]]:
    path = find_tool("helm")

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return run_tool([path, *args], env=helm_env)

    return run


@pytest.fixture(scope="session")
def render(
    helm: Callable[..., subprocess.CompletedProcess[str]],
) -> Callable[..., tuple[str, list[dict[str, Any]]]]:
    """`helm template` with --set-string/--set pairs; returns (text, manifests)."""

    def run(*set_args: str, values: Path | None = None) -> tuple[str, list[dict[str, Any]]]:
        args = ["template", "pa", str(CHART), "--namespace", "apps"]
        if values is not None:
            args += ["--values", str(values)]
        for item in set_args:
            args += ["--set", item]
        result = helm(*args)
        assert result.returncode == 0, result.stderr
        docs = [doc for doc in yaml.safe_load_all(result.stdout) if doc]
        return result.stdout, docs

    return run
