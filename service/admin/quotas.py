"""Per-user quotas: a daily token budget and a cap on runs going at once.

``Quotas.check`` is what the session hub calls before it starts a run. A run already going is
never stopped by a quota: it may finish, and its tokens count against the next one.
"""

from __future__ import annotations

import logging
import time

from ..config import Settings
from ..errors import QuotaExceeded
from ..storage import Store, now_ms
from ..storage import users as user_store
from ..storage.usage import DAY_MS, tokens_today, utc_day_start_ms

audit = logging.getLogger("portagent.audit")


def effective_limit(settings: Settings, own_limit: int | None) -> int | None:
    """The daily token limit that applies to a user: their own, else the server's; None: none."""
    limit = settings.user_daily_token_limit if own_limit is None else own_limit
    return limit or None


def next_reset_ms(now: int) -> int:
    return utc_day_start_ms(now) + DAY_MS


def _until(reset_at: int, now: int) -> str:
    minutes = max(1, -(-(reset_at - now) // 60_000))
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if hours else f"{minutes} min"


# How long a user's own daily limit is trusted from memory. The admin API's changes apply at
# once (it calls forget); one made with the CLI while the server runs, within this time.
LIMIT_CACHE_SECONDS = 10.0


class Quotas:
    def __init__(self, settings: Settings, store: Store) -> None:
        self._settings = settings
        self._store = store
        self._own_limits: dict[str, tuple[float, int | None]] = {}

    def _own_limit(self, user_id: str) -> int | None:
        """The user's own daily limit, read at most every LIMIT_CACHE_SECONDS: the check runs
        before every run, where a database read was a tenth of what Portagent adds to the time
        to the first token."""
        now = time.monotonic()
        cached = self._own_limits.get(user_id)
        if cached is not None and now - cached[0] < LIMIT_CACHE_SECONDS:
            return cached[1]
        limit = user_store.own_daily_token_limit(self._store, user_id)
        self._own_limits[user_id] = (now, limit)
        return limit

    def forget(self, user_id: str) -> None:
        """The user's limit changed: read it again at the next check."""
        self._own_limits.pop(user_id, None)

    @property
    def max_concurrent_runs(self) -> int | None:
        return self._settings.user_max_concurrent_runs or None

    def check(self, user_id: str, running: int) -> None:
        """Refuse a new run with ``quota_exceeded``, saying when the limit lifts."""
        cap = self.max_concurrent_runs
        if cap is not None and running >= cap:
            audit.info("quota refused user=%s reason=concurrent_runs running=%d", user_id, running)
            raise QuotaExceeded(
                f"You already have {running} replies being written, the most allowed at once; "
                "send again when one of them has finished (or cancel one)"
            )
        limit = effective_limit(self._settings, self._own_limit(user_id))
        if limit is None:
            return
        now = now_ms()
        spent = tokens_today(self._store, user_id, now)
        if spent >= limit:
            audit.info("quota refused user=%s reason=daily_tokens spent=%d", user_id, spent)
            raise QuotaExceeded(
                f"Daily token limit reached: {spent:,} of {limit:,} tokens used today. "
                f"It resets at 00:00 UTC, in {_until(next_reset_ms(now), now)}"
            )
