"""Token usage per user and UTC day, summed from the usage stored with each message.

The agent stores each model call's usage with the last message it produced, so the sum of a
user's messages created on a day is what the model reported for that day. Input counts every
prompt token charged: uncached, read from the prompt cache and written to it.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

from pony.orm import db_session

from .database import Store

INPUT_KEYS = ("inputTokens", "cacheReadTokens", "cacheWriteTokens")
DAY_MS = 86_400_000


@dataclass(frozen=True)
class DayUsage:
    user_id: str
    date: str  # YYYY-MM-DD, UTC
    input_tokens: int
    output_tokens: int

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens


def utc_day_start_ms(now_ms: int) -> int:
    return now_ms - now_ms % DAY_MS


def utc_date(ms: int) -> str:
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC).date().isoformat()


def _tokens(raw: str | dict | None) -> tuple[int, int]:
    usage = json.loads(raw) if isinstance(raw, str) else raw
    if not isinstance(usage, dict):
        return 0, 0
    spent_in = sum(int(usage.get(key) or 0) for key in INPUT_KEYS)
    return spent_in, int(usage.get("outputTokens") or 0)


@db_session
def usage_by_day(store: Store, *, since_ms: int, user_id: str | None = None) -> list[DayUsage]:
    """Each (user, UTC day) with usage since ``since_ms``, oldest day first.

    A message created since then belongs to a session updated since then, which lets SQLite
    use the sessions' (owner_id, updated_at) index instead of reading every message.
    """
    if user_id is None:
        rows = store.agent.select(
            "SELECT s.owner_id, m.created_at, m.usage FROM sessions s "
            "JOIN messages m ON m.session = s.id "
            "WHERE s.updated_at >= $since_ms AND m.created_at >= $since_ms "
            "AND m.usage IS NOT NULL"
        )
    else:
        rows = store.agent.select(
            "SELECT s.owner_id, m.created_at, m.usage FROM sessions s "
            "JOIN messages m ON m.session = s.id "
            "WHERE s.owner_id = $user_id AND s.updated_at >= $since_ms "
            "AND m.created_at >= $since_ms AND m.usage IS NOT NULL"
        )
    totals: dict[tuple[str, str], list[int]] = {}
    for owner_id, created_at, raw in rows:
        spent_in, spent_out = _tokens(raw)
        entry = totals.setdefault((owner_id, utc_date(created_at)), [0, 0])
        entry[0] += spent_in
        entry[1] += spent_out
    return [
        DayUsage(user_id=owner, date=date, input_tokens=sums[0], output_tokens=sums[1])
        for (owner, date), sums in sorted(totals.items(), key=lambda item: item[0][1])
    ]


def tokens_today(store: Store, user_id: str, now_ms: int) -> int:
    """Input plus output tokens the user has spent since 00:00 UTC."""
    days = usage_by_day(store, since_ms=utc_day_start_ms(now_ms), user_id=user_id)
    return sum(day.total_tokens for day in days)
