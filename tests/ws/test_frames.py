"""The text frames the server builds itself are byte for byte what the websockets library
builds, at every length encoding (7-bit, 16-bit and 64-bit payload lengths)."""

from __future__ import annotations

import pytest
from websockets.frames import Frame, Opcode

from service.ws.frames import text_frame


@pytest.mark.parametrize("size", [0, 1, 125, 126, 127, 65535, 65536, 300_001])
def test_text_frame_matches_the_websockets_library(size: int) -> None:
    message = "é" * (size // 2) + "a" * (size % 2)  # multi-byte UTF-8, so bytes != characters
    expected = Frame(Opcode.TEXT, message.encode()).serialize(mask=False, extensions=[])
    assert text_frame(message) == expected
