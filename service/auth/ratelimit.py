"""In-memory sliding-window limits for logins and registrations.

Limits live in the server process (Portagent runs one process per data directory). Memory is
bounded: expired entries are dropped as they are met and the table never holds more than
``max_keys`` keys (the oldest go first).
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Hashable


class SlidingWindowLimit:
    """At most ``limit`` events per key within ``window`` seconds; ``limit`` 0 means no limit."""

    def __init__(
        self,
        limit: int,
        window: float,
        *,
        max_keys: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limit = limit
        self.window = window
        self._max_keys = max_keys
        self._clock = clock
        self._events: OrderedDict[Hashable, deque[float]] = OrderedDict()

    def _live(self, key: Hashable) -> deque[float] | None:
        events = self._events.get(key)
        if events is None:
            return None
        cutoff = self._clock() - self.window
        while events and events[0] <= cutoff:
            events.popleft()
        if not events:
            del self._events[key]
            return None
        return events

    def retry_after(self, key: Hashable) -> int | None:
        """Seconds until ``key`` may try again, or None when it is under the limit."""
        if self.limit <= 0:
            return None
        events = self._live(key)
        if events is None or len(events) < self.limit:
            return None
        return max(1, math.ceil(events[-self.limit] + self.window - self._clock()))

    def record(self, key: Hashable) -> None:
        if self.limit <= 0:
            return
        events = self._live(key)
        if events is None:
            events = self._events[key] = deque()
        events.append(self._clock())
        self._events.move_to_end(key)
        while len(events) > self.limit:
            events.popleft()
        while len(self._events) > self._max_keys:
            self._events.popitem(last=False)

    def clear(self, key: Hashable) -> None:
        self._events.pop(key, None)


class AuthLimits:
    """The three limits of the auth API, sized from settings."""

    FAILURE_WINDOW = 5 * 60
    REGISTER_WINDOW = 60 * 60

    def __init__(self, per_account: int, per_address: int, registrations: int) -> None:
        self.failures_per_account = SlidingWindowLimit(per_account, self.FAILURE_WINDOW)
        self.failures_per_address = SlidingWindowLimit(per_address, self.FAILURE_WINDOW)
        self.registrations = SlidingWindowLimit(registrations, self.REGISTER_WINDOW)
