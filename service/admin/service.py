"""What admins do: list users with their usage, (de)activate them, reset passwords, set
quotas, manage invite codes. Free of HTTP; every action is written to the audit log."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from ..auth.invites import hash_invite_code, new_invite_code, parse_duration
from ..auth.passwords import hash_password
from ..auth.service import PASSWORD_MAX, PASSWORD_MIN, Authenticated, AuthService
from ..config import Settings
from ..errors import BadRequest, Forbidden, NotFoundError, Unauthorized
from ..storage import Store, now_ms
from ..storage import users as user_store
from ..storage.usage import DAY_MS, DayUsage, usage_by_day, utc_date, utc_day_start_ms
from .models import (
    AdminUsageResponse,
    AdminUser,
    DayCounts,
    Invite,
    InviteCreatedResponse,
    TokenCounts,
    UsageResponse,
    UserDayUsage,
)
from .quotas import Quotas, effective_limit, next_reset_ms

audit = logging.getLogger("portagent.audit")

MAX_USAGE_DAYS = 366
MAX_INVITE_USES = 1000
NOTE_MAX = 200
USER_USAGE_DAYS = 7


def counts(input_tokens: int, output_tokens: int) -> TokenCounts:
    return TokenCounts(
        inputTokens=input_tokens,
        outputTokens=output_tokens,
        totalTokens=input_tokens + output_tokens,
    )


def _day_counts(day: DayUsage) -> DayCounts:
    return DayCounts(
        date=day.date,
        inputTokens=day.input_tokens,
        outputTokens=day.output_tokens,
        totalTokens=day.total_tokens,
    )


def invite_view(record: user_store.InviteRecord) -> Invite:
    return Invite(
        id=record.id,
        uses=record.uses,
        maxUses=record.max_uses,
        expiresAt=record.expires_at,
        createdAt=record.created_at,
        revoked=record.revoked,
        usable=record.usable,
        note=record.note,
    )


def admin_users(
    settings: Settings, store: Store, running: Callable[[str], int] = lambda _user_id: 0
) -> list[AdminUser]:
    """Every user, oldest first, with today's usage (also used by ``portagent user list``)."""
    today = {
        day.user_id: day
        for day in usage_by_day(store, since_ms=utc_day_start_ms(now_ms()))
        if day.date == utc_date(now_ms())
    }
    users = []
    for user in user_store.list_users(store):
        spent = today.get(user.id)
        used = counts(spent.input_tokens, spent.output_tokens) if spent else counts(0, 0)
        users.append(
            AdminUser(
                userId=user.id,
                username=user.username,
                email=user.email,
                displayName=user.display_name,
                createdAt=user.created_at,
                isAdmin=user.is_admin,
                isActive=user.is_active,
                dailyTokenLimit=user.daily_token_limit,
                effectiveDailyTokenLimit=effective_limit(settings, user.daily_token_limit),
                runningRuns=running(user.id),
                usageToday=used,
            )
        )
    return users


def _parse_days(raw: str | None) -> int:
    if raw is None or raw == "":
        return 7
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= MAX_USAGE_DAYS:
        raise BadRequest(f"days must be a whole number from 1 to {MAX_USAGE_DAYS}")
    return int(raw)


class AdminService:
    """One per app (``app.ctx.admin``). ``stop_user`` ends a user's sockets and runs."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        auth: AuthService,
        *,
        running: Callable[[str], int],
        stop_user: Callable[[str, str], None],
    ) -> None:
        self._settings = settings
        self._store = store
        self._auth = auth
        self._running = running
        self._stop_user = stop_user
        self.quotas = Quotas(settings, store)

    # ---- who may ------------------------------------------------------------------------

    def authenticate(self, token: str | None) -> Authenticated:
        if not token:
            raise Unauthorized("Unauthorized")
        return self._auth.authenticate(token)

    def require_admin(self, token: str | None) -> Authenticated:
        authenticated = self.authenticate(token)
        if not authenticated.user.is_admin:
            audit.info("admin refused user=%s reason=not_admin", authenticated.user.id)
            raise Forbidden("Forbidden")
        return authenticated

    # ---- users --------------------------------------------------------------------------

    def users(self) -> list[AdminUser]:
        return admin_users(self._settings, self._store, self._running)

    def _user_view(self, user_id: str) -> AdminUser:
        for user in self.users():
            if user.userId == user_id:
                return user
        raise NotFoundError("No such user")

    def _existing(self, user_id: str) -> user_store.UserRecord:
        user = user_store.get_user(self._store, user_id)
        if user is None:
            raise NotFoundError("No such user")
        return user

    def set_active(self, admin: Authenticated, user_id: str, active: bool) -> AdminUser:
        self._existing(user_id)
        if not active and user_id == admin.user.id:
            raise BadRequest("You cannot deactivate your own account")
        user_store.set_active(self._store, user_id, active)
        if not active:
            self._stop_user(user_id, "account deactivated")
        action = "activate" if active else "deactivate"
        audit.info("admin action=%s admin=%s user=%s", action, admin.user.id, user_id)
        return self._user_view(user_id)

    async def reset_password(
        self, admin: Authenticated, user_id: str, body: dict[str, Any]
    ) -> None:
        self._existing(user_id)
        password = body.get("password")
        if not isinstance(password, str) or not password:
            raise BadRequest("password is required and must be a string")
        if not PASSWORD_MIN <= len(password) <= PASSWORD_MAX:
            raise BadRequest(f"Password must be {PASSWORD_MIN}-{PASSWORD_MAX} characters")
        if "\x00" in password:
            raise BadRequest("Fields must not contain NUL characters")
        password_hash = await hash_password(password, self._settings.bcrypt_rounds)
        # A new token generation: every token issued before stops working; sockets close.
        await asyncio.to_thread(user_store.set_password_hash, self._store, user_id, password_hash)
        self._stop_user(user_id, "password reset")
        audit.info("admin action=reset_password admin=%s user=%s", admin.user.id, user_id)

    def set_quota(self, admin: Authenticated, user_id: str, body: dict[str, Any]) -> AdminUser:
        self._existing(user_id)
        if "dailyTokenLimit" not in body:
            raise BadRequest("dailyTokenLimit is required (a number of tokens, 0, or null)")
        limit = body["dailyTokenLimit"]
        if limit is not None and (
            isinstance(limit, bool) or not isinstance(limit, int) or not 0 <= limit < 2**62
        ):
            raise BadRequest("dailyTokenLimit must be a non-negative whole number or null")
        user_store.set_daily_token_limit(self._store, user_id, limit)
        self.quotas.forget(user_id)
        audit.info(
            "admin action=set_quota admin=%s user=%s daily_token_limit=%s",
            admin.user.id,
            user_id,
            "default" if limit is None else limit,
        )
        return self._user_view(user_id)

    # ---- invites ------------------------------------------------------------------------

    def invites(self) -> list[Invite]:
        return [invite_view(record) for record in user_store.list_invites(self._store)]

    def create_invite(self, admin: Authenticated, body: dict[str, Any]) -> InviteCreatedResponse:
        uses = body.get("uses", 1)
        if isinstance(uses, bool) or not isinstance(uses, int) or not 1 <= uses <= MAX_INVITE_USES:
            raise BadRequest(f"uses must be a whole number from 1 to {MAX_INVITE_USES}")
        expires_in, note = body.get("expiresIn"), body.get("note")
        if expires_in is not None and not isinstance(expires_in, str):
            raise BadRequest("expiresIn must be a string such as 12h or 7d")
        if note is not None and (not isinstance(note, str) or len(note) > NOTE_MAX):
            raise BadRequest(f"note must be a string of at most {NOTE_MAX} characters")
        if note is not None and "\x00" in note:
            raise BadRequest("Fields must not contain NUL characters")
        try:
            lifetime = parse_duration(expires_in) if expires_in else None
        except ValueError as error:
            raise BadRequest(str(error)) from None
        if lifetime is not None and lifetime > 10 * 366 * 86400:
            raise BadRequest("expiresIn must be at most ten years")
        code = new_invite_code()
        record = user_store.create_invite(
            self._store,
            hash_invite_code(code),
            max_uses=uses,
            expires_at=now_ms() + lifetime * 1000 if lifetime else None,
            note=note or None,
        )
        audit.info("admin action=invite_create admin=%s invite=%s", admin.user.id, record.id)
        return InviteCreatedResponse(code=code, invite=invite_view(record))

    def revoke_invite(self, admin: Authenticated, invite_id: str) -> None:
        if not user_store.revoke_invite(self._store, invite_id):
            raise NotFoundError("No such invite code")
        audit.info("admin action=invite_revoke admin=%s invite=%s", admin.user.id, invite_id)

    # ---- usage --------------------------------------------------------------------------

    def usage(self, raw_days: str | None) -> AdminUsageResponse:
        days = _parse_days(raw_days)
        now = now_ms()
        since = utc_day_start_ms(now) - (days - 1) * DAY_MS
        names = {user.id: user.username for user in user_store.list_users(self._store)}
        rows = usage_by_day(self._store, since_ms=since)
        return AdminUsageResponse(
            since=utc_date(since),
            until=utc_date(now),
            days=[
                UserDayUsage(
                    userId=row.user_id,
                    username=names.get(row.user_id),
                    date=row.date,
                    inputTokens=row.input_tokens,
                    outputTokens=row.output_tokens,
                    totalTokens=row.total_tokens,
                )
                for row in rows
            ],
            total=counts(
                sum(row.input_tokens for row in rows), sum(row.output_tokens for row in rows)
            ),
        )

    def user_usage(self, user: user_store.UserRecord) -> UsageResponse:
        now = now_ms()
        today_start = utc_day_start_ms(now)
        rows = usage_by_day(
            self._store, since_ms=today_start - (USER_USAGE_DAYS - 1) * DAY_MS, user_id=user.id
        )
        today_date = utc_date(now)
        today = next((row for row in rows if row.date == today_date), None)
        spent = today.total_tokens if today else 0
        limit = effective_limit(self._settings, user.daily_token_limit)
        return UsageResponse(
            today=_day_counts(today)
            if today
            else DayCounts(date=today_date, inputTokens=0, outputTokens=0, totalTokens=0),
            days=[_day_counts(row) for row in rows],
            dailyTokenLimit=limit,
            remainingTokens=max(0, limit - spent) if limit is not None else None,
            resetsAt=next_reset_ms(now),
            maxConcurrentRuns=self.quotas.max_concurrent_runs,
        )
