"""The text editor tool: commands, line handling, and confinement to the workspace."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

import pytest

from service.agent.tools import FileEditor, ToolOutput

pytestmark = pytest.mark.timeout(30)

ROOT = "/workspace"


@pytest.fixture
def editor(workspace: Path) -> FileEditor:
    return FileEditor(workspace, ROOT)


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A directory next to the workspace, with a file the editor must never touch."""
    path = tmp_path / "outside"
    path.mkdir()
    (path / "secret.txt").write_text("top secret\n")
    return path


def run(editor: FileEditor, **tool_input: Any) -> ToolOutput:
    return editor.run(tool_input)


def error_of(output: ToolOutput) -> str:
    assert output.is_error, output
    return output.content


# view


def test_view_file_with_line_numbers(editor: FileEditor, workspace: Path) -> None:
    (workspace / "a.py").write_text("import os\n\tindented\nlast\n")
    output = run(editor, command="view", path="/workspace/a.py")
    assert output == ToolOutput(
        "Here's the result of running `cat -n` on /workspace/a.py:\n"
        "     1\timport os\n"
        "     2\t\tindented\n"
        "     3\tlast\n"
    )


def test_view_range(editor: FileEditor, workspace: Path) -> None:
    (workspace / "n.txt").write_text("".join(f"line {n}\n" for n in range(1, 11)))
    middle = run(editor, command="view", path="n.txt", view_range=[3, 4])
    assert middle.content.endswith("\n     3\tline 3\n     4\tline 4\n")
    to_end = run(editor, command="view", path="n.txt", view_range=[9, -1])
    assert to_end.content.endswith("\n     9\tline 9\n    10\tline 10\n")
    assert "within the lines of the file, [1, 10]" in error_of(
        run(editor, command="view", path="n.txt", view_range=[0, 3])
    )
    assert "between 5 and 10" in error_of(
        run(editor, command="view", path="n.txt", view_range=[5, 11])
    )
    assert "two integers" in error_of(run(editor, command="view", path="n.txt", view_range=[1]))
    assert "two integers" in error_of(
        run(editor, command="view", path="n.txt", view_range=["1", "2"])
    )


def test_view_directory_two_levels_without_hidden(editor: FileEditor, workspace: Path) -> None:
    (workspace / "src" / "pkg" / "deep").mkdir(parents=True)
    (workspace / "src" / "pkg" / "deep" / "too_deep.py").write_text("")
    (workspace / "src" / "main.py").write_text("")
    (workspace / ".git").mkdir()
    (workspace / ".env").write_text("")
    (workspace / "README.md").write_text("")
    output = run(editor, command="view", path="/workspace")
    assert output == ToolOutput(
        "Here's the files and directories up to 2 levels deep in /workspace, "
        "excluding hidden items:\n"
        "/workspace\n"
        "/workspace/README.md\n"
        "/workspace/src/\n"
        "/workspace/src/main.py\n"
        "/workspace/src/pkg/\n"
    )
    assert "view_range" in error_of(run(editor, command="view", path="src", view_range=[1, 2]))


def test_view_missing_binary_large_and_fifo_are_errors(editor: FileEditor, workspace: Path) -> None:
    (workspace / "blob.bin").write_bytes(b"\x89PNG\r\n\x1a\n\x00\xff")
    with open(workspace / "huge.txt", "wb") as huge:
        huge.truncate(10 * 1024 * 1024 + 1)
    os.mkfifo(workspace / "pipe")
    assert "does not exist" in error_of(run(editor, command="view", path="nope.txt"))
    assert "not a UTF-8 text file" in error_of(run(editor, command="view", path="blob.bin"))
    assert "more than the 10485760 bytes" in error_of(run(editor, command="view", path="huge.txt"))
    assert "not a regular file" in error_of(run(editor, command="view", path="pipe"))


def test_view_of_a_long_file_is_capped(workspace: Path) -> None:
    editor = FileEditor(workspace, ROOT, max_output=500)
    (workspace / "long.txt").write_text("x" * 100 + "\n" * 1000)
    output = run(editor, command="view", path="long.txt")
    assert not output.is_error
    assert "[output truncated:" in output.content
    assert "view_range" in output.content


# create


def test_create_new_file_with_parent_directories(editor: FileEditor, workspace: Path) -> None:
    output = run(editor, command="create", path="/workspace/a/b/c.txt", file_text="hi\n")
    assert output == ToolOutput("File created successfully at: /workspace/a/b/c.txt")
    assert (workspace / "a" / "b" / "c.txt").read_text() == "hi\n"


def test_create_overwrites_and_keeps_mode(editor: FileEditor, workspace: Path) -> None:
    script = workspace / "run.sh"
    script.write_text("old\n")
    script.chmod(0o755)
    output = run(editor, command="create", path="run.sh", file_text="new\n")
    assert output == ToolOutput("File overwritten successfully at: /workspace/run.sh")
    assert script.read_text() == "new\n"
    assert stat.S_IMODE(script.stat().st_mode) == 0o755
    assert sorted(p.name for p in workspace.iterdir()) == ["run.sh"]  # no temporary file left


def test_create_errors(editor: FileEditor, workspace: Path) -> None:
    (workspace / "dir").mkdir()
    (workspace / "file").write_text("")
    assert "file_text" in error_of(run(editor, command="create", path="x.txt"))
    assert "file_text" in error_of(run(editor, command="create", path="x.txt", file_text=3))
    assert "is a directory" in error_of(run(editor, command="create", path="dir", file_text=""))
    assert "not a directory" in error_of(
        run(editor, command="create", path="file/x.txt", file_text="")
    )
    assert "workspace directory itself" in error_of(
        run(editor, command="create", path="/workspace", file_text="")
    )


# str_replace


def test_str_replace_once(editor: FileEditor, workspace: Path) -> None:
    (workspace / "f.py").write_text("def f():\n    return 1\n")
    output = run(editor, command="str_replace", path="f.py", old_str="return 1", new_str="return 2")
    assert not output.is_error
    assert output.content.startswith("The file /workspace/f.py has been edited.")
    assert "     2\t    return 2\n" in output.content
    assert (workspace / "f.py").read_text() == "def f():\n    return 2\n"


def test_str_replace_without_new_str_deletes(editor: FileEditor, workspace: Path) -> None:
    (workspace / "f.txt").write_text("keep drop keep\n")
    assert not run(editor, command="str_replace", path="f.txt", old_str=" drop").is_error
    assert (workspace / "f.txt").read_text() == "keep keep\n"


def test_str_replace_not_found_and_ambiguous(editor: FileEditor, workspace: Path) -> None:
    (workspace / "f.txt").write_text("a = 1\nb = 2\na = 1\n\na = 1\n")
    missing = error_of(run(editor, command="str_replace", path="f.txt", old_str="c = 3"))
    assert "does not appear verbatim" in missing
    many = error_of(run(editor, command="str_replace", path="f.txt", old_str="a = 1", new_str=""))
    assert "occurs 3 times" in many and "lines 1, 3, 5" in many
    assert "non-empty" in error_of(run(editor, command="str_replace", path="f.txt", old_str=""))
    assert "`new_str`" in error_of(
        run(editor, command="str_replace", path="f.txt", old_str="b", new_str=5)
    )
    assert (workspace / "f.txt").read_text() == "a = 1\nb = 2\na = 1\n\na = 1\n"


def test_str_replace_counts_overlapping_occurrences(editor: FileEditor, workspace: Path) -> None:
    (workspace / "f.txt").write_text("aaa\n")
    assert "occurs 2 times" in error_of(
        run(editor, command="str_replace", path="f.txt", old_str="aa", new_str="b")
    )


# insert


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (0, "new\none\ntwo\n"),
        (1, "one\nnew\ntwo\n"),
        (2, "one\ntwo\nnew\n"),
    ],
)
def test_insert(editor: FileEditor, workspace: Path, line: int, expected: str) -> None:
    (workspace / "f.txt").write_text("one\ntwo\n")
    output = run(editor, command="insert", path="f.txt", insert_line=line, insert_text="new")
    assert not output.is_error, output
    assert "\tnew\n" in output.content
    assert (workspace / "f.txt").read_text() == expected


def test_insert_after_unterminated_last_line(editor: FileEditor, workspace: Path) -> None:
    (workspace / "f.txt").write_text("one\ntwo")
    run(editor, command="insert", path="f.txt", insert_line=2, insert_text="three\nfour\n")
    assert (workspace / "f.txt").read_text() == "one\ntwo\nthree\nfour\n"


def test_insert_accepts_new_str_as_alias(editor: FileEditor, workspace: Path) -> None:
    (workspace / "f.txt").write_text("one\n")
    assert not run(editor, command="insert", path="f.txt", insert_line=1, new_str="two").is_error
    assert (workspace / "f.txt").read_text() == "one\ntwo\n"


def test_insert_errors(editor: FileEditor, workspace: Path) -> None:
    (workspace / "f.txt").write_text("one\ntwo\n")
    for line in (3, -1):
        message = error_of(
            run(editor, command="insert", path="f.txt", insert_line=line, insert_text="x")
        )
        assert "within [0, 2]" in message
    assert "integer" in error_of(
        run(editor, command="insert", path="f.txt", insert_line="1", insert_text="x")
    )
    assert "integer" in error_of(
        run(editor, command="insert", path="f.txt", insert_line=True, insert_text="x")
    )
    assert "insert_text" in error_of(run(editor, command="insert", path="f.txt", insert_line=1))
    assert (workspace / "f.txt").read_text() == "one\ntwo\n"


# input shape


def test_bad_input_is_an_error_output(editor: FileEditor) -> None:
    assert "Unknown or missing `command`" in error_of(run(editor, command="undo_edit", path="x"))
    assert "Unknown or missing `command`" in error_of(run(editor, path="x"))
    assert "`path`" in error_of(run(editor, command="view"))
    assert "`path`" in error_of(run(editor, command="view", path=["x"]))
    assert "JSON object" in error_of(editor.run(["view"]))  # type: ignore[arg-type]


# paths


def test_relative_and_absolute_paths_name_the_same_file(
    editor: FileEditor, workspace: Path
) -> None:
    run(editor, command="create", path="dir/f.txt", file_text="same\n")
    for path in ("dir/f.txt", "./dir//f.txt", "/workspace/dir/f.txt", "/workspace/./dir/f.txt"):
        output = run(editor, command="view", path=path)
        assert output.content.endswith("     1\tsame\n"), path
        assert "/workspace/dir/f.txt" in output.content


def test_real_path_as_model_root(workspace: Path) -> None:
    root = str(workspace.resolve())
    editor = FileEditor(workspace, root)
    run(editor, command="create", path=f"{root}/f.txt", file_text="real\n")
    assert (workspace / "f.txt").read_text() == "real\n"
    assert f"on {root}/f.txt:" in run(editor, command="view", path="f.txt").content
    assert "outside the workspace" in error_of(run(editor, command="view", path="/workspace/f.txt"))


def test_dotdot_is_refused(editor: FileEditor, workspace: Path, outside: Path) -> None:
    (workspace / "sub").mkdir()
    for path in ("../outside/secret.txt", "/workspace/../outside/secret.txt", "sub/../../x"):
        assert "`..` is not allowed" in error_of(run(editor, command="view", path=path))
    assert "`..` is not allowed" in error_of(
        run(editor, command="create", path="../outside/new.txt", file_text="x")
    )
    assert not (outside / "new.txt").exists()


def test_absolute_paths_elsewhere_are_refused(editor: FileEditor, outside: Path) -> None:
    for path in (str(outside / "secret.txt"), "/etc/passwd", "/workspace2/x", "/"):
        assert "outside the workspace" in error_of(run(editor, command="view", path=path))
    assert "outside the workspace" in error_of(
        run(editor, command="create", path=str(outside / "new.txt"), file_text="x")
    )
    assert not (outside / "new.txt").exists()


def test_symlinked_files_are_never_followed(
    editor: FileEditor, workspace: Path, outside: Path
) -> None:
    (workspace / "link.txt").symlink_to(outside / "secret.txt")
    (workspace / "inner.txt").write_text("inside\n")
    (workspace / "inner-link.txt").symlink_to("inner.txt")
    for path in ("link.txt", "inner-link.txt"):
        assert "symbolic link" in error_of(run(editor, command="view", path=path))
    assert "symbolic link" in error_of(
        run(editor, command="str_replace", path="link.txt", old_str="top", new_str="x")
    )
    assert "symbolic link" in error_of(
        run(editor, command="insert", path="link.txt", insert_line=0, insert_text="x")
    )
    assert "symbolic link" in error_of(
        run(editor, command="create", path="link.txt", file_text="overwritten")
    )
    assert (outside / "secret.txt").read_text() == "top secret\n"
    assert (workspace / "link.txt").is_symlink()


def test_symlinked_directories_are_never_followed(
    editor: FileEditor, workspace: Path, outside: Path
) -> None:
    (workspace / "out").symlink_to(outside)
    (workspace / "real").mkdir()
    (workspace / "real" / "sub").symlink_to(outside)
    for path in ("out", "out/secret.txt", "/workspace/real/sub/secret.txt"):
        message = error_of(run(editor, command="view", path=path))
        assert "symbolic link" in message
        assert "top secret" not in message
    assert "symbolic link" in error_of(
        run(editor, command="create", path="out/new.txt", file_text="x")
    )
    assert "symbolic link" in error_of(
        run(editor, command="create", path="real/sub/deeper/new.txt", file_text="x")
    )
    assert sorted(p.name for p in outside.iterdir()) == ["secret.txt"]
    listing = run(editor, command="view", path="/workspace").content
    assert f"/workspace/out -> {outside}" in listing
    assert "secret.txt" not in listing
