"""Check AG-UI event streams with the official TypeScript client.

Portagent's events are built with the ``ag-ui-protocol`` Python models, but the
browser reads them with ``@ag-ui/client``. This module hands recorded runs to
``verify.mjs``, which pushes each one through the client's own inbound
pipeline (``enforceEvents`` schema check, ``transformChunks``, and the
``verifyEvents`` sequencing rules), so a test fails exactly where a real client
would reject the stream.

Usage from a test::

    from agui.verify import assert_valid_agui

    assert_valid_agui([events_of_run_1, events_of_run_2])

``node_modules`` is installed with ``npm ci`` on first use (under a file lock,
so parallel test processes do not race). Node 20+ and npm must be on PATH.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import ag_ui.core
import pydantic

AGUI_DIR = Path(__file__).resolve().parent
VERIFY_SCRIPT = AGUI_DIR / "verify.mjs"
VERIFY_TIMEOUT_S = 60.0
NPM_CI_TIMEOUT_S = 300.0

_EVENT_ADAPTER: pydantic.TypeAdapter[Any] = pydantic.TypeAdapter(ag_ui.core.Event)
_install_lock = threading.Lock()
_TERMINAL_EVENTS = frozenset({"RUN_FINISHED", "RUN_ERROR"})

EventLike = Mapping[str, Any] | pydantic.BaseModel


def _to_wire(event: EventLike) -> dict[str, Any]:
    """An event as Portagent puts it on the wire (camelCase JSON object)."""
    if isinstance(event, pydantic.BaseModel):
        return event.model_dump(mode="json", by_alias=True, exclude_none=True)
    return dict(event)


def _require_tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise RuntimeError(
            f"`{name}` is not on PATH: the AG-UI verifier needs Node 20+ and npm "
            f"(then run `cd {AGUI_DIR} && npm ci`)."
        )
    return path


def _is_installed() -> bool:
    modules = AGUI_DIR / "node_modules"
    return (modules / ".package-lock.json").is_file() and (
        modules / "@ag-ui" / "client" / "package.json"
    ).is_file()


def ensure_node_modules() -> None:
    """Install the verifier's npm dependencies from the lock file if missing."""
    if _is_installed():
        return
    npm = _require_tool("npm")
    digest = hashlib.sha256(str(AGUI_DIR).encode()).hexdigest()[:16]
    lock_path = Path(tempfile.gettempdir()) / f"portagent-agui-npm-{digest}.lock"
    # The thread lock covers threads of this process, flock other processes
    # (pytest-xdist workers, parallel test runs).
    with _install_lock, lock_path.open("w") as lock_file:
        fcntl.flock(lock_file, fcntl.LOCK_EX)
        try:
            if _is_installed():
                return
            proc = subprocess.run(
                [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
                cwd=AGUI_DIR,
                capture_output=True,
                text=True,
                timeout=NPM_CI_TIMEOUT_S,
                check=False,
            )
            if proc.returncode != 0:
                raise RuntimeError(
                    f"`npm ci` in {AGUI_DIR} failed ({proc.returncode}):\n{proc.stderr}"
                )
        finally:
            fcntl.flock(lock_file, fcntl.LOCK_UN)


def verify_runs(
    runs: Sequence[Iterable[EventLike]], *, verify_only: bool = False
) -> list[dict[str, Any]]:
    """Check each run (a list of AG-UI events) with ``@ag-ui/client``.

    Events may be dicts in wire form (camelCase) or ``ag_ui.core`` models.
    Returns one result per run, in order: ``{"ok": True}`` or
    ``{"ok": False, "stage": "enforceEvents" | "verifyEvents", "error": str}``,
    plus ``"warnings"`` (list of str) when the client reported tolerated
    deviations such as stripped unknown fields or dropped unknown events.
    ``verify_only`` skips the schema stage and runs ``verifyEvents`` alone.
    """
    payload = [[_to_wire(event) for event in run] for run in runs]
    if not payload:
        return []
    node = _require_tool("node")
    ensure_node_modules()
    command = [node, str(VERIFY_SCRIPT)]
    if verify_only:
        command.append("--verify-only")
    proc = subprocess.run(
        command,
        cwd=AGUI_DIR,
        input=json.dumps(payload),
        capture_output=True,
        text=True,
        timeout=VERIFY_TIMEOUT_S,
        check=False,
    )
    if proc.returncode not in (0, 1):
        raise RuntimeError(f"verify.mjs failed ({proc.returncode}):\n{proc.stderr or proc.stdout}")
    results: list[dict[str, Any]] = json.loads(proc.stdout)
    if len(results) != len(payload):
        raise RuntimeError(f"verify.mjs answered {len(results)} results for {len(payload)} runs")
    return results


def validate_event_models(events: Iterable[EventLike]) -> list[Any]:
    """Validate each wire event with ``TypeAdapter(ag_ui.core.Event)``.

    Returns the parsed models; raises AssertionError naming the first event
    the Python models reject.
    """
    parsed: list[Any] = []
    for index, event in enumerate(events):
        wire = _to_wire(event)
        try:
            parsed.append(_EVENT_ADAPTER.validate_python(wire))
        except pydantic.ValidationError as exc:
            raise AssertionError(
                f"event #{index} is not a valid AG-UI event: {exc}\n{json.dumps(wire, indent=2)}"
            ) from exc
    return parsed


def _describe_run(run: Sequence[dict[str, Any]], limit: int = 60) -> str:
    lines = [f"  #{i} {json.dumps(event)}" for i, event in enumerate(run[:limit])]
    if len(run) > limit:
        lines.append(f"  ... {len(run) - limit} more events")
    return "\n".join(lines)


def assert_valid_agui(
    runs: Sequence[Iterable[EventLike]],
    *,
    allow_warnings: bool = False,
    check_models: bool = True,
    require_terminal: bool = True,
) -> None:
    """Assert that a real AG-UI client accepts every run.

    Fails when ``@ag-ui/client`` rejects a run and, unless ``allow_warnings``,
    when it had to strip or drop part of one (the user would not see it).
    With ``check_models`` each event is also validated with the Python models.
    With ``require_terminal`` each run must end with RUN_FINISHED or RUN_ERROR:
    ``verifyEvents`` accepts a stream that simply stops (even an empty one),
    but a Portagent run must always be closed.
    """
    wire_runs = [[_to_wire(event) for event in run] for run in runs]
    if check_models:
        for index, run in enumerate(wire_runs):
            try:
                validate_event_models(run)
            except AssertionError as exc:
                raise AssertionError(f"run #{index}: {exc}") from exc
    failures: list[str] = []
    for index, (run, result) in enumerate(zip(wire_runs, verify_runs(wire_runs), strict=True)):
        last = run[-1].get("type") if run else None
        if not result["ok"]:
            failures.append(
                f"run #{index} rejected by @ag-ui/client {result.get('stage')}: "
                f"{result.get('error')}\n{_describe_run(run)}"
            )
        elif result.get("warnings") and not allow_warnings:
            warnings = "\n".join(f"  ! {w}" for w in result["warnings"])
            failures.append(
                f"run #{index} accepted by @ag-ui/client only after it stripped or "
                f"dropped material:\n{warnings}\n{_describe_run(run)}"
            )
        elif require_terminal and last not in _TERMINAL_EVENTS:
            failures.append(
                f"run #{index} does not end with RUN_FINISHED or RUN_ERROR "
                f"(last event: {last}):\n{_describe_run(run)}"
            )
    if failures:
        raise AssertionError("\n\n".join(failures))


if __name__ == "__main__":
    # `python tests/agui/verify.py < runs.json`: same input as verify.mjs.
    data = json.load(sys.stdin)
    if data and all(isinstance(item, dict) for item in data):
        data = [data]
    outcome = verify_runs(data)
    print(json.dumps(outcome, indent=2))
    sys.exit(0 if all(r["ok"] for r in outcome) else 1)
