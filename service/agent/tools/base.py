"""Pieces shared by every tool: the result type and output capping."""

from __future__ import annotations

import codecs
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ToolOutput:
    """What a tool call gives back to the model (one `tool_result` block)."""

    content: str
    is_error: bool = False


def truncation_note(total_chars: int, shown_chars: int) -> str:
    """The line appended to output that was cut, so the model knows it saw only a part."""
    return f"[output truncated: {total_chars} characters, showing the first {shown_chars}]"


def cap_text(text: str, max_chars: int, hint: str = "") -> str:
    """Return `text`, or its first `max_chars` characters plus a truncation note."""
    if len(text) <= max_chars:
        return text
    note = truncation_note(len(text), max_chars)
    if hint:
        note = f"{note} {hint}"
    return f"{text[:max_chars]}\n{note}"


class OutputLimiter:
    """Decode a byte stream as UTF-8, keeping only the first `max_chars` characters.

    Everything is counted, so the truncation note can say how much there was, but memory
    stays bounded however much a command prints.
    """

    def __init__(self, max_chars: int) -> None:
        self._max_chars = max_chars
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._parts: list[str] = []
        self.kept_chars = 0
        self.total_chars = 0

    def feed(self, data: bytes, *, final: bool = False) -> None:
        text = self._decoder.decode(data, final)
        self.total_chars += len(text)
        room = self._max_chars - self.kept_chars
        if room > 0 and text:
            piece = text[:room]
            self._parts.append(piece)
            self.kept_chars += len(piece)

    def finish(self) -> str:
        """Flush the decoder and return the kept text (without any note)."""
        self.feed(b"", final=True)
        return "".join(self._parts)

    @property
    def truncated(self) -> bool:
        return self.total_chars > self.kept_chars
