"""A persistent shell per conversation: the `bash` tool (``bash_20250124``).

As in Anthropic's reference implementation, one ``bash`` process lives across calls, so
``cd`` and variables carry over. Each command is sent as one line::

    builtin eval $'<command, quoted byte by byte>' < /dev/null 2>&1
    builtin printf '\\n%s:%s\\n' <fresh random marker> "$?"

Quoting the command whole means an unbalanced quote or a syntax error is reported by
``eval`` instead of swallowing the marker; stdin from ``/dev/null`` means a command that
reads input (``cat``, ``python`` without arguments) ends at once instead of hanging or eating
the next command. The output ends where the marker appears, followed by the exit status.

The shell is started in a new session (its own process group). On a timeout, a cancellation,
a restart or close, the group and every descendant still attached to the shell are killed
with SIGKILL; under bwrap, killing the sandbox's PID 1 also tears down its PID namespace, so
nothing started inside survives. Without a sandbox, a process that detaches itself (``setsid``,
a daemon's double fork) escapes: only a sandbox or a container can contain those.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import secrets
import shutil
import signal
from pathlib import Path

from .base import OutputLimiter, ToolOutput, truncation_note
from .sandbox import (
    DEFAULT_PATH,
    SANDBOX_WORKSPACE,
    bwrap_command,
    bwrap_executable,
    bwrap_options,
    launcher_environment,
    options_pipe,
    shell_environment,
)

log = logging.getLogger("portagent.tools")

_READ_CHUNK = 65536
_REAP_TIMEOUT = 1.0


@functools.cache
def _bash_executable() -> str:
    return shutil.which("bash", path=DEFAULT_PATH) or "/bin/bash"


def _ansi_c_quote(text: str) -> str:
    """Quote `text` as a bash ``$'...'`` string that stands for exactly its UTF-8 bytes."""
    parts = ["$'"]
    for byte in text.encode("utf-8", errors="replace"):
        if 0x20 <= byte < 0x7F and byte not in (0x27, 0x5C):  # printable, not ' or \
            parts.append(chr(byte))
        else:
            parts.append(f"\\x{byte:02x}")
    parts.append("'")
    return "".join(parts)


def _descendants(root: int) -> list[int]:
    """PIDs of all living descendants of `root`, from a scan of /proc.

    procfs is generated in memory, so these reads never wait on a disk.
    """
    children: dict[int, list[int]] = {}
    try:
        entries = os.listdir("/proc")
    except OSError:
        return []
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as stat:
                fields = stat.read().rsplit(b")", 1)[1].split()
        except (OSError, IndexError):
            continue
        children.setdefault(int(fields[1]), []).append(int(entry))
    found: list[int] = []
    pending = [root]
    while pending:
        for child in children.get(pending.pop(), []):
            found.append(child)
            pending.append(child)
    return found


class BashSession:
    """One persistent shell in one workspace. Calls are serialised; all methods are async.

    `sandbox` is "bwrap" or "none" (resolve "auto" with `detect_sandbox` first). The shell
    starts on the first command; after a timeout, cancellation or exit the next command gets a
    fresh one.
    """

    def __init__(
        self,
        workspace: Path,
        *,
        sandbox: str,
        network: bool = True,
        timeout: float = 120.0,
        max_output: int = 30000,
    ) -> None:
        if sandbox not in ("bwrap", "none"):
            raise ValueError(f"sandbox must be 'bwrap' or 'none', not {sandbox!r}")
        self._workspace = Path(workspace).resolve()
        self._sandbox = sandbox
        self._network = network
        self._timeout = timeout
        self._max_output = max_output
        self._proc: asyncio.subprocess.Process | None = None
        self._carry = b""  # output read past the last marker (from background jobs)
        self._lock = asyncio.Lock()
        self._closed = False

    @property
    def workspace_path_for_model(self) -> str:
        """Where the workspace is as the shell (and so the model) sees it."""
        return SANDBOX_WORKSPACE if self._sandbox == "bwrap" else str(self._workspace)

    async def run(self, command: str) -> ToolOutput:
        """Run `command` in the persistent shell; combined stdout and stderr."""
        if not isinstance(command, str):
            return ToolOutput("`command` must be a string", is_error=True)
        if "\0" in command:
            return ToolOutput("the command contains a NUL character", is_error=True)
        async with self._lock:
            if self._closed:
                return ToolOutput("the shell session is closed", is_error=True)
            try:
                return await self._run(command)
            except asyncio.CancelledError:
                await self._stop_shell()
                raise

    async def restart(self) -> ToolOutput:
        """Kill the shell and everything it started, and start a fresh one."""
        async with self._lock:
            if self._closed:
                return ToolOutput("the shell session is closed", is_error=True)
            await self._stop_shell()
            try:
                await self._start_shell()
            except OSError as exc:
                return ToolOutput(f"could not start the shell: {exc}", is_error=True)
            return ToolOutput("shell restarted")

    async def close(self) -> None:
        """Kill the shell and everything it started. Safe to call more than once.

        Does not wait for a running command: it is killed, and its `run` returns.
        """
        self._closed = True
        await self._stop_shell()

    async def _run(self, command: str) -> ToolOutput:
        limiter = OutputLimiter(self._max_output)
        token = secrets.token_hex(16)
        line = (
            f"builtin eval {_ansi_c_quote(command)} < /dev/null 2>&1; "
            f"builtin printf '\\n%s:%s\\n' {token} \"$?\"\n"
        )
        try:
            async with asyncio.timeout(self._timeout):
                proc = await self._ensure_shell()
                status = await self._send_and_collect(proc, line.encode(), token, limiter)
        except TimeoutError:
            await self._stop_shell()
            note = (
                f"[command timed out after {self._timeout:g} s: the shell and everything it "
                "started were killed and the shell was restarted (working directory and "
                "variables are back to their defaults)]"
            )
            return ToolOutput(self._compose(limiter, [note]), is_error=True)
        except OSError as exc:
            await self._stop_shell()
            return ToolOutput(f"could not start the shell: {exc}", is_error=True)

        if status is None:  # the shell itself ended: `exit`, or it could not start
            code = await self._stop_shell()
            note = (
                f"[the shell exited (status {code}); a new shell will run the next command, "
                "with the working directory and variables back to their defaults]"
            )
            return ToolOutput(self._compose(limiter, [note]), is_error=True)
        notes = [f"[exit status {status}]"] if status != 0 else []
        return ToolOutput(self._compose(limiter, notes))

    @staticmethod
    def _compose(limiter: OutputLimiter, notes: list[str]) -> str:
        body = limiter.finish().removesuffix("\n")
        if limiter.truncated:
            notes = [truncation_note(limiter.total_chars, limiter.kept_chars), *notes]
        text = "\n".join([body, *notes]) if body else "\n".join(notes)
        return text or "(no output)"

    async def _send_and_collect(
        self,
        proc: asyncio.subprocess.Process,
        line: bytes,
        token: str,
        limiter: OutputLimiter,
    ) -> int | None:
        """Send one command line; feed its output to `limiter`; return its exit status.

        None means the shell closed its output (it exited) before printing the marker.
        """
        assert proc.stdin is not None and proc.stdout is not None
        try:
            proc.stdin.write(line)
            await proc.stdin.drain()
        except (BrokenPipeError, ConnectionResetError):
            pass  # the shell is gone; reading below hits end-of-file and says so
        marker = b"\n" + token.encode() + b":"
        pending = self._carry
        self._carry = b""
        while True:
            at = pending.find(marker)
            if at >= 0:
                end = pending.find(b"\n", at + len(marker))
                if end >= 0:
                    limiter.feed(pending[:at])
                    self._carry = pending[end + 1 :]
                    status = pending[at + len(marker) : end]
                    return int(status) if status.isdigit() else -1
            else:
                # Everything except a possible beginning of the marker is output.
                safe = len(pending) - len(marker) + 1
                if safe > 0:
                    limiter.feed(pending[:safe])
                    pending = pending[safe:]
            try:
                chunk = await proc.stdout.read(_READ_CHUNK)
            except BaseException:  # timeout or cancellation: keep what came so far
                limiter.feed(pending)
                raise
            if not chunk:
                limiter.feed(pending)
                return None
            pending += chunk

    async def _ensure_shell(self) -> asyncio.subprocess.Process:
        if self._proc is not None and self._proc.returncode is None:
            return self._proc
        await self._stop_shell()
        return await self._start_shell()

    async def _start_shell(self) -> asyncio.subprocess.Process:
        bash = [_bash_executable(), "--noprofile", "--norc"]
        pipes = {
            "stdin": asyncio.subprocess.PIPE,
            "stdout": asyncio.subprocess.PIPE,
            "stderr": asyncio.subprocess.STDOUT,
        }
        if self._sandbox == "bwrap":
            bwrap = bwrap_executable()
            if bwrap is None:
                raise FileNotFoundError("bubblewrap (bwrap) is not installed")
            options_fd = options_pipe(bwrap_options(self._workspace, network=self._network))
            try:
                proc = await asyncio.create_subprocess_exec(
                    *bwrap_command(bwrap, options_fd, bash),
                    env=dict(launcher_environment()),
                    pass_fds=(options_fd,),
                    start_new_session=True,
                    **pipes,
                )
            finally:
                os.close(options_fd)
        else:
            proc = await asyncio.create_subprocess_exec(
                *bash,
                cwd=self._workspace,
                env=shell_environment(str(self._workspace)),
                start_new_session=True,
                **pipes,
            )
        if self._closed:  # closed while the shell was starting
            _kill_tree(proc.pid)
            raise OSError("the shell session is closed")
        self._proc = proc
        self._carry = b""
        return proc

    async def _stop_shell(self) -> int | None:
        """Kill the shell and its descendants, wait (briefly) for it; its exit status."""
        proc, self._proc = self._proc, None
        self._carry = b""
        if proc is None:
            return None
        # Kill before the first await, so that even a cancelled cleanup has done its job.
        if proc.returncode is None:
            _kill_tree(proc.pid)
        if proc.stdin is not None:
            proc.stdin.close()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(proc.wait(), _REAP_TIMEOUT)
        return proc.returncode


def _kill_tree(pid: int) -> None:
    """SIGKILL the process group led by `pid` and every descendant of `pid`.

    Descendants are listed before anything is killed: once the shell is dead its children
    are re-parented and can no longer be found through it.
    """
    descendants = _descendants(pid)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)
    for target in (pid, *descendants):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(target, signal.SIGKILL)
