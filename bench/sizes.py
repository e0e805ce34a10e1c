"""How big each scenario is: the full sizes of issue 6, a quicker pass, and a tiny smoke size.

``full`` is what docs/benchmarks.md publishes. ``quick`` keeps every size that a target is
stated for (users, sockets, tokens, history length) and only takes fewer samples, fewer runs
and shorter holds, so its figures are noisier but measure the same thing. ``tiny`` exists for
the smoke test: it goes through every line of a scenario in a few seconds and its figures mean
nothing.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Size:
    name: str
    runs: int
    # 1. added latency: measured pairs per run (after warm-up), turns per session
    latency_pairs: int
    latency_warmup: int
    turns_per_session: int
    # 2. relay: tokens of one reply, replies per run
    relay_tokens: int
    relay_replies: int
    # 3. concurrency (and 8. memory): users streaming at once, tokens each, seconds per token
    users: int
    user_tokens: int
    token_delay: float
    # 4. idle sockets held, seconds held
    idle_sockets: int
    idle_seconds: float
    # 5. login storm: logins at once, conversations streaming meanwhile, bcrypt cost
    storm_logins: int
    storm_streams: int
    storm_rounds: int
    storm_baseline_seconds: float
    # 6. history: messages in the long session, sessions of one user, timed samples
    history_messages: int
    history_sessions: int
    history_samples: int
    # 7. start-ups per run
    startups: int
    # 8. conversations running at once, tokens each
    active_conversations: int
    active_tokens: int


FULL = Size(
    name="full",
    runs=3,
    latency_pairs=200,
    latency_warmup=20,
    turns_per_session=10,
    relay_tokens=5000,
    relay_replies=3,
    users=200,
    user_tokens=200,
    token_delay=0.02,
    idle_sockets=2000,
    idle_seconds=60.0,
    storm_logins=50,
    storm_streams=20,
    storm_rounds=12,
    storm_baseline_seconds=6.0,
    history_messages=2000,
    history_sessions=1000,
    history_samples=30,
    startups=5,
    active_conversations=100,
    active_tokens=400,
)

QUICK = Size(
    name="quick",
    runs=1,
    latency_pairs=100,
    latency_warmup=10,
    turns_per_session=10,
    relay_tokens=5000,
    relay_replies=2,
    users=200,
    user_tokens=200,
    token_delay=0.02,
    idle_sockets=2000,
    idle_seconds=25.0,
    storm_logins=50,
    storm_streams=20,
    storm_rounds=12,
    storm_baseline_seconds=4.0,
    history_messages=2000,
    history_sessions=1000,
    history_samples=15,
    startups=3,
    active_conversations=100,
    active_tokens=400,
)

TINY = Size(
    name="tiny",
    runs=1,
    latency_pairs=4,
    latency_warmup=1,
    turns_per_session=2,
    relay_tokens=50,
    relay_replies=1,
    users=3,
    user_tokens=5,
    token_delay=0.005,
    idle_sockets=5,
    idle_seconds=0.5,
    storm_logins=3,
    storm_streams=2,
    storm_rounds=4,
    storm_baseline_seconds=0.3,
    history_messages=10,
    history_sessions=5,
    history_samples=2,
    startups=1,
    active_conversations=3,
    active_tokens=10,
)

SIZES = {size.name: size for size in (FULL, QUICK, TINY)}
