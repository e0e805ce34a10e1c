"""Choosing and building the sandbox that the agent's shell runs in.

Two modes:

``bwrap``
    The shell runs under bubblewrap in fresh PID, IPC and UTS namespaces (and a network
    namespace when network access is off), with every capability dropped and an environment
    built from scratch. It sees read-only ``/usr``, ``/bin``, ``/lib*``, ``/sbin`` and ``/etc``
    of the host, a private ``/proc``, ``/dev`` and ``/tmp``, and the user's workspace at
    ``/workspace``. Nothing else of the host exists inside: no other workspace, no data
    directory, no database, no server process.

    bwrap's options are handed over through a pipe (``--args FD``) rather than its command
    line, because the sandbox's PID 1 is bwrap itself and ``ps`` inside would otherwise show
    the host path of the workspace. They hold no secret either way.

    ``/etc`` is the host's, read-only: it carries no secret of Portagent's, but anything an
    operator put there is readable by the agent.

``none``
    A plain ``bash`` as the server's own OS user. This is no isolation at all: the agent can
    read every file the server can (its data directory, databases, other users' workspaces),
    ``/proc/<pid>/environ`` and ``cmdline`` of the server (where API keys and secrets live),
    and can signal the server's processes. Use it only where every user is trusted with the
    server itself, or where the whole server already runs inside a per-user container.
"""

from __future__ import annotations

import functools
import logging
import os
import shutil
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

log = logging.getLogger("portagent.tools")

SANDBOX_MODES = ("auto", "bwrap", "none")

#: Where the workspace appears inside the bwrap sandbox.
SANDBOX_WORKSPACE = "/workspace"

#: PATH for the agent's shell; never taken from the server's environment.
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

#: Top-level host directories shown read-only inside the sandbox. On merged-/usr systems
#: several of them are symlinks into /usr and are recreated as symlinks.
_SYSTEM_DIRS = ("usr", "bin", "sbin", "lib", "lib32", "lib64", "libx32", "etc")

_PROBE_TIMEOUT = 5.0


class SandboxUnavailable(Exception):
    """The configured sandbox cannot run on this machine."""


def shell_environment(home: str) -> dict[str, str]:
    """The complete environment of the agent's shell: nothing of the server's leaks in."""
    return {
        "PATH": DEFAULT_PATH,
        "HOME": home,
        "PWD": home,
        "LANG": "C.UTF-8",
        "TERM": "dumb",
    }


@functools.cache
def bwrap_executable() -> str | None:
    return shutil.which("bwrap")


@functools.cache
def _system_mounts() -> tuple[str, ...]:
    """bwrap options that show the host's system directories read-only."""
    args: list[str] = []
    for name in _SYSTEM_DIRS:
        host = Path("/") / name
        if host.is_symlink():
            args += ["--symlink", os.readlink(host), str(host)]
        elif host.is_dir():
            args += ["--ro-bind", str(host), str(host)]
    return tuple(args)


def bwrap_options(workspace: Path, *, network: bool) -> list[str]:
    """Every bwrap option for a sandbox around `workspace` (the command is not included)."""
    args = [
        "--unshare-pid",
        "--unshare-ipc",
        "--unshare-uts",
        "--unshare-cgroup-try",
        "--unshare-net" if not network else "--share-net",
        "--hostname",
        "portagent",
        "--new-session",
        "--die-with-parent",
        "--cap-drop",
        "ALL",
        "--clearenv",
    ]
    for key, value in shell_environment(SANDBOX_WORKSPACE).items():
        args += ["--setenv", key, value]
    args += _system_mounts()
    args += [
        "--proc",
        "/proc",
        "--dev",
        "/dev",
        "--tmpfs",
        "/tmp",
        "--bind",
        str(workspace),
        SANDBOX_WORKSPACE,
        "--chdir",
        SANDBOX_WORKSPACE,
    ]
    return args


def options_pipe(options: Sequence[str]) -> int:
    """A pipe's read end holding `options` NUL-separated, for ``bwrap --args FD``.

    The caller passes the fd to the child and closes it afterwards. The options are a few
    hundred bytes, far below a pipe's capacity, so writing them cannot block.
    """
    data = b"".join(option.encode() + b"\0" for option in options)
    read_fd, write_fd = os.pipe()
    try:
        os.write(write_fd, data)
    except BaseException:
        os.close(read_fd)
        raise
    finally:
        os.close(write_fd)
    return read_fd


def bwrap_command(bwrap: str, options_fd: int, command: Sequence[str]) -> list[str]:
    return [bwrap, "--args", str(options_fd), *command]


def launcher_environment() -> Mapping[str, str]:
    """Environment of the bwrap process itself.

    bwrap's PID 1 inside the sandbox keeps the environment it was started with, and the
    sandbox can read ``/proc/1/environ``: it must not be the server's.
    """
    return {"PATH": DEFAULT_PATH}


@functools.cache
def _probe_bwrap() -> str | None:
    """Try a real sandbox once per process; None if it works, else why it does not."""
    bwrap = bwrap_executable()
    if bwrap is None:
        return "bubblewrap is not installed (no `bwrap` on PATH); install the `bubblewrap` package"
    with tempfile.TemporaryDirectory(prefix="portagent-bwrap-probe-") as workspace:
        options_fd = options_pipe(bwrap_options(Path(workspace), network=True))
        try:
            result = subprocess.run(
                bwrap_command(bwrap, options_fd, ["true"]),
                pass_fds=(options_fd,),
                env=dict(launcher_environment()),
                stdin=subprocess.DEVNULL,
                capture_output=True,
                timeout=_PROBE_TIMEOUT,
                check=False,
            )
        except subprocess.TimeoutExpired:
            return f"bubblewrap did not finish a trial run within {_PROBE_TIMEOUT:g} s"
        except OSError as exc:
            return f"bubblewrap could not be started: {exc}"
        finally:
            os.close(options_fd)
    if result.returncode == 0:
        return None
    stderr = result.stderr.decode(errors="replace").strip()
    first_line = stderr.splitlines()[0] if stderr else f"exit status {result.returncode}"
    return (
        f"bubblewrap is installed but cannot create a sandbox here: {first_line} "
        "(user or PID namespaces are probably refused by the kernel or the container runtime; "
        "in a container, allow them, e.g. with a seccomp/AppArmor profile that permits "
        "unshare, or set the sandbox to `none`)"
    )


def detect_sandbox(mode: str) -> str:
    """Resolve the configured sandbox mode to the one that will be used.

    "auto" gives "bwrap" when bubblewrap works here and "none" otherwise; "bwrap" raises
    `SandboxUnavailable` (saying why) when it does not work; "none" is returned as is.
    The probe runs a real sandbox once per process (a blocking call of a few milliseconds):
    call this at start-up, not on the event loop for every conversation.
    """
    if mode not in SANDBOX_MODES:
        raise ValueError(f"unknown sandbox mode {mode!r}; expected one of {SANDBOX_MODES}")
    if mode == "none":
        return "none"
    problem = _probe_bwrap()
    if problem is None:
        return "bwrap"
    if mode == "bwrap":
        raise SandboxUnavailable(problem)
    log.warning("no sandbox for agent tools, running them unsandboxed: %s", problem)
    return "none"
