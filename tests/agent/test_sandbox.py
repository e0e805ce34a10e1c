"""Choosing the sandbox, what the bwrap sandbox hides, and the toolbox that puts it together."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from service.agent.tools import (
    BashSession,
    SandboxUnavailable,
    Toolbox,
    ToolOutput,
    detect_sandbox,
)
from service.agent.tools import sandbox as sandbox_module

pytestmark = pytest.mark.timeout(30)

#: Everything the root of the sandbox may hold.
SANDBOX_TOP_LEVEL = frozenset(
    ("bin", "dev", "etc", "lib", "lib32", "lib64", "libx32", "proc", "sbin", "tmp", "usr")
) | {"workspace"}


def run_in_sandbox(workspace: Path, *commands: str, network: bool = True) -> list[ToolOutput]:
    async def main() -> list[ToolOutput]:
        session = BashSession(workspace, sandbox="bwrap", network=network, timeout=10)
        try:
            return [await session.run(command) for command in commands]
        finally:
            await session.close()

    return asyncio.run(main())


# detect_sandbox


@pytest.fixture
def fresh_probe() -> Iterator[None]:
    """Forget the cached probe before and after a test that fakes bwrap."""
    sandbox_module._probe_bwrap.cache_clear()
    yield
    sandbox_module._probe_bwrap.cache_clear()


def test_detect_none_and_unknown_modes() -> None:
    assert detect_sandbox("none") == "none"
    with pytest.raises(ValueError, match="unknown sandbox mode"):
        detect_sandbox("docker")


def test_detect_without_bwrap_installed(monkeypatch: pytest.MonkeyPatch, fresh_probe: None) -> None:
    monkeypatch.setattr(sandbox_module, "bwrap_executable", lambda: None)
    assert detect_sandbox("auto") == "none"
    with pytest.raises(SandboxUnavailable, match="not installed"):
        detect_sandbox("bwrap")


def test_detect_with_bwrap_refused_by_the_kernel(
    monkeypatch: pytest.MonkeyPatch, fresh_probe: None, tmp_path: Path
) -> None:
    fake = tmp_path / "bwrap"
    fake.write_text(
        "#!/bin/sh\n"
        "echo 'bwrap: No permissions to creating new namespace, likely because the kernel "
        "does not allow non-privileged user namespaces.' >&2\n"
        "echo 'second line' >&2\n"
        "exit 1\n"
    )
    fake.chmod(0o755)
    monkeypatch.setattr(sandbox_module, "bwrap_executable", lambda: str(fake))
    assert detect_sandbox("auto") == "none"
    with pytest.raises(SandboxUnavailable) as refused:
        detect_sandbox("bwrap")
    message = str(refused.value)
    assert "cannot create a sandbox here: bwrap: No permissions to creating new namespace" in (
        message
    )
    assert "second line" not in message


def test_bwrap_works_on_this_machine(requires_bwrap: None) -> None:
    assert detect_sandbox("bwrap") == "bwrap"


# inside the bwrap sandbox


def test_capabilities_are_dropped(requires_bwrap: None, workspace: Path) -> None:
    (output,) = run_in_sandbox(workspace, "grep -E '^Cap(Inh|Prm|Eff|Amb)' /proc/self/status")
    values = [line.split()[1] for line in output.content.splitlines()]
    assert len(values) == 4
    assert set(values) == {"0000000000000000"}


def test_only_the_workspace_is_visible(
    requires_bwrap: None, workspace: Path, tmp_path: Path
) -> None:
    (tmp_path / "other-workspace").mkdir()
    (tmp_path / "other-workspace" / "secret.txt").write_text("neighbour's secret\n")
    (workspace / "mine.txt").write_text("mine\n")
    outputs = run_in_sandbox(
        workspace,
        "ls /",
        f"cat {tmp_path}/other-workspace/secret.txt",
        f"ls {tmp_path}",
        "ls /workspace; cat /workspace/mine.txt",
        f"ls {Path.cwd()} /work /root /var /home /run /sys 2>&1 | grep -c 'No such file'",
        "touch /usr/x /etc/x 2>&1 | grep -c 'Read-only file system'",
    )
    top, neighbour, tests_tmp, own, hidden, read_only = (o.content for o in outputs)
    assert set(top.split()) <= SANDBOX_TOP_LEVEL
    assert "No such file" in neighbour and "neighbour's secret" not in neighbour
    assert "No such file" in tests_tmp
    assert own == "mine.txt\nmine"
    assert hidden == "7"
    assert read_only == "2"


def test_sandbox_tmp_is_private(requires_bwrap: None, workspace: Path) -> None:
    name = f"portagent-test-{os.getpid()}-{id(workspace)}"
    (output,) = run_in_sandbox(workspace, f"echo x > /tmp/{name} && ls /tmp")
    assert output.content == name
    assert not Path("/tmp", name).exists()


def test_no_host_process_is_visible(requires_bwrap: None, workspace: Path) -> None:
    (pids, cmdlines) = run_in_sandbox(
        workspace,
        "ls /proc | grep -E '^[0-9]+$' | sort -n | tr '\\n' ' '",
        "cat /proc/[0-9]*/cmdline | tr '\\0' ' '",
    )
    visible = [int(pid) for pid in pids.content.split()]
    assert len(visible) < 10
    assert "pytest" not in cmdlines.content
    assert "python" not in cmdlines.content
    # bwrap's options (with the workspace's host path) came through a pipe, not its argv.
    assert str(workspace) not in cmdlines.content


def test_pid1_environment_holds_no_server_secret(
    requires_bwrap: None, workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PORTAGENT_FAKE_SECRET", "s3cr3t-value")
    (environ, env) = run_in_sandbox(workspace, "tr '\\0' '\\n' < /proc/1/environ", "env")
    assert "s3cr3t-value" not in environ.content
    assert "s3cr3t-value" not in env.content


@pytest.fixture
def listening_port() -> Iterator[int]:
    """A TCP port on the host's loopback that accepts connections (the kernel completes them)."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(8)
        yield server.getsockname()[1]


def test_network_can_be_turned_off(
    requires_bwrap: None, workspace: Path, listening_port: int
) -> None:
    probe = (
        f"(exec 3<>/dev/tcp/127.0.0.1/{listening_port}) 2>/dev/null "
        "&& echo connected || echo unreachable"
    )
    interfaces = "tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' ' | sort | tr '\\n' ' '"
    with_net = run_in_sandbox(workspace, probe, interfaces, network=True)
    without_net = run_in_sandbox(workspace, probe, interfaces, network=False)
    assert with_net[0].content == "connected"
    assert without_net[0].content == "unreachable"
    assert without_net[1].content.split() == ["lo"]


def test_files_made_in_the_sandbox_appear_in_the_workspace(
    requires_bwrap: None, workspace: Path
) -> None:
    run_in_sandbox(workspace, "mkdir -p out && echo made > out/file.txt")
    assert (workspace / "out" / "file.txt").read_text() == "made\n"


# Toolbox


def make_toolbox(workspace: Path, sandbox: str = "none", **options: Any) -> Toolbox:
    settings: dict[str, Any] = {
        "enabled": {"bash", "files"},
        "sandbox": sandbox,
        "network": True,
        "bash_timeout": 10.0,
    }
    settings.update(options)
    return Toolbox(workspace, **settings)


def test_anthropic_definitions(workspace: Path) -> None:
    assert make_toolbox(workspace).definitions() == [
        {"type": "bash_20250124", "name": "bash"},
        {"type": "text_editor_20250728", "name": "str_replace_based_edit_tool"},
    ]
    assert make_toolbox(workspace, enabled={"files"}).definitions() == [
        {"type": "text_editor_20250728", "name": "str_replace_based_edit_tool"}
    ]
    assert make_toolbox(workspace, enabled=set()).definitions() == []


def test_json_definitions(workspace: Path) -> None:
    bash, editor = make_toolbox(workspace, tool_format="json").definitions()
    assert bash["name"] == "bash"
    assert set(bash) == {"name", "description", "input_schema"}
    assert bash["input_schema"]["properties"]["command"]["type"] == "string"
    assert bash["input_schema"]["properties"]["restart"]["type"] == "boolean"
    assert editor["name"] == "str_replace_based_edit_tool"
    schema = editor["input_schema"]
    assert schema["required"] == ["command", "path"]
    assert schema["properties"]["command"]["enum"] == ["view", "create", "str_replace", "insert"]
    assert schema["properties"]["insert_line"]["type"] == "integer"
    assert schema["properties"]["view_range"]["items"] == {"type": "integer"}
    assert schema["properties"]["view_range"]["minItems"] == 2
    for field in ("path", "file_text", "old_str", "new_str", "insert_text"):
        assert schema["properties"][field]["type"] == "string"
    assert str(workspace.resolve()) in editor["description"]


def test_invalid_configuration_is_refused(workspace: Path) -> None:
    with pytest.raises(ValueError, match="tool sets"):
        make_toolbox(workspace, enabled={"browser"})
    with pytest.raises(ValueError, match="tool_format"):
        make_toolbox(workspace, tool_format="xml")


def test_model_root(workspace: Path, sandbox: str) -> None:
    toolbox = make_toolbox(workspace, sandbox)
    assert toolbox.sandbox == sandbox
    expected = "/workspace" if sandbox == "bwrap" else str(workspace.resolve())
    assert toolbox.model_root == expected


def test_editor_and_bash_see_the_same_file_at_the_same_path(workspace: Path, sandbox: str) -> None:
    async def main() -> list[ToolOutput]:
        toolbox = make_toolbox(workspace, sandbox)
        root = toolbox.model_root
        editor = "str_replace_based_edit_tool"
        try:
            return [
                await toolbox.execute(
                    editor, {"command": "create", "path": f"{root}/notes.txt", "file_text": "one\n"}
                ),
                await toolbox.execute("bash", {"command": f"cat {root}/notes.txt"}),
                await toolbox.execute("bash", {"command": "echo two >> notes.txt"}),
                await toolbox.execute(editor, {"command": "view", "path": f"{root}/notes.txt"}),
            ]
        finally:
            await toolbox.close()

    created, cat, _, view = asyncio.run(main())
    assert not created.is_error
    assert cat == ToolOutput("one")
    assert view.content.endswith("     1\tone\n     2\ttwo\n")


def test_execute_bad_calls_give_error_outputs(workspace: Path) -> None:
    async def main() -> list[ToolOutput]:
        toolbox = make_toolbox(workspace, enabled={"bash"})
        try:
            return [
                await toolbox.execute("computer", {"action": "screenshot"}),
                await toolbox.execute("str_replace_based_edit_tool", {"command": "view"}),
                await toolbox.execute("bash", {}),
                await toolbox.execute("bash", {"command": 42}),
                await toolbox.execute("bash", {"command": "   "}),
                await toolbox.execute("bash", "ls"),  # type: ignore[arg-type]
            ]
        finally:
            await toolbox.close()

    outputs = asyncio.run(main())
    assert all(output.is_error for output in outputs)
    assert outputs[0].content == "Unknown tool 'computer'. Available tools: bash."
    assert "Unknown tool 'str_replace_based_edit_tool'" in outputs[1].content
    assert "`command`" in outputs[2].content


def test_execute_editor_bad_input(workspace: Path) -> None:
    async def main() -> ToolOutput:
        return await make_toolbox(workspace, enabled={"files"}).execute(
            "str_replace_based_edit_tool", {"command": "insert", "path": "x", "insert_line": "a"}
        )

    assert asyncio.run(main()).is_error


def test_execute_bash_restart(workspace: Path) -> None:
    async def main() -> list[ToolOutput]:
        toolbox = make_toolbox(workspace)
        try:
            await toolbox.execute("bash", {"command": "VALUE=old"})
            return [
                await toolbox.execute("bash", {"restart": True}),
                await toolbox.execute("bash", {"command": 'echo "value=$VALUE"'}),
            ]
        finally:
            await toolbox.close()

    assert asyncio.run(main()) == [ToolOutput("shell restarted"), ToolOutput("value=")]


def test_unexpected_failure_is_logged_and_reported(
    workspace: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    toolbox = make_toolbox(workspace, enabled={"files"})

    def explode(tool_input: dict[str, Any]) -> ToolOutput:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(toolbox._editor, "run", explode)
    with caplog.at_level(logging.ERROR, logger="portagent.tools"):
        output = asyncio.run(toolbox.execute("str_replace_based_edit_tool", {"command": "view"}))
    assert output.is_error
    assert "RuntimeError" in output.content
    assert "disk on fire" not in output.content
    assert any(
        record.name == "portagent.tools" and record.exc_info is not None
        for record in caplog.records
    )


def test_cancellation_propagates_through_execute(workspace: Path, sandbox: str) -> None:
    async def main() -> ToolOutput:
        toolbox = make_toolbox(workspace, sandbox)
        try:
            task = asyncio.create_task(toolbox.execute("bash", {"command": "sleep 30"}))
            await asyncio.sleep(0.2)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            return await toolbox.execute("bash", {"command": "echo alive"})
        finally:
            await toolbox.close()

    assert asyncio.run(main()) == ToolOutput("alive")
