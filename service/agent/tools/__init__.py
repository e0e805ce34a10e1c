"""The agent's tools: a persistent bash shell and a text editor, confined to one workspace.

They have the names and input shapes of Anthropic's client tools (``bash_20250124`` and
``text_editor_20250728``). Nothing here knows about HTTP, sockets or databases.
"""

from .base import ToolOutput
from .bash import BashSession
from .editor import FileEditor
from .sandbox import SANDBOX_WORKSPACE, SandboxUnavailable, detect_sandbox
from .toolbox import BASH_TOOL, EDITOR_TOOL, TOOL_FORMATS, TOOL_SETS, Toolbox

__all__ = [
    "BASH_TOOL",
    "EDITOR_TOOL",
    "SANDBOX_WORKSPACE",
    "TOOL_FORMATS",
    "TOOL_SETS",
    "BashSession",
    "FileEditor",
    "SandboxUnavailable",
    "ToolOutput",
    "Toolbox",
    "detect_sandbox",
]
