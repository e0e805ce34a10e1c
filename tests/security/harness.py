"""What the security tests share (a module of its own: ``conftest`` is not importable by name
when several test folders have one)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from support.server import ServerProcess


@dataclass(frozen=True)
class Deployment:
    """A running server with its first user (the admin) and an ordinary member."""

    server: ServerProcess
    admin: dict[str, Any]
    user: dict[str, Any]
