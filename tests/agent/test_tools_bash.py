"""The persistent bash tool, in both sandbox modes."""

from __future__ import annotations

import asyncio
import os
import secrets
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import pytest

from service.agent.tools import BashSession, ToolOutput

pytestmark = pytest.mark.timeout(30)

T = TypeVar("T")


def with_session(
    workspace: Path, sandbox: str, scenario: Callable[[BashSession], Awaitable[T]], **options
) -> T:
    """Run `scenario` with a fresh session on a fresh event loop, closing it afterwards."""

    async def main() -> T:
        session = BashSession(workspace, sandbox=sandbox, **options)
        try:
            return await scenario(session)
        finally:
            await session.close()

    return asyncio.run(main())


def sleep_marker() -> str:
    """A `sleep` argument no other process has, to find our sleepers among the host's."""
    return f"1000.{secrets.randbelow(10**6):06d}"


def pids_running(argument: str) -> list[int]:
    """Host PIDs of live (non-zombie) `sleep <argument>` processes."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
            state = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        if cmdline == b"sleep\0" + argument.encode() + b"\0" and state != "Z":
            found.append(int(entry))
    return found


async def wait_for_sleepers(argument: str, count: int) -> list[int]:
    """PIDs of our sleepers once `count` of them run (a background job execs a moment later)."""
    for _ in range(100):
        pids = pids_running(argument)
        if len(pids) >= count:
            return pids
        await asyncio.sleep(0.02)
    return pids_running(argument)


def test_cd_and_variables_persist(workspace: Path, sandbox: str) -> None:
    (workspace / "sub").mkdir()

    async def scenario(session: BashSession) -> list[ToolOutput]:
        return [
            await session.run("cd sub && GREETING=hello"),
            await session.run('echo "$GREETING from $(pwd)"'),
        ]

    first, second = with_session(workspace, sandbox, scenario)
    root = "/workspace" if sandbox == "bwrap" else str(workspace.resolve())
    assert first == ToolOutput("(no output)")
    assert second == ToolOutput(f"hello from {root}/sub")


def test_starts_in_workspace_which_is_home(workspace: Path, sandbox: str) -> None:
    async def scenario(session: BashSession) -> tuple[str, ToolOutput]:
        return session.workspace_path_for_model, await session.run('pwd; echo "$HOME"')

    root, output = with_session(workspace, sandbox, scenario)
    assert root == ("/workspace" if sandbox == "bwrap" else str(workspace.resolve()))
    assert output.content == f"{root}\n{root}"


def test_nonzero_exit_status_is_noted(workspace: Path, sandbox: str) -> None:
    async def scenario(session: BashSession) -> list[ToolOutput]:
        return [
            await session.run("echo oops >&2; exit_with() { return $1; }; exit_with 3"),
            await session.run("true"),
        ]

    failed, ok = with_session(workspace, sandbox, scenario)
    assert failed == ToolOutput("oops\n[exit status 3]")
    assert ok == ToolOutput("(no output)")


def test_long_output_is_cut_with_a_note(workspace: Path, sandbox: str) -> None:
    async def scenario(session: BashSession) -> ToolOutput:
        return await session.run("seq 1 100000")

    output = with_session(workspace, sandbox, scenario, max_output=1000)
    full = "\n".join(str(n) for n in range(1, 100001)) + "\n"
    assert output.content.startswith(full[:1000])
    assert output.content.endswith(
        f"\n[output truncated: {len(full)} characters, showing the first 1000]"
    )
    assert not output.is_error


def test_commands_reading_stdin_do_not_hang(workspace: Path, sandbox: str) -> None:
    async def scenario(session: BashSession) -> list[ToolOutput]:
        return [await session.run("cat"), await session.run("read -r line || echo 'no input'")]

    started = time.monotonic()
    cat, read = with_session(workspace, sandbox, scenario, timeout=10)
    assert time.monotonic() - started < 5
    assert cat == ToolOutput("(no output)")
    assert read == ToolOutput("no input")


def test_syntax_error_does_not_break_the_shell(workspace: Path, sandbox: str) -> None:
    async def scenario(session: BashSession) -> list[ToolOutput]:
        await session.run("X=kept")
        return [await session.run("echo 'unbalanced"), await session.run('echo "$X"')]

    broken, after = with_session(workspace, sandbox, scenario, timeout=10)
    assert "unexpected EOF" in broken.content and "[exit status 2]" in broken.content
    assert after == ToolOutput("kept")


def test_output_without_final_newline_and_unicode(workspace: Path, sandbox: str) -> None:
    async def scenario(session: BashSession) -> ToolOutput:
        return await session.run("printf 'héllo → wörld'")

    assert with_session(workspace, sandbox, scenario) == ToolOutput("héllo → wörld")


def test_timeout_kills_shell_and_children_then_starts_fresh(workspace: Path, sandbox: str) -> None:
    marker = sleep_marker()

    async def scenario(session: BashSession) -> tuple[list[int], ToolOutput, list[int], ToolOutput]:
        await session.run(f"STATE=old; cd /; sleep {marker} & (sleep {marker} &)")
        before = await wait_for_sleepers(marker, 2)
        timed_out = await session.run("sleep 30")
        after = pids_running(marker)
        fresh = await session.run('echo "state=$STATE"; pwd')
        return before, timed_out, after, fresh

    started = time.monotonic()
    before, timed_out, after, fresh = with_session(workspace, sandbox, scenario, timeout=1)
    assert time.monotonic() - started < 10
    assert len(before) == 2
    assert after == []
    assert timed_out.is_error
    assert "timed out after 1 s" in timed_out.content
    assert "restarted" in timed_out.content
    root = "/workspace" if sandbox == "bwrap" else str(workspace.resolve())
    assert fresh == ToolOutput(f"state=\n{root}")


def test_timeout_keeps_partial_output(workspace: Path, sandbox: str) -> None:
    async def scenario(session: BashSession) -> ToolOutput:
        return await session.run("echo partial; sleep 30")

    output = with_session(workspace, sandbox, scenario, timeout=1)
    assert output.is_error
    assert output.content.startswith("partial\n[command timed out after 1 s")


def test_cancellation_kills_everything_promptly(workspace: Path, sandbox: str) -> None:
    marker = sleep_marker()

    async def scenario(session: BashSession) -> tuple[float, list[int], list[int], ToolOutput]:
        await session.run("VALUE=old")
        task = asyncio.create_task(session.run(f"sleep {marker} & sleep {marker}"))
        before = await wait_for_sleepers(marker, 2)
        cancelled_at = time.monotonic()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        elapsed = time.monotonic() - cancelled_at
        after = pids_running(marker)
        return elapsed, before, after, await session.run('echo "value=$VALUE"')

    elapsed, before, after, next_output = with_session(workspace, sandbox, scenario, timeout=30)
    assert len(before) == 2
    assert elapsed < 1.0
    assert after == []
    assert next_output == ToolOutput("value=")


def test_restart_gives_a_fresh_shell(workspace: Path, sandbox: str) -> None:
    async def scenario(session: BashSession) -> list[ToolOutput]:
        await session.run("VALUE=old; cd /")
        restarted = await session.restart()
        return [restarted, await session.run('echo "value=$VALUE"; pwd')]

    restarted, after = with_session(workspace, sandbox, scenario)
    root = "/workspace" if sandbox == "bwrap" else str(workspace.resolve())
    assert restarted == ToolOutput("shell restarted")
    assert after == ToolOutput(f"value=\n{root}")


def test_exit_is_reported_and_the_next_command_gets_a_new_shell(
    workspace: Path, sandbox: str
) -> None:
    async def scenario(session: BashSession) -> list[ToolOutput]:
        return [await session.run("echo bye; exit 4"), await session.run("echo back")]

    exited, back = with_session(workspace, sandbox, scenario)
    assert exited.is_error
    assert exited.content.startswith("bye\n[the shell exited (status 4)")
    assert back == ToolOutput("back")


def test_environment_is_built_from_scratch(
    workspace: Path, sandbox: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PORTAGENT_FAKE_SECRET", "s3cr3t-value")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-fake")

    async def scenario(session: BashSession) -> ToolOutput:
        return await session.run("env")

    output = with_session(workspace, sandbox, scenario)
    variables = dict(line.split("=", 1) for line in output.content.splitlines())
    assert "s3cr3t-value" not in output.content
    assert "sk-ant-fake" not in output.content
    assert set(variables) <= {"PATH", "HOME", "LANG", "TERM", "PWD", "SHLVL", "_"}
    assert variables["LANG"] == "C.UTF-8"
    assert variables["HOME"] == ("/workspace" if sandbox == "bwrap" else str(workspace.resolve()))


def test_close_is_idempotent_and_final(workspace: Path, sandbox: str) -> None:
    marker = sleep_marker()

    async def main() -> tuple[list[int], list[int], ToolOutput]:
        session = BashSession(workspace, sandbox=sandbox)
        await session.run(f"sleep {marker} &")
        before = await wait_for_sleepers(marker, 1)
        await session.close()
        await session.close()
        return before, pids_running(marker), await session.run("echo hi")

    before, left, after_close = asyncio.run(main())
    assert len(before) == 1
    assert left == []
    assert after_close.is_error


def test_nul_in_command_is_refused(workspace: Path) -> None:
    async def scenario(session: BashSession) -> ToolOutput:
        return await session.run("echo a\0b")

    assert with_session(workspace, "none", scenario).is_error


def test_unknown_sandbox_mode_is_refused(workspace: Path) -> None:
    with pytest.raises(ValueError, match="sandbox"):
        BashSession(workspace, sandbox="auto")
