"""Schemathesis against the server's own OpenAPI description: generated requests for every
documented operation, a bounded number per operation, and not one server error.

It runs as the ``schemathesis`` command (its pytest plugin does not work with pytest 9 here).
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from harness import Deployment

pytestmark = pytest.mark.timeout(600)

SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")
EXAMPLES_PER_OPERATION = 30


def schemathesis(deployment: Deployment, *options: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            str(SCHEMATHESIS),
            "run",
            deployment.server.base + "/docs/openapi.json",
            "--checks",
            "not_a_server_error",
            "--max-examples",
            str(EXAMPLES_PER_OPERATION),
            "--seed",
            "7",
            "--request-timeout",
            "15",
            "--no-color",
            "--generation-database",
            "none",
            *options,
        ],
        cwd=deployment.server.data_dir.parent,
        capture_output=True,
        text=True,
        timeout=540,
        check=False,
        env={"PATH": "/usr/bin:/bin", "HOME": str(deployment.server.data_dir.parent)},
    )


@pytest.mark.parametrize(
    "scope",
    [
        # As the admin, everything but logout (which would end the admin's token).
        ("--exclude-path", "/api/auth/logout", "--header", "Authorization: Bearer {admin}"),
        # Logout, with whatever token the generator makes up.
        ("--include-path", "/api/auth/logout"),
        # As an ordinary member: every admin route must refuse, never fail.
        ("--include-path-regex", "^/api/(admin|usage)", "--header", "Authorization: Bearer {user}"),
    ],
    ids=["as-admin", "logout", "as-member"],
)
def test_generated_requests_get_no_server_error(
    deployment: Deployment, scope: tuple[str, ...]
) -> None:
    tokens = {"admin": deployment.admin["token"], "user": deployment.user["token"]}
    result = schemathesis(deployment, *(option.format(**tokens) for option in scope))
    report = result.stdout + result.stderr
    assert result.returncode == 0, report[-4000:]
    assert re.search(r"\b[1-9]\d* passed\b", report), report[-2000:]
    print(report[-1200:])
