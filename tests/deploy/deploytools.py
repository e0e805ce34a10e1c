"""Helpers of the deploy checks: where the repository and chart are, and the external tools.

The tools come from the project's own install steps (`make install-test`: the `test` extra
and scripts/install-deploy-tools.sh). A missing tool skips its tests on a developer's machine,
but fails them in CI (CI=true), so that a broken install cannot pass as green.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
CHART = REPO / "charts" / "portagent"
YAMLLINT_CONFIG = Path(__file__).with_name("yamllint.yaml")
#: Kubernetes versions whose schemas each render must pass: an older one still common in
#: clusters, and a recent one (the chart declares kubeVersion >=1.25).
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
