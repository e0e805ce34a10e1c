"""Fixtures of the deploy checks: Helm with private folders, and chart rendering."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from deploytools import CHART, find_tool, run_tool


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
