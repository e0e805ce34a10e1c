"""The stand-in model as a process of its own: ``python -m bench.model --tokens N --delay D``.

A benchmark's model runs apart from the harness so that streaming tokens does not compete with
the measuring client for one interpreter's GIL. It is Portagent's own stand-in
(:class:`service.standin.StandInModel`, the real Anthropic streaming wire format) answering
every request with ``--tokens`` text deltas ``--delay`` seconds apart.

A user message may carry ``[bench tokens=N delay=D]`` to change that for one request, so one
model process can serve a scenario's set-up (one-token replies) and its measured turns.

Once it listens it prints ``READY <base url>`` on stdout; SIGTERM or SIGINT stops it.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import re
import signal
import sys
from collections.abc import Sequence
from typing import Any

from service.standin import Reply, StandInModel, tokens_responder

DIRECTIVE = re.compile(r"\[bench tokens=(\d+)(?: delay=([0-9.]+))?\]")


def directive(tokens: int, delay: float = 0.0) -> str:
    """The text a message carries to ask the bench model for ``tokens`` deltas."""
    return f"[bench tokens={tokens} delay={delay:g}]"


@functools.lru_cache(maxsize=64)
def _reply(tokens: int, delay: float) -> Reply:
    # tokens_responder builds its Reply once; caching keeps that true per (tokens, delay).
    return tokens_responder(tokens, delay)({})  # type: ignore[return-value]


def _last_user_text(body: dict[str, Any]) -> str:
    messages = body.get("messages") or []
    if not messages:
        return ""
    content = messages[-1].get("content")
    if isinstance(content, str):
        return content
    return " ".join(block.get("text", "") for block in content or [] if block.get("type") == "text")


class BenchResponder:
    """Answers with the default size, or the size the last user message asks for."""

    def __init__(self, tokens: int, delay: float) -> None:
        self.tokens = tokens
        self.delay = delay

    def __call__(self, body: dict[str, Any]) -> Reply:
        asked = DIRECTIVE.search(_last_user_text(body)[-200:])
        if asked is None:
            return _reply(self.tokens, self.delay)
        return _reply(int(asked.group(1)), float(asked.group(2) or self.delay))


async def serve(tokens: int, delay: float, port: int) -> None:
    model = StandInModel(BenchResponder(tokens, delay))
    url = await model.start("127.0.0.1", port)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    print(f"READY {url}", flush=True)
    await stop.wait()
    await model.stop()


def _event_loop_factory() -> Any:
    """uvloop when installed (Sanic brings it): the model's own overhead is not what we
    measure, and the less CPU it takes the less it disturbs the server on a 2-core box."""
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.model", description=__doc__)
    parser.add_argument("--tokens", type=int, default=50, help="deltas per reply (default 50)")
    parser.add_argument("--delay", type=float, default=0.0, help="seconds between deltas")
    parser.add_argument("--port", type=int, default=0, help="listen port (0: any free one)")
    args = parser.parse_args(argv)
    if args.tokens < 1:
        parser.error("--tokens must be at least 1")
    with asyncio.Runner(loop_factory=_event_loop_factory()) as runner:
        runner.run(serve(args.tokens, args.delay, args.port))
    return 0


if __name__ == "__main__":
    sys.exit(main())
