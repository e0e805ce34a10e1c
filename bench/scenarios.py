"""The eight scenarios of issue 6. Each starts its own model and Portagent for every run.

A scenario is a function ``(size) -> ScenarioResult``. For each run it starts the bench model
(``python -m bench.model``) and Portagent (``python -m service.cli``) as processes of their
own, drives Portagent over real loopback sockets from an event loop in this process, and
pools what every run measured into metrics, each with the target issue 6 sets for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import anthropic

from .client import Accounts, BenchClient, BenchError, RunTrace
from .model import directive
from .processes import (
    BENCH_SERVER_ENV,
    ModelProcess,
    cpu_seconds,
    portagent,
    process_memory,
    raise_open_files,
    rss_mib,
)
from .results import Metric, ScenarioResult, Target
from .sizes import Size
from .stats import gaps, median, percentile

T = TypeVar("T")
MODEL = "claude-sonnet-4-5"
# The protocol's command budget is 60 at once, then 20 per second per socket: a client that
# issues many commands quickly opens a fresh socket after this many (see CommandSocket).
COMMANDS_PER_SOCKET = 50
MIN_SEND_INTERVAL = 0.06  # one user's pace when it must stay under 20 commands per second


def run_async(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a measurement on a fresh event loop (uvloop, as the server uses), so the client's
    own overhead disturbs the figures as little as it can.

    The client's cyclic garbage collector is off while it runs: the frames it keeps (40,000
    in scenario 3) made each full collection stop the client for 100-400 ms, and every
    stream's next delta was stamped that much late; a pause of the measuring process, not of
    the server. A run is bounded, so what cycles it leaves are collected right after it."""
    import uvloop

    gc.collect()
    gc.disable()
    try:
        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            return runner.run(coroutine)
    finally:
        gc.enable()
        gc.collect()


def direct_client(model: ModelProcess) -> anthropic.AsyncAnthropic:
    """The SDK client a direct caller would use, on the same HTTP transport as Portagent's
    (aiohttp: ``service.agent.provider.make_model_client``), so that "direct" is the best the
    SDK does on this machine and the difference is Portagent's own cost."""
    return anthropic.AsyncAnthropic(
        api_key="bench-key",
        base_url=model.url,
        max_retries=0,
        http_client=anthropic.DefaultAioHttpClient(),
    )


def ms(seconds: list[float]) -> list[float]:
    return [value * 1000 for value in seconds]


def expected_deltas(tokens: int) -> list[str]:
    """What the bench model streams for ``tokens`` (service.standin.tokens_responder)."""
    return [f"tok{index} " for index in range(1, tokens + 1)]


def check_whole(trace: RunTrace, tokens: int) -> None:
    if not trace.in_order(expected_deltas(tokens)):
        raise BenchError(
            f"a reply came back incomplete or out of order: {trace.terminal or 'no end'}, "
            f"{len(trace.deltas)} of {tokens} deltas"
        )


class CommandSocket:
    """A user's commands over a socket that is swapped for a fresh one before the protocol's
    per-socket command budget runs out, for set-up work that issues thousands of commands."""

    def __init__(self, ws_url: str, token: str) -> None:
        self.ws_url = ws_url
        self.token = token
        self.client: BenchClient | None = None

    async def current(self) -> BenchClient:
        if self.client is not None and self.client.commands_sent >= COMMANDS_PER_SOCKET:
            await self.client.close()
            self.client = None
        if self.client is None:
            self.client = await BenchClient.connect(self.ws_url, self.token)
        return self.client

    async def call(self, kind: str, **fields: Any) -> dict[str, Any]:
        return await (await self.current()).call(kind, **fields)

    async def run(self, session_id: str, content: str) -> RunTrace:
        return await (await self.current()).run(session_id, content)

    async def close(self) -> None:
        if self.client is not None:
            await self.client.close()


class MemoryWatch:
    """Samples a process's resident memory until stopped; keeps the peak (MiB)."""

    def __init__(self, pid: int, interval: float = 0.05) -> None:
        self.pid = pid
        self.interval = interval
        self.peak = 0.0
        self._task: asyncio.Task[None] | None = None

    async def _sample(self) -> None:
        while True:
            self.peak = max(self.peak, rss_mib(self.pid))
            await asyncio.sleep(self.interval)

    def __enter__(self) -> MemoryWatch:
        self.peak = rss_mib(self.pid)
        self._task = asyncio.get_running_loop().create_task(self._sample())
        return self

    def __exit__(self, *exc_info: object) -> None:
        assert self._task is not None
        self._task.cancel()
        self.peak = max(self.peak, rss_mib(self.pid))


def each_run(
    size: Size,
    drive: Callable[[Any, ModelProcess], Awaitable[dict[str, Any]]],
    *,
    tokens: int = 50,
    delay: float = 0.0,
    **server_env: str,
) -> list[dict[str, Any]]:
    """``size.runs`` runs, each against a fresh model and a fresh Portagent."""
    figures = []
    for _ in range(size.runs):
        with ModelProcess(tokens, delay) as model, portagent(model.url, **server_env) as server:
            figures.append(run_async(drive(server, model)))
    return figures


def pooled(figures: list[dict[str, Any]], key: str) -> list[float]:
    """One key's values from every run: lists are joined, single values collected."""
    values: list[float] = []
    for run in figures:
        value = run[key]
        values.extend(value if isinstance(value, list) else [value])
    return values


async def connect_many(ws_url: str, tokens: list[str], batch: int = 100) -> list[BenchClient]:
    clients: list[BenchClient] = []
    for start in range(0, len(tokens), batch):
        chunk = tokens[start : start + batch]
        clients.extend(await asyncio.gather(*(BenchClient.connect(ws_url, t) for t in chunk)))
    return clients


async def close_all(clients: list[BenchClient]) -> None:
    await asyncio.gather(*(client.close() for client in clients), return_exceptions=True)


# ---- 1. added latency to first token -----------------------------------------------------


async def _latency(server: Any, model: ModelProcess, size: Size) -> dict[str, Any]:
    async with Accounts(server.base) as accounts:
        token = await accounts.register("latency")
    client = await BenchClient.connect(server.ws_url, token)
    sdk = direct_client(model)
    content = directive(50)
    session: dict[str, Any] = {"id": None, "turns": 0}

    async def through_portagent() -> float:
        if session["id"] is None or session["turns"] >= size.turns_per_session:
            session["id"] = (await client.call("session.create"))["session"]["id"]
            session["turns"] = 0
        session["turns"] += 1
        trace = await client.run(session["id"], content)
        check_whole(trace, 50)
        return trace.first_token

    async def direct() -> float:
        request = {"role": "user", "content": content}
        started = time.perf_counter()
        first = 0.0
        # The SDK's lightest streaming call (Portagent's own): raw events, no snapshot.
        params = {"model": MODEL, "max_tokens": 1024, "messages": [request]}
        async with await sdk.messages.create(**params, stream=True) as stream:
            async for event in stream:
                if not first and event.type == "content_block_delta":
                    first = time.perf_counter() - started
        return first

    via, straight = [], []
    for index in range(size.latency_warmup + size.latency_pairs):
        began = time.perf_counter()
        if index % 2:  # interleaved, alternating which goes first
            one, other = await direct(), await through_portagent()
            pair = (other, one)
        else:
            pair = (await through_portagent(), await direct())
        if index >= size.latency_warmup:
            via.append(pair[0])
            straight.append(pair[1])
        await asyncio.sleep(max(0.0, MIN_SEND_INTERVAL - (time.perf_counter() - began)))
    await client.close()
    await sdk.close()
    via_ms, direct_ms = ms(via), ms(straight)
    return {
        "portagent": via_ms,
        "direct": direct_ms,
        "added_p50": median(via_ms) - median(direct_ms),
        "added_p99": percentile(via_ms, 99) - percentile(direct_ms, 99),
    }


def added_latency(size: Size) -> ScenarioResult:
    figures = each_run(size, lambda server, model: _latency(server, model, size))
    return ScenarioResult(
        name="1-latency",
        title="Added latency to first token (one user, 50-token replies, no delay)",
        runs=size.runs,
        params={"pairs_per_run": size.latency_pairs, "turns_per_session": size.turns_per_session},
        metrics=[
            Metric("first token via Portagent", "ms", pooled(figures, "portagent")),
            Metric("first token direct (SDK)", "ms", pooled(figures, "direct")),
            Metric(
                "added at p50 (per run)",
                "ms",
                pooled(figures, "added_p50"),
                [Target("max", "<=", 3)],
            ),
            Metric(
                "added at p99 (per run)",
                "ms",
                pooled(figures, "added_p99"),
                [Target("max", "<=", 10)],
            ),
        ],
    )


# ---- 2. relay throughput -------------------------------------------------------------------


async def _relay(server: Any, model: ModelProcess, size: Size) -> dict[str, Any]:
    async with Accounts(server.base) as accounts:
        token = await accounts.register("relay")
    client = await BenchClient.connect(server.ws_url, token)
    sdk = direct_client(model)
    rates, direct, whole = [], [], 0
    for index in range(size.relay_replies + 1):
        session_id = (await client.call("session.create"))["session"]["id"]
        tokens = 10 if index == 0 else size.relay_tokens  # the first reply warms up
        trace = await client.run(session_id, directive(tokens), within=300)
        check_whole(trace, tokens)
        if index:
            whole += 1
            span = trace.delta_times[-1] - trace.delta_times[0]
            rates.append((len(trace.delta_times) - 1) / span)
            direct.append(await _sdk_rate(sdk, tokens))
    await client.close()
    await sdk.close()
    return {"rate": rates, "direct": direct, "whole": whole}


async def _sdk_rate(sdk: anthropic.AsyncAnthropic, tokens: int) -> float:
    """Deltas per second the SDK's own event iterator yields from the same model, in the
    harness, with no gateway: a reference. Portagent makes the same call but reads the body
    with its own parser (service/agent/stream.py), so it is not bound by this rate."""
    params = {"model": MODEL, "max_tokens": 1024, "messages": [directive_message(tokens)]}
    stamps = []
    async with await sdk.messages.create(**params, stream=True) as stream:
        async for event in stream:
            if event.type == "content_block_delta":
                stamps.append(time.perf_counter())
    return (len(stamps) - 1) / (stamps[-1] - stamps[0])


def directive_message(tokens: int) -> dict[str, Any]:
    return {"role": "user", "content": directive(tokens)}


def relay_throughput(size: Size) -> ScenarioResult:
    figures = each_run(size, lambda server, model: _relay(server, model, size))
    return ScenarioResult(
        name="2-relay",
        title=f"Relay throughput (one session, {size.relay_tokens} tokens, no delay)",
        runs=size.runs,
        params={"tokens": size.relay_tokens, "replies_per_run": size.relay_replies},
        metrics=[
            Metric(
                "deltas delivered per second",
                "deltas/s",
                pooled(figures, "rate"),
                [Target("median", ">=", 20_000)],
                note="first to last delta at the client; one worker process",
            ),
            Metric(
                "the SDK's iterator alone, same model (reference)",
                "deltas/s",
                pooled(figures, "direct"),
                note="messages.create(stream=True) iterated in the harness, no gateway",
            ),
            Metric("replies whole and in order", "replies", pooled(figures, "whole")),
        ],
    )


# ---- 3. concurrency -------------------------------------------------------------------------


async def _streaming_users(
    server: Any, count: int, prefix: str
) -> tuple[list[BenchClient], list[str]]:
    """``count`` users, each with a socket open and a new session; the server warmed up by two
    turns of another user first (a fresh process's first turn pays one-off costs: lazy
    imports, the first model connection, pydantic's first validations)."""
    async with Accounts(server.base) as accounts:
        tokens = await accounts.register_many(prefix, count)
        warm_token = await accounts.register(f"{prefix}-warm-up")
    warm = await BenchClient.connect(server.ws_url, warm_token)
    warm_session = (await warm.call("session.create"))["session"]["id"]
    for _ in range(2):
        check_whole(await warm.run(warm_session, directive(5)), 5)
    await warm.close()
    clients = await connect_many(server.ws_url, tokens)
    sessions = await asyncio.gather(*(client.call("session.create") for client in clients))
    return clients, [data["session"]["id"] for data in sessions]


async def _concurrency(server: Any, model: ModelProcess, size: Size) -> dict[str, Any]:
    clients, sessions = await _streaming_users(server, size.users, "user")
    pid = server.process.pid
    content = directive(size.user_tokens, size.token_delay)
    started, cpu = time.perf_counter(), {"server": cpu_seconds(pid), "model": model.cpu()}
    with MemoryWatch(pid) as memory:
        traces = await asyncio.gather(
            *(
                client.run(sid, content, within=120)
                for client, sid in zip(clients, sessions, strict=True)
            ),
            return_exceptions=True,
        )
    expected = expected_deltas(size.user_tokens)
    broken = sum(
        1 for trace in traces if not isinstance(trace, RunTrace) or not trace.in_order(expected)
    )
    whole = [trace for trace in traces if isinstance(trace, RunTrace)]
    gap_ms = [gap for trace in whole for gap in ms(gaps(trace.delta_times))]
    elapsed = time.perf_counter() - started
    await close_all(clients)
    return {
        "server_cpu": (cpu_seconds(pid) - cpu["server"]) / elapsed * 100,
        "model_cpu": (model.cpu() - cpu["model"]) / elapsed * 100,
        "gap": gap_ms,
        "first": [ms([trace.first_token])[0] for trace in whole if trace.delta_times],
        "broken": broken,
        "peak_rss": memory.peak,
    }


def concurrency(size: Size) -> ScenarioResult:
    raise_open_files(size.users * 2 + 256)
    figures = each_run(size, lambda server, model: _concurrency(server, model, size))
    allowed = size.token_delay * 1000 + 20
    return ScenarioResult(
        name="3-concurrency",
        title=(
            f"Concurrency ({size.users} users streaming {size.user_tokens} tokens "
            f"at {size.token_delay * 1000:g} ms per token)"
        ),
        runs=size.runs,
        params={"users": size.users, "tokens": size.user_tokens, "token_delay": size.token_delay},
        metrics=[
            Metric(
                "gap between deltas at the client",
                "ms",
                pooled(figures, "gap"),
                [Target("p99", "<=", allowed)],
                note=f"the model's own gap is {size.token_delay * 1000:g} ms",
            ),
            Metric("first token", "ms", pooled(figures, "first")),
            Metric(
                "replies incomplete, out of order or failed",
                "replies",
                pooled(figures, "broken"),
                [Target("max", "<=", 0)],
            ),
            Metric(
                "server peak RSS", "MiB", pooled(figures, "peak_rss"), [Target("max", "<=", 300)]
            ),
            Metric(
                "server CPU while streaming",
                "% of a core",
                pooled(figures, "server_cpu"),
                note="100 % is all of one core: a single-process server's limit",
            ),
            Metric("model CPU while streaming", "% of a core", pooled(figures, "model_cpu")),
        ],
    )


# ---- 4. idle capacity -----------------------------------------------------------------------


async def _idle(server: Any, model: ModelProcess, size: Size) -> dict[str, Any]:
    async with Accounts(server.base, concurrency=16) as accounts:
        tokens = await accounts.register_many("idle", size.idle_sockets)
    pid = server.process.pid
    warm = await connect_many(server.ws_url, tokens[:10])
    await close_all(warm)
    await asyncio.sleep(0.5)
    before = rss_mib(pid)
    clients = await connect_many(server.ws_url, tokens)
    opened = rss_mib(pid)
    await asyncio.sleep(size.idle_seconds)
    answers = await asyncio.gather(*(c.call("ping") for c in clients), return_exceptions=True)
    alive = sum(1 for answer in answers if not isinstance(answer, BaseException))
    after = rss_mib(pid)
    await close_all(clients)
    grown = max(opened, after) - before
    return {
        "alive": alive,
        "lost": size.idle_sockets - alive,
        "per_socket_kib": grown * 1024 / size.idle_sockets,
        "rss_before": before,
        "rss_after": after,
    }


def idle_capacity(size: Size) -> ScenarioResult:
    limit = raise_open_files(size.idle_sockets * 2 + 512)
    if limit < size.idle_sockets * 2 + 64:
        raise BenchError(f"the open-file limit is {limit}; {size.idle_sockets} sockets need more")
    figures = each_run(size, lambda server, model: _idle(server, model, size))
    return ScenarioResult(
        name="4-idle",
        title=f"Idle capacity ({size.idle_sockets} sockets held {size.idle_seconds:g} s)",
        runs=size.runs,
        params={"sockets": size.idle_sockets, "seconds": size.idle_seconds},
        metrics=[
            Metric(
                "sockets closed or unanswering after the hold",
                "sockets",
                pooled(figures, "lost"),
                [Target("max", "<=", 0)],
            ),
            Metric(
                "server memory per socket",
                "KiB",
                pooled(figures, "per_socket_kib"),
                [Target("max", "<=", 50)],
                note="RSS growth from before the sockets opened to its highest after",
            ),
            Metric("server RSS before", "MiB", pooled(figures, "rss_before")),
            Metric("server RSS after the hold", "MiB", pooled(figures, "rss_after")),
        ],
    )


# ---- 5. login storm -------------------------------------------------------------------------


async def _keep_streaming(
    client: BenchClient, session_id: str, size: Size, stop: asyncio.Event
) -> list[RunTrace]:
    """Reply after reply until ``stop`` is set."""
    traces = []
    content = directive(size.user_tokens, size.token_delay)
    while not stop.is_set():
        trace = await client.run(session_id, content, within=120)
        check_whole(trace, size.user_tokens)
        traces.append(trace)
    return traces


def _gaps_within(traces: list[RunTrace], start: float, end: float) -> list[float]:
    """Inter-delta gaps (ms) whose later delta arrived between ``start`` and ``end``."""
    found = []
    for trace in traces:
        stamps = trace.delta_times
        for earlier, later in zip(stamps, stamps[1:], strict=False):
            if start <= later <= end:
                found.append((later - earlier) * 1000)
    return found


async def _streams_during(
    clients: list[BenchClient],
    sessions: list[str],
    size: Size,
    load: Callable[[], Awaitable[list[float]]],
) -> tuple[list[float], list[float]]:
    """Stream on every session while ``load`` runs; gaps during it, and what it returned."""
    stop = asyncio.Event()
    streams = [
        asyncio.ensure_future(_keep_streaming(client, sid, size, stop))
        for client, sid in zip(clients, sessions, strict=True)
    ]
    await asyncio.sleep(0.5)  # every stream is under way
    start = time.perf_counter()
    figures = await load()
    end = time.perf_counter()
    stop.set()
    traces = [trace for stream in await asyncio.gather(*streams) for trace in stream]
    return _gaps_within(traces, start, end), figures


async def _storm(server: Any, model: ModelProcess, size: Size) -> dict[str, Any]:
    async with Accounts(server.base) as accounts:
        names = [f"storm{index}" for index in range(size.storm_logins)]
        await asyncio.gather(*(accounts.register(name) for name in names))
    clients, sessions = await _streaming_users(server, size.storm_streams, "streamer")

    async def quiet() -> list[float]:
        await asyncio.sleep(size.storm_baseline_seconds)
        return []

    async def logins() -> list[float]:
        async with Accounts(server.base, concurrency=size.storm_logins) as accounts:
            return list(await asyncio.gather(*(accounts.login(name) for name in names)))

    calm, _ = await _streams_during(clients, sessions, size, quiet)
    stormy, login_seconds = await _streams_during(clients, sessions, size, logins)
    await close_all(clients)
    return {
        "calm": calm,
        "storm": stormy,
        "p99_rise": percentile(stormy, 99) - percentile(calm, 99),
        "login": ms(login_seconds),
    }


def login_storm(size: Size) -> ScenarioResult:
    figures = each_run(
        size,
        lambda server, model: _storm(server, model, size),
        BCRYPT_ROUNDS=str(size.storm_rounds),
    )
    return ScenarioResult(
        name="5-login-storm",
        title=(
            f"Login storm ({size.storm_logins} logins at bcrypt cost {size.storm_rounds} "
            f"while {size.storm_streams} conversations stream)"
        ),
        runs=size.runs,
        params={
            "logins": size.storm_logins,
            "streams": size.storm_streams,
            "bcrypt_rounds": size.storm_rounds,
            "tokens": size.user_tokens,
            "token_delay": size.token_delay,
        },
        notes=[
            "The baseline is the same streams in the same run with no logins (the issue's "
            "'scenario 3' p99, measured here at this scenario's size so the two compare)."
        ],
        metrics=[
            Metric("gap without logins", "ms", pooled(figures, "calm")),
            Metric("gap during the logins", "ms", pooled(figures, "storm")),
            Metric(
                "p99 gap rise during the logins (per run)",
                "ms",
                pooled(figures, "p99_rise"),
                [Target("max", "<=", 20)],
            ),
            Metric("login time", "ms", pooled(figures, "login")),
        ],
    )


# ---- 6. history at size ---------------------------------------------------------------------


async def _direct_turn(sdk: anthropic.AsyncAnthropic, messages: list[dict[str, Any]]) -> float:
    """Seconds the model itself takes for a 50-token turn with this history, called directly."""
    started = time.perf_counter()
    params = {"model": MODEL, "max_tokens": 1024, "messages": messages}
    async with await sdk.messages.create(**params, stream=True) as stream:
        async for _event in stream:
            pass
    return time.perf_counter() - started


def _history_body(turns: int) -> list[dict[str, Any]]:
    """A conversation shaped like the one Portagent sends for the long session (content as
    lists of text blocks, as stored), for the direct calls: the same bytes and the same
    structure for the SDK and the model to handle."""

    def text(value: str) -> list[dict[str, Any]]:
        return [{"type": "text", "text": value}]

    messages: list[dict[str, Any]] = []
    for index in range(turns):
        messages.append({"role": "user", "content": text(f"{directive(1)} turn {index}")})
        messages.append({"role": "assistant", "content": text("tok1 ")})
    messages.append({"role": "user", "content": text(directive(50))})
    return messages


async def _history(server: Any, model: ModelProcess, size: Size) -> dict[str, Any]:
    async with Accounts(server.base) as accounts:
        long_token = await accounts.register("historian")
        many_token = await accounts.register("collector")
    builder = CommandSocket(server.ws_url, long_token)
    long_id = (await builder.call("session.create"))["session"]["id"]
    turns = size.history_messages // 2
    for index in range(turns):
        check_whole(await builder.run(long_id, f"{directive(1)} turn {index}"), 1)
    await builder.close()
    collector = CommandSocket(server.ws_url, many_token)
    for _ in range(size.history_sessions):
        await collector.call("session.create")
    await collector.close()

    sdk = direct_client(model)
    reader = await BenchClient.connect(server.ws_url, long_token)
    lister = await BenchClient.connect(server.ws_url, many_token)
    figures: dict[str, Any] = {
        key: [] for key in ("get", "list", "long", "fresh", "dlong", "dfresh")
    }
    long_body, fresh_body = _history_body(turns), _history_body(0)
    for _ in range(size.history_samples):
        began = time.perf_counter()
        took, data = await reader.timed_call("session.get", sessionId=long_id)
        if len(data["messages"]) < size.history_messages:
            raise BenchError(f"session.get returned {len(data['messages'])} messages")
        figures["get"].append(took * 1000)
        took, data = await lister.timed_call("session.list")
        if len(data["sessions"]) != size.history_sessions:
            raise BenchError(f"session.list returned {len(data['sessions'])} sessions")
        figures["list"].append(took * 1000)
        fresh_id = (await reader.call("session.create"))["session"]["id"]
        for key, session_id in (("long", long_id), ("fresh", fresh_id)):
            trace = await reader.run(session_id, directive(50))
            check_whole(trace, 50)
            figures[key].append((trace.finished_at - trace.sent_at) * 1000)
        figures["dlong"].append(await _direct_turn(sdk, long_body) * 1000)
        figures["dfresh"].append(await _direct_turn(sdk, fresh_body) * 1000)
        await asyncio.sleep(max(0.0, 4 * MIN_SEND_INTERVAL - (time.perf_counter() - began)))
    await reader.close()
    await lister.close()
    await sdk.close()
    model_part = median(figures["dlong"]) - median(figures["dfresh"])
    figures["turn_added"] = median(figures["long"]) - median(figures["fresh"]) - model_part
    return figures


def history_at_size(size: Size) -> ScenarioResult:
    figures = each_run(size, lambda server, model: _history(server, model, size))
    return ScenarioResult(
        name="6-history",
        title=(
            f"History at size ({size.history_messages} messages in a session, "
            f"{size.history_sessions} sessions of a user)"
        ),
        runs=size.runs,
        params={
            "messages": size.history_messages,
            "sessions": size.history_sessions,
            "samples_per_run": size.history_samples,
        },
        notes=[
            "A turn is message.send to RUN_FINISHED of a 50-token reply. 'Beyond the bytes sent "
            "to the model' is taken out by calling the model directly with a history of the "
            "same shape and length and with none, and subtracting that difference."
        ],
        metrics=[
            Metric(
                "session.get, long session",
                "ms",
                pooled(figures, "get"),
                [Target("median", "<=", 50)],
            ),
            Metric(
                "session.list, 1,000 sessions",
                "ms",
                pooled(figures, "list"),
                [Target("median", "<=", 30)],
            ),
            Metric("turn in the long session", "ms", pooled(figures, "long")),
            Metric("turn in a fresh session", "ms", pooled(figures, "fresh")),
            Metric("direct turn, long history", "ms", pooled(figures, "dlong")),
            Metric("direct turn, no history", "ms", pooled(figures, "dfresh")),
            Metric(
                "long-session turn cost beyond the model's (per run)",
                "ms",
                pooled(figures, "turn_added"),
                [Target("max", "<=", 10)],
            ),
        ],
    )


# ---- 7. start-up ----------------------------------------------------------------------------


@contextlib.contextmanager
def _spawned(data_dir: Path, model_url: str, port: int) -> Iterator[subprocess.Popen[bytes]]:
    from support.server import SERVER_KEY

    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(data_dir.parent),
        "LANG": "C.UTF-8",
        "LLM_PROVIDER_KEY": SERVER_KEY,
        "LLM_PROVIDER_URL": model_url,
        "DATA_DIR": str(data_dir),
        "PORT": str(port),
        "HOST": "127.0.0.1",
        **BENCH_SERVER_ENV,
    }
    log = (data_dir.parent / f"startup-{port}.out").open("ab")
    process = subprocess.Popen(
        [sys.executable, "-m", "service.cli"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=str(data_dir.parent),
        start_new_session=True,
    )
    log.close()
    try:
        yield process
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, 9)
        process.wait(10)


def _time_to_health(data_dir: Path, model_url: str) -> float:
    """Seconds from spawning ``python -m service.cli`` to its /health answering 200."""
    from support.server import free_port

    port = free_port()
    started = time.perf_counter()
    with _spawned(data_dir, model_url, port) as process:
        deadline = started + 30
        while time.perf_counter() < deadline:
            if process.poll() is not None:
                raise BenchError(f"the server exited at start (see {data_dir.parent})")
            with (
                contextlib.suppress(OSError),
                urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1) as answer,
            ):
                if answer.status == 200:
                    return time.perf_counter() - started
            time.sleep(0.005)
    raise BenchError("the server did not answer /health within 30 s")


def startup(size: Size) -> ScenarioResult:
    first, again = [], []
    with ModelProcess() as model:
        for _ in range(size.runs * size.startups):
            with tempfile.TemporaryDirectory(prefix="portagent-bench-") as root:
                data_dir = Path(root) / "data"
                first.append(_time_to_health(data_dir, model.url) * 1000)
                again.append(_time_to_health(data_dir, model.url) * 1000)
    return ScenarioResult(
        name="7-startup",
        title="Start-up (process start to /health answering)",
        runs=size.runs,
        params={"startups_per_run": size.startups},
        notes=["'first' starts on an empty data directory (it creates the databases and secret)."],
        metrics=[
            Metric("first start", "ms", first, [Target("max", "<=", 1500)]),
            Metric("start on existing data", "ms", again, [Target("max", "<=", 1500)]),
        ],
    )


# ---- 8. memory per active conversation ------------------------------------------------------


async def _active_memory(server: Any, model: ModelProcess, size: Size) -> dict[str, Any]:
    count = size.active_conversations
    clients, sessions = await _streaming_users(server, count + 5, "talker")
    pid = server.process.pid
    # Five conversations of their own run at once first: what the first concurrent runs
    # allocate once (more model connections, buffers) is not memory per conversation.
    warm = zip(clients[count:], sessions[count:], strict=True)
    await asyncio.gather(*(client.run(sid, directive(20)) for client, sid in warm))
    clients, sessions = clients[:count], sessions[:count]
    await asyncio.sleep(0.5)
    before = process_memory(pid)["VmRSS"] / 1024
    content = directive(size.active_tokens, size.token_delay)
    runs = [
        asyncio.ensure_future(client.run(sid, content, within=120))
        for client, sid in zip(clients, sessions, strict=True)
    ]
    with MemoryWatch(pid) as memory:
        traces = await asyncio.gather(*runs)
    for trace in traces:
        check_whole(trace, size.active_tokens)
    await close_all(clients)
    return {
        "per_conversation": (memory.peak - before) * 1024 / count,
        "before": before,
        "peak": memory.peak,
    }


def active_memory(size: Size) -> ScenarioResult:
    raise_open_files(size.active_conversations * 2 + 256)
    figures = each_run(size, lambda server, model: _active_memory(server, model, size))
    return ScenarioResult(
        name="8-memory",
        title=(
            f"Memory per active conversation ({size.active_conversations} running at once, "
            "no tools)"
        ),
        runs=size.runs,
        params={
            "conversations": size.active_conversations,
            "tokens": size.active_tokens,
            "token_delay": size.token_delay,
        },
        metrics=[
            Metric(
                "RSS growth per running conversation",
                "KiB",
                pooled(figures, "per_conversation"),
                [Target("max", "<=", 2048)],
                note="peak RSS while all run, minus RSS with the same sockets and sessions idle",
            ),
            Metric("server RSS idle", "MiB", pooled(figures, "before")),
            Metric("server peak RSS", "MiB", pooled(figures, "peak")),
        ],
    )


SCENARIOS: dict[str, Callable[[Size], ScenarioResult]] = {
    "latency": added_latency,
    "relay": relay_throughput,
    "concurrency": concurrency,
    "idle": idle_capacity,
    "storm": login_storm,
    "history": history_at_size,
    "startup": startup,
    "memory": active_memory,
}
ALIASES = {str(index): name for index, name in enumerate(SCENARIOS, start=1)}
