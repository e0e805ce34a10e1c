"""A wheel built from a fresh source checkout carries the browser UI (setup.py's build hook)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
LEFT_BEHIND = shutil.ignore_patterns(
    "node_modules", "dist", ".venv", "__pycache__", "*.egg-info", "build", ".git", "test-output"
)


def fresh_checkout(into: Path) -> Path:
    """What a clone holds: sources only, no built UI, no installed packages."""
    checkout = into / "portagent"
    checkout.mkdir()
    for name in ("pyproject.toml", "setup.py", "README.md", "LICENSE"):
        shutil.copy2(REPO / name, checkout / name)
    shutil.copytree(REPO / "service", checkout / "service", ignore=LEFT_BEHIND)
    shutil.copytree(REPO / "web", checkout / "web", ignore=LEFT_BEHIND)
    return checkout


@pytest.mark.timeout(600)
def test_a_wheel_from_a_fresh_checkout_serves_the_ui(tmp_path: Path) -> None:
    if shutil.which("npm") is None:
        if os.environ.get("PORTAGENT_REQUIRE_BROWSER") == "1":
            pytest.fail("npm is needed to build the UI into the wheel")
        pytest.skip("npm is not installed")
    checkout = fresh_checkout(tmp_path)
    assert not (checkout / "service" / "web" / "dist").exists()

    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q"]
        + ["-w", str(tmp_path / "out"), str(checkout)],
        capture_output=True,
        text=True,
        timeout=540,
    )

    assert built.returncode == 0, built.stderr[-3000:]
    (wheel,) = (tmp_path / "out").glob("portagent-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "service/web/dist/index.html" in names
    assert any(n.startswith("service/web/dist/assets/") and n.endswith(".js") for n in names)
