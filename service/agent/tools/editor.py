"""The text editor tool (``text_editor_20250728``, named ``str_replace_based_edit_tool``).

It runs in the server process, not in the sandbox, so it confines itself: every path is
walked one component at a time from an open descriptor of the workspace, each directory
opened with ``O_NOFOLLOW | O_DIRECTORY`` relative to its parent (``dir_fd``) and the file
itself with ``O_NOFOLLOW``. ``..`` is refused outright and no symbolic link is ever followed,
whether it points inside the workspace or not: the agent's shell can swap a directory for a
symlink at any moment, and with descriptors there is no gap between a check and the use.
Symlinks still show up in directory listings; the shell handles them.

Files are replaced atomically (written to a temporary file in the same directory, then
renamed over the old one), so a failed write never leaves a half-written file.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .base import ToolOutput, cap_text

EDITOR_COMMANDS = ("view", "create", "str_replace", "insert")

#: Larger files are left to the shell (head, sed -n, grep).
MAX_FILE_BYTES = 10 * 1024 * 1024
#: Entries shown at most in a directory listing.
MAX_LISTING_ENTRIES = 1000
#: Lines of context around an edit in the snippet shown after it.
SNIPPET_LINES = 4

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
# O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer forever.
_FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC


class _Refused(Exception):
    """A request the tool answers with an error message for the model."""


def _split_lines(text: str) -> list[str]:
    """Lines as `cat -n` counts them: a final newline does not start another line."""
    if not text:
        return []
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    return lines


def _numbered(lines: list[str], first: int) -> str:
    return "\n".join(f"{number:6}\t{line}" for number, line in enumerate(lines, first))


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


class FileEditor:
    """View, create and edit text files inside one workspace.

    `model_root` is the workspace as the model knows it ("/workspace" under the sandbox, the
    real path otherwise); absolute paths must lie under it, relative ones start from it.
    `run` is synchronous and does file I/O: call it in a thread from async code.
    """

    def __init__(self, workspace: Path, model_root: str, *, max_output: int = 30000) -> None:
        self._workspace = Path(workspace)
        self._model_root = model_root.rstrip("/") or "/"
        self._max_output = max_output

    def run(self, tool_input: dict[str, Any]) -> ToolOutput:
        """Run one editor command; problems come back as an error output, never raised."""
        try:
            return self._dispatch(tool_input)
        except _Refused as refused:
            return ToolOutput(str(refused), is_error=True)

    def _dispatch(self, tool_input: dict[str, Any]) -> ToolOutput:
        if not isinstance(tool_input, dict):
            raise _Refused("The tool input must be a JSON object.")
        command = tool_input.get("command")
        if command not in EDITOR_COMMANDS:
            choices = ", ".join(EDITOR_COMMANDS)
            raise _Refused(f"Unknown or missing `command` {command!r}: use one of {choices}.")
        path = tool_input.get("path")
        if not isinstance(path, str) or not path.strip():
            raise _Refused(f"`{command}` needs `path`, the file's path as a string.")
        parts, shown = self._split_path(path)
        try:
            match command:
                case "view":
                    return self._view(parts, shown, tool_input.get("view_range"))
                case "create":
                    return self._create(parts, shown, tool_input.get("file_text"))
                case "str_replace":
                    return self._str_replace(
                        parts, shown, tool_input.get("old_str"), tool_input.get("new_str")
                    )
                case _:
                    text = tool_input.get("insert_text")
                    if text is None:  # the name older versions of the tool used
                        text = tool_input.get("new_str")
                    return self._insert(parts, shown, tool_input.get("insert_line"), text)
        except OSError as exc:
            # Only the model's view of the path: the host path of the workspace stays out.
            raise _Refused(f"{shown}: {exc.strerror or exc}") from exc

    # Paths

    def _split_path(self, path: str) -> tuple[list[str], str]:
        """The path's components below the workspace, and the path to show the model."""
        if "\0" in path:
            raise _Refused("The path contains a NUL character.")
        root = self._model_root
        relative = path
        if path.startswith("/"):
            if path != root and not path.startswith(root.rstrip("/") + "/"):
                raise _Refused(
                    f"{path} is outside the workspace: paths must be under {root} "
                    "(or relative to it)."
                )
            relative = path[len(root) :]
        parts = [part for part in relative.split("/") if part not in ("", ".")]
        if ".." in parts:
            raise _Refused(
                f"{path}: `..` is not allowed in paths; give the path from {root} instead."
            )
        return parts, self._shown(parts)

    def _shown(self, parts: list[str]) -> str:
        return "/".join([self._model_root.rstrip("/"), *parts]) if parts else self._model_root

    @contextlib.contextmanager
    def _directory(self, parts: list[str], *, create: bool = False) -> Iterator[int]:
        """An fd of the directory at `parts`, reached without following any symlink."""
        fd = os.open(self._workspace, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            for depth, name in enumerate(parts, 1):
                if create:
                    # Fails harmlessly when the name exists (directory, file or symlink);
                    # the open below then says what is in the way.
                    with contextlib.suppress(FileExistsError):
                        os.mkdir(name, 0o777, dir_fd=fd)
                try:
                    child = os.open(name, _DIR_FLAGS, dir_fd=fd)
                except FileNotFoundError:
                    raise _Refused(
                        f"The directory {self._shown(parts[:depth])} does not exist."
                    ) from None
                except OSError as exc:
                    raise self._explain(fd, name, parts[:depth], exc) from None
                os.close(fd)
                fd = child
            yield fd
        finally:
            os.close(fd)

    def _explain(self, dir_fd: int, name: str, parts: list[str], exc: OSError) -> _Refused:
        """Turn a failed open into a message that says what is in the way."""
        shown = self._shown(parts)
        try:
            info = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
        except OSError:
            return _Refused(f"{shown}: {exc.strerror or exc}")
        if stat.S_ISLNK(info.st_mode):
            return _Refused(
                f"{shown} is a symbolic link; this tool does not follow symbolic links. "
                "Use the real path, or the bash tool."
            )
        if exc.errno == errno.ENOTDIR or not stat.S_ISDIR(info.st_mode):
            return _Refused(f"{shown} is not a directory.")
        return _Refused(f"{shown}: {exc.strerror or exc}")

    def _open_entry(self, dir_fd: int, parts: list[str]) -> int:
        """An fd of the last component of `parts` (file or directory), never a symlink."""
        try:
            return os.open(parts[-1], _FILE_FLAGS, dir_fd=dir_fd)
        except FileNotFoundError:
            raise _Refused(f"The path {self._shown(parts)} does not exist.") from None
        except OSError as exc:
            raise self._explain(dir_fd, parts[-1], parts, exc) from None

    def _read_text(self, dir_fd: int, parts: list[str]) -> tuple[str, os.stat_result]:
        """Contents of the regular UTF-8 text file at `parts`, and its stat."""
        fd = self._open_entry(dir_fd, parts)
        try:
            return self._read_fd(fd, self._shown(parts))
        finally:
            os.close(fd)

    def _read_fd(self, fd: int, shown: str) -> tuple[str, os.stat_result]:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise _Refused(f"{shown} is a directory, not a file.")
        if not stat.S_ISREG(info.st_mode):
            raise _Refused(f"{shown} is not a regular file.")
        if info.st_size > MAX_FILE_BYTES:
            raise _Refused(self._too_large(shown, info.st_size))
        chunks: list[bytes] = []
        size = 0
        while chunk := os.read(fd, 1 << 20):
            chunks.append(chunk)
            size += len(chunk)
            if size > MAX_FILE_BYTES:  # it grew while being read
                raise _Refused(self._too_large(shown, size))
        data = b"".join(chunks)
        try:
            if b"\0" in data:
                raise UnicodeError
            return data.decode("utf-8"), info
        except UnicodeError:
            raise _Refused(
                f"{shown} is not a UTF-8 text file (it looks binary); inspect it with bash."
            ) from None

    @staticmethod
    def _too_large(shown: str, size: int) -> str:
        return (
            f"{shown} is {size} bytes, more than the {MAX_FILE_BYTES} bytes this tool handles; "
            "use bash (head, sed -n, grep) for it."
        )

    def _write_text(
        self, dir_fd: int, name: str, text: str, existing: os.stat_result | None
    ) -> None:
        """Replace `name` in `dir_fd` with `text` atomically, keeping an old file's mode."""
        temp = f".portagent-edit-{secrets.token_hex(8)}.tmp"
        mode = stat.S_IMODE(existing.st_mode) if existing else 0o666
        fd = os.open(
            temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, mode, dir_fd=dir_fd
        )
        try:
            try:
                view = memoryview(text.encode("utf-8"))
                while view:
                    view = view[os.write(fd, view) :]
                if existing is not None:
                    os.fchmod(fd, mode)  # the umask applied at creation
                    if (existing.st_uid, existing.st_gid) != (os.geteuid(), os.getegid()):
                        with contextlib.suppress(PermissionError):
                            os.fchown(fd, existing.st_uid, existing.st_gid)
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(temp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temp, dir_fd=dir_fd)
            raise

    def _snippet(self, text: str, first_line: int, last_line: int) -> str:
        lines = _split_lines(text)
        start = max(1, first_line - SNIPPET_LINES)
        end = min(len(lines), last_line + SNIPPET_LINES)
        return _numbered(lines[start - 1 : end], start)

    def _edited(self, shown: str, text: str, first_line: int, last_line: int) -> ToolOutput:
        snippet = self._snippet(text, first_line, last_line)
        return ToolOutput(
            cap_text(
                f"The file {shown} has been edited. Here's the result of running `cat -n` on "
                f"a snippet of {shown}:\n{snippet}\n"
                "Review the changes and make sure they are as expected. "
                "Edit the file again if necessary.",
                self._max_output,
            )
        )

    # Commands

    def _view(self, parts: list[str], shown: str, view_range: Any) -> ToolOutput:
        if view_range is not None and not (
            isinstance(view_range, list) and len(view_range) == 2 and all(map(_is_int, view_range))
        ):
            raise _Refused(
                "`view_range` must be a list of two integers, like [10, 20] or [10, -1]."
            )
        with self._directory(parts[:-1]) as dir_fd:
            if not parts:
                return self._list_directory(dir_fd, shown, view_range)
            fd = self._open_entry(dir_fd, parts)
            try:
                if stat.S_ISDIR(os.fstat(fd).st_mode):
                    return self._list_directory(fd, shown, view_range)
                text, _ = self._read_fd(fd, shown)
            finally:
                os.close(fd)
        return self._view_file(text, shown, view_range)

    def _view_file(self, text: str, shown: str, view_range: list[int] | None) -> ToolOutput:
        lines = _split_lines(text)
        first = 1
        if view_range is not None:
            first, last = view_range
            count = len(lines)
            if not 1 <= first <= max(count, 1):
                raise _Refused(
                    f"Invalid `view_range` {view_range}: the first line {first} should be "
                    f"within the lines of the file, [1, {count}]."
                )
            if last == -1:
                last = count
            elif last < first or last > count:
                raise _Refused(
                    f"Invalid `view_range` {view_range}: the last line {last} should be -1 "
                    f"(to the end) or between {first} and {count}, the number of lines."
                )
            lines = lines[first - 1 : last]
        body = _numbered(lines, first)
        return ToolOutput(
            cap_text(
                f"Here's the result of running `cat -n` on {shown}:\n{body}\n",
                self._max_output,
                "Use `view_range` to see the rest of the file.",
            )
        )

    def _list_directory(self, dir_fd: int, shown: str, view_range: Any) -> ToolOutput:
        if view_range is not None:
            raise _Refused("`view_range` is not allowed when `path` is a directory.")
        base = shown.rstrip("/")
        lines = [shown]
        left_out = 0

        def add(fd: int, prefix: str, depth: int) -> None:
            nonlocal left_out
            with os.scandir(fd) as scan:
                entries = sorted(
                    (entry for entry in scan if not entry.name.startswith(".")),
                    key=lambda entry: entry.name,
                )
            for entry in entries:
                if len(lines) > MAX_LISTING_ENTRIES:
                    left_out += 1
                    continue
                path = f"{prefix}/{entry.name}"
                if entry.is_symlink():
                    try:
                        target = os.readlink(entry.name, dir_fd=fd)
                    except OSError:
                        target = "?"
                    lines.append(f"{path} -> {target}")
                elif entry.is_dir(follow_symlinks=False):
                    lines.append(f"{path}/")
                    if depth < 2:
                        try:
                            child = os.open(entry.name, _DIR_FLAGS, dir_fd=fd)
                        except OSError:
                            continue  # replaced or unreadable meanwhile: list it, skip inside
                        try:
                            add(child, path, depth + 1)
                        finally:
                            os.close(child)
                else:
                    lines.append(path)

        add(dir_fd, base, 1)
        if left_out:
            lines.append(f"[{left_out} more entries not shown; use bash (ls, find) to see them]")
        listing = "\n".join(lines)
        return ToolOutput(
            cap_text(
                "Here's the files and directories up to 2 levels deep in "
                f"{shown}, excluding hidden items:\n{listing}\n",
                self._max_output,
            )
        )

    def _create(self, parts: list[str], shown: str, file_text: Any) -> ToolOutput:
        if not isinstance(file_text, str):
            raise _Refused(
                "`create` needs `file_text`, the whole content of the file, as a string."
            )
        if not parts:
            raise _Refused(f"{shown} is the workspace directory itself; name a file in it.")
        name = parts[-1]
        with self._directory(parts[:-1], create=True) as dir_fd:
            try:
                existing: os.stat_result | None = os.stat(
                    name, dir_fd=dir_fd, follow_symlinks=False
                )
            except FileNotFoundError:
                existing = None
            if existing is not None:
                if stat.S_ISLNK(existing.st_mode):
                    raise _Refused(
                        f"{shown} is a symbolic link; this tool does not follow or replace "
                        "symbolic links. Use the real path, or the bash tool."
                    )
                if stat.S_ISDIR(existing.st_mode):
                    raise _Refused(f"{shown} is a directory; `create` writes files.")
                if not stat.S_ISREG(existing.st_mode):
                    raise _Refused(f"{shown} exists and is not a regular file.")
            self._write_text(dir_fd, name, file_text, existing)
        verb = "overwritten" if existing else "created"
        return ToolOutput(f"File {verb} successfully at: {shown}")

    def _str_replace(self, parts: list[str], shown: str, old_str: Any, new_str: Any) -> ToolOutput:
        if not isinstance(old_str, str) or not old_str:
            raise _Refused("`str_replace` needs `old_str`, the exact non-empty text to replace.")
        if new_str is None:
            new_str = ""
        if not isinstance(new_str, str):
            raise _Refused("`new_str` must be a string (leave it out to delete `old_str`).")
        if not parts:
            raise _Refused(f"{shown} is a directory, not a file.")
        with self._directory(parts[:-1]) as dir_fd:
            text, info = self._read_text(dir_fd, parts)
            starts: list[int] = []
            at = text.find(old_str)
            while at != -1:
                starts.append(at)
                at = text.find(old_str, at + 1)
            if not starts:
                raise _Refused(
                    f"No replacement was performed: `old_str` does not appear verbatim in "
                    f"{shown}. Check whitespace and indentation; view the file for its exact text."
                )
            if len(starts) > 1:
                lines = sorted({text.count("\n", 0, start) + 1 for start in starts})
                raise _Refused(
                    f"No replacement was performed: `old_str` occurs {len(starts)} times in "
                    f"{shown}, on lines {', '.join(map(str, lines))}. Include more of the "
                    "surrounding text in `old_str` so that it matches exactly once."
                )
            start = starts[0]
            edited = text[:start] + new_str + text[start + len(old_str) :]
            self._write_text(dir_fd, parts[-1], edited, info)
        first_line = text.count("\n", 0, start) + 1
        return self._edited(shown, edited, first_line, first_line + new_str.count("\n"))

    def _insert(
        self, parts: list[str], shown: str, insert_line: Any, insert_text: Any
    ) -> ToolOutput:
        if not _is_int(insert_line):
            raise _Refused(
                "`insert` needs `insert_line`, an integer: the line after which to insert "
                "(0 for the beginning of the file)."
            )
        if not isinstance(insert_text, str):
            raise _Refused("`insert` needs `insert_text`, the text to insert, as a string.")
        if not parts:
            raise _Refused(f"{shown} is a directory, not a file.")
        with self._directory(parts[:-1]) as dir_fd:
            text, info = self._read_text(dir_fd, parts)
            count = len(_split_lines(text))
            if not 0 <= insert_line <= count:
                raise _Refused(
                    f"Invalid `insert_line` {insert_line}: it should be within [0, {count}] "
                    f"(0 inserts at the beginning, {count} after the last line)."
                )
            offset = 0
            for _ in range(insert_line):
                newline = text.find("\n", offset)
                offset = len(text) if newline == -1 else newline + 1
            # Inserted text is whole lines; an unterminated last line is ended first.
            block = insert_text if insert_text.endswith("\n") else insert_text + "\n"
            if offset == len(text) and text and not text.endswith("\n"):
                block = "\n" + block
            edited = text[:offset] + block + text[offset:]
            self._write_text(dir_fd, parts[-1], edited, info)
        added = block.count("\n") - (1 if block.startswith("\n") else 0)
        return self._edited(shown, edited, insert_line + 1, insert_line + added)
