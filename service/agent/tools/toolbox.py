"""The tools of one conversation: their definitions for the Messages API, and dispatch."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

from .base import ToolOutput
from .bash import BashSession
from .editor import EDITOR_COMMANDS, FileEditor
from .sandbox import SANDBOX_WORKSPACE, detect_sandbox

log = logging.getLogger("portagent.tools")

BASH_TOOL = "bash"
EDITOR_TOOL = "str_replace_based_edit_tool"
#: Names of the tool sets a deployment can enable.
TOOL_SETS = frozenset({"bash", "files"})
TOOL_FORMATS = ("anthropic", "json")

_BASH_DESCRIPTION = (
    "Run a command in a bash shell. The shell is persistent: the working directory, "
    "variables and functions carry over from one call to the next. The workspace is at "
    "{root}, which is also the starting directory and $HOME. Standard input is empty, so "
    "commands must not wait for input. Output (stdout and stderr together) is cut after "
    "{max_output} characters; commands are stopped after {timeout:g} seconds, which restarts "
    "the shell. Pass `restart: true` to start a fresh shell."
)
_EDITOR_DESCRIPTION = (
    "View, create and edit text files in the workspace at {root}. Paths are absolute under "
    "{root} or relative to it; symbolic links are not followed.\n"
    "- view: show a file with line numbers (optionally only `view_range` [first, last], "
    "last -1 meaning the end), or list a directory two levels deep.\n"
    "- create: write `file_text` as the whole file, replacing it if it exists.\n"
    "- str_replace: replace `old_str`, which must occur exactly once, with `new_str` "
    "(empty if left out).\n"
    "- insert: insert `insert_text` after line `insert_line` (0 for the beginning)."
)


class Toolbox:
    """The tools one conversation may use, in one workspace.

    `enabled` holds the tool sets: "bash" (the shell) and "files" (the text editor).
    `sandbox` is "bwrap", "none" or "auto"; it goes through `detect_sandbox`, whose probe is
    cached, so resolve it once at start-up and the construction here costs nothing.
    `tool_format` "anthropic" offers Anthropic-defined tool types; "json" offers the same
    tools as plain custom tools with full JSON schemas, for providers without those types.
    """

    def __init__(
        self,
        workspace: Path,
        *,
        enabled: set[str],
        sandbox: str,
        network: bool,
        bash_timeout: float,
        max_output: int = 30000,
        tool_format: str = "anthropic",
    ) -> None:
        unknown = set(enabled) - TOOL_SETS
        if unknown:
            raise ValueError(f"unknown tool sets {sorted(unknown)}; expected {sorted(TOOL_SETS)}")
        if tool_format not in TOOL_FORMATS:
            raise ValueError(f"tool_format must be one of {TOOL_FORMATS}, not {tool_format!r}")
        self._sandbox = detect_sandbox(sandbox)
        self._workspace = Path(workspace).resolve()
        self._workspace.mkdir(parents=True, exist_ok=True)
        self._model_root = SANDBOX_WORKSPACE if self._sandbox == "bwrap" else str(self._workspace)
        self._format = tool_format
        self._bash_timeout = bash_timeout
        self._max_output = max_output
        self._bash = (
            BashSession(
                self._workspace,
                sandbox=self._sandbox,
                network=network,
                timeout=bash_timeout,
                max_output=max_output,
            )
            if "bash" in enabled
            else None
        )
        self._editor = (
            FileEditor(self._workspace, self._model_root, max_output=max_output)
            if "files" in enabled
            else None
        )

    @property
    def model_root(self) -> str:
        """The workspace as the model sees it: "/workspace" in the sandbox, else the real path."""
        return self._model_root

    @property
    def sandbox(self) -> str:
        """The sandbox in use: "bwrap" or "none"."""
        return self._sandbox

    def definitions(self) -> list[dict[str, Any]]:
        """Tool definitions for the Messages API `tools` parameter."""
        tools: list[dict[str, Any]] = []
        if self._bash is not None:
            tools.append(
                {"type": "bash_20250124", "name": BASH_TOOL}
                if self._format == "anthropic"
                else self._bash_schema()
            )
        if self._editor is not None:
            tools.append(
                {"type": "text_editor_20250728", "name": EDITOR_TOOL}
                if self._format == "anthropic"
                else self._editor_schema()
            )
        return tools

    async def execute(self, name: str, tool_input: dict[str, Any]) -> ToolOutput:
        """Run one tool call. Failures come back as error outputs; only cancellation raises."""
        try:
            if name == BASH_TOOL and self._bash is not None:
                return await self._run_bash(self._bash, tool_input)
            if name == EDITOR_TOOL and self._editor is not None:
                return await asyncio.to_thread(self._editor.run, tool_input)
        except Exception as exc:
            log.exception("tool %s failed", name)
            return ToolOutput(
                f"The {name} tool failed unexpectedly ({type(exc).__name__}). "
                "Try again, or another way.",
                is_error=True,
            )
        available = ", ".join(tool["name"] for tool in self.definitions()) or "none"
        return ToolOutput(f"Unknown tool {name!r}. Available tools: {available}.", is_error=True)

    async def close(self) -> None:
        """Stop the shell and everything it started. Safe to call more than once."""
        if self._bash is not None:
            await self._bash.close()

    @staticmethod
    async def _run_bash(bash: BashSession, tool_input: dict[str, Any]) -> ToolOutput:
        if not isinstance(tool_input, dict):
            return ToolOutput("The bash tool input must be a JSON object.", is_error=True)
        if tool_input.get("restart") is True:
            return await bash.restart()
        command = tool_input.get("command")
        if not isinstance(command, str) or not command.strip():
            return ToolOutput(
                "The bash tool needs `command` (a non-empty string), or `restart: true`.",
                is_error=True,
            )
        return await bash.run(command)

    def _bash_schema(self) -> dict[str, Any]:
        return {
            "name": BASH_TOOL,
            "description": _BASH_DESCRIPTION.format(
                root=self._model_root, max_output=self._max_output, timeout=self._bash_timeout
            ),
            "input_schema": {
                "type": "object",
                "properties": {
                    "command": {"type": "string", "description": "The bash command to run."},
                    "restart": {
                        "type": "boolean",
                        "description": "Set to true to restart the shell instead.",
                    },
                },
                "additionalProperties": False,
            },
        }

    def _editor_schema(self) -> dict[str, Any]:
        return {
            "name": EDITOR_TOOL,
            "description": _EDITOR_DESCRIPTION.format(root=self._model_root),
            "input_schema": {
                "type": "object",
                "properties": {
                    "command": {
                        "type": "string",
                        "enum": list(EDITOR_COMMANDS),
                        "description": "The operation to perform.",
                    },
                    "path": {
                        "type": "string",
                        "description": f"Path of the file or directory, e.g. {self._model_root}"
                        "/src/main.py, or relative to the workspace.",
                    },
                    "file_text": {
                        "type": "string",
                        "description": "For `create`: the whole content of the file.",
                    },
                    "old_str": {
                        "type": "string",
                        "description": "For `str_replace`: the exact text to replace; it must "
                        "occur exactly once in the file.",
                    },
                    "new_str": {
                        "type": "string",
                        "description": "For `str_replace`: the replacement text (empty if left "
                        "out).",
                    },
                    "insert_line": {
                        "type": "integer",
                        "minimum": 0,
                        "description": "For `insert`: the line after which to insert (0 for "
                        "the beginning of the file).",
                    },
                    "insert_text": {
                        "type": "string",
                        "description": "For `insert`: the text to insert.",
                    },
                    "view_range": {
                        "type": "array",
                        "items": {"type": "integer"},
                        "minItems": 2,
                        "maxItems": 2,
                        "description": "For `view` of a file: [first, last] line numbers, "
                        "1-based and inclusive; last -1 means the end of the file.",
                    },
                },
                "required": ["command", "path"],
                "additionalProperties": False,
            },
        }
