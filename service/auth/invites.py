"""Invite codes: the daily code of the original product, and operator-made single-use codes.

The daily code is the Unix time, in seconds, of today's 00:00:01 in the server's time zone: an
operator can tell it to a colleague without any tooling. The whole string must be that number.
Operator codes are random, shown once, and stored only as a SHA-256 hash.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets

_DURATION = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
INVITE_PREFIX = "pa-"


def daily_invite_code(now: dt.datetime | None = None) -> str:
    local_now = (now or dt.datetime.now()).astimezone()
    midnight = local_now.replace(hour=0, minute=0, second=1, microsecond=0)
    return str(int(midnight.timestamp()))


def is_daily_invite_code(code: str, now: dt.datetime | None = None) -> bool:
    # ASCII digits only: str.isdigit() also accepts "١٢٣" or "²", and compare_digest refuses
    # non-ASCII strings with a TypeError.
    if not (code.isascii() and code.isdigit()):
        return False
    return secrets.compare_digest(code, daily_invite_code(now))


def new_invite_code() -> str:
    return INVITE_PREFIX + secrets.token_urlsafe(18)


def hash_invite_code(code: str) -> str:
    return hashlib.sha256(code.encode("utf-8")).hexdigest()


def parse_duration(text: str) -> int:
    """Seconds in a duration like ``30m``, ``12h``, ``7d`` or ``2w``."""
    match = _DURATION.match(text)
    if match is None or int(match.group(1)) == 0:
        raise ValueError(f"'{text}' is not a duration like 30m, 12h, 7d or 2w")
    return int(match.group(1)) * _UNIT_SECONDS[match.group(2)]
