"""Order statistics for latency samples: nearest-rank percentiles, no interpolation.

Nearest rank keeps a p99 an observed value (a real gap or latency someone saw) rather than a
blend of two, which matters when a series has only a few hundred samples.
"""

from __future__ import annotations

import math
from collections.abc import Sequence


def percentile(samples: Sequence[float], q: float) -> float | None:
    """The ``q``-th percentile (0-100) by nearest rank; None for no samples."""
    if not samples:
        return None
    ordered = sorted(samples)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def median(samples: Sequence[float]) -> float | None:
    """The middle value (the mean of the two middle ones for an even count)."""
    if not samples:
        return None
    ordered = sorted(samples)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) / 2


def gaps(stamps: Sequence[float]) -> list[float]:
    """Differences between consecutive timestamps."""
    return [later - earlier for earlier, later in zip(stamps, stamps[1:], strict=False)]
