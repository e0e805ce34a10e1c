"""Packaging hook: a wheel built from a source checkout carries the browser UI.

All metadata is in pyproject.toml. This file only makes ``build_py`` build the UI (``web/``,
``npm ci`` then ``npm run build`` into ``service/web/dist``) when it has not been built yet and
Node.js with npm is available, so that ``pip install .`` on a fresh clone gives a ``portagent``
that serves the UI. Without Node the wheel is built without it, with a warning; the server then
explains at ``/`` how to build it.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
WEB = ROOT / "web"
BUILT_INDEX = ROOT / "service" / "web" / "dist" / "index.html"


def _warn(message: str) -> None:
    print(f"portagent build: {message}", file=sys.stderr)


def build_ui_if_missing() -> None:
    if BUILT_INDEX.exists() or not (WEB / "package.json").exists():
        return
    npm = shutil.which("npm")
    if npm is None:
        _warn("npm not found: the package is built without the web UI (needs Node.js 20+).")
        return
    for step in (["ci", "--no-audit", "--no-fund", "--loglevel=error"], ["run", "build"]):
        if subprocess.run([npm, *step], cwd=WEB, check=False).returncode != 0:
            _warn(f"'npm {' '.join(step)}' failed: the package is built without the web UI.")
            return


class BuildPyWithUI(build_py):
    def run(self) -> None:
        build_ui_if_missing()
        super().run()


setup(cmdclass={"build_py": BuildPyWithUI})
