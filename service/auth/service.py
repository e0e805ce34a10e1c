"""Registration, login, token checks and logout: the auth domain, free of HTTP."""

from __future__ import annotations

import asyncio
import logging
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..config import Settings
from ..errors import BadRequest, Conflict, InvalidToken, RateLimited, Unauthorized
from ..storage import Store
from ..storage import users as user_store
from .invites import hash_invite_code, is_daily_invite_code
from .models import LoginRequest, RegisterRequest, UserPublic
from .passwords import DummyHash, check_password, hash_password
from .ratelimit import AuthLimits
from .tokens import TokenClaims, TokenError, decode_token, issue_token

log = logging.getLogger("portagent.auth")
audit = logging.getLogger("portagent.audit")

USERNAME_PATTERN = re.compile(r"^[A-Za-z0-9_.-]+$")
EMAIL_PATTERN = re.compile(r"^[^\s@]+@[^\s@]+\.[^\s@]+$")
USERNAME_MIN, USERNAME_MAX = 3, 64
PASSWORD_MIN, PASSWORD_MAX = 6, 256
EMAIL_MAX, DISPLAY_NAME_MAX, AVATAR_MAX = 254, 100, 2048
REGISTER_FIELDS = ("username", "password", "inviteCode", "email", "displayName", "avatar")


@dataclass(frozen=True)
class Authenticated:
    """A verified token and the active user it belongs to."""

    user: user_store.UserRecord
    claims: TokenClaims


@dataclass(frozen=True)
class SignedIn:
    token: str
    user: UserPublic


def public_user(user: user_store.UserRecord) -> UserPublic:
    return UserPublic(
        userId=user.id,
        username=user.username,
        email=user.email,
        containerId=user.container_id,
        displayName=user.display_name,
        avatar=user.avatar,
        createdAt=user.created_at,
        isAdmin=user.is_admin,
    )


def _require_strings(body: dict[str, Any], fields: tuple[str, ...]) -> None:
    for field in fields:
        value = body.get(field)
        if value is not None and not isinstance(value, str):
            raise BadRequest(f"{field} must be a string")


def _blank_to_none(value: str | None) -> str | None:
    return value if value else None


def validate_registration(body: dict[str, Any], invite_required: bool) -> RegisterRequest:
    """The product's checks, in the product's order, each with its exact message.

    The invite code itself is checked by the caller (it needs the database); this only makes
    sure one was given when it is required.
    """
    if not body.get("username") or not body.get("password"):
        raise BadRequest("Username and password are required")
    _require_strings(body, REGISTER_FIELDS)
    if invite_required and not body.get("inviteCode"):
        raise BadRequest("Invalid invite code")
    return RegisterRequest(
        username=body["username"],
        password=body["password"],
        inviteCode=_blank_to_none(body.get("inviteCode")),
        email=_blank_to_none(body.get("email")),
        displayName=_blank_to_none(body.get("displayName")),
        avatar=_blank_to_none(body.get("avatar")),
    )


def check_registration_fields(request: RegisterRequest) -> None:
    if len(request.username) < USERNAME_MIN:
        raise BadRequest(f"Username must be at least {USERNAME_MIN} characters")
    if len(request.password) < PASSWORD_MIN:
        raise BadRequest(f"Password must be at least {PASSWORD_MIN} characters")
    if request.email is not None and not EMAIL_PATTERN.match(request.email):
        raise BadRequest("Invalid email format")
    if len(request.username) > USERNAME_MAX:
        raise BadRequest(f"Username must be at most {USERNAME_MAX} characters")
    if not USERNAME_PATTERN.match(request.username):
        raise BadRequest("Username may contain only letters, digits, '_', '-' and '.'")
    if len(request.password) > PASSWORD_MAX:
        raise BadRequest(f"Password must be at most {PASSWORD_MAX} characters")
    if request.email is not None and len(request.email) > EMAIL_MAX:
        raise BadRequest(f"Email must be at most {EMAIL_MAX} characters")
    if request.displayName is not None and len(request.displayName) > DISPLAY_NAME_MAX:
        raise BadRequest(f"Display name must be at most {DISPLAY_NAME_MAX} characters")
    if request.avatar is not None and len(request.avatar) > AVATAR_MAX:
        raise BadRequest(f"Avatar must be at most {AVATAR_MAX} characters")
    for value in (request.username, request.password, request.email, request.displayName):
        if value is not None and "\x00" in value:
            raise BadRequest("Fields must not contain NUL characters")


def validate_login(body: dict[str, Any]) -> LoginRequest:
    if not body.get("usernameOrEmail") or not body.get("password"):
        raise BadRequest("Username/email and password are required")
    _require_strings(body, ("usernameOrEmail", "password"))
    return LoginRequest(usernameOrEmail=body["usernameOrEmail"], password=body["password"])


class AuthService:
    """Everything about who a client is. One instance per app, kept on ``app.ctx.auth``."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        *,
        on_user_created: Callable[[user_store.UserRecord], None] | None = None,
    ) -> None:
        assert settings.jwt_secret is not None, "prepare_data_dir settles the secret"
        self._settings = settings
        self._secret = settings.jwt_secret.get_secret_value()
        self._store = store
        self._dummy_hash = DummyHash(settings.bcrypt_rounds)
        self._on_user_created = on_user_created
        self.on_token_revoked: Callable[[str], None] | None = None
        self.limits = AuthLimits(
            settings.login_max_failures_per_account,
            settings.login_max_failures_per_address,
            settings.register_max_per_address,
        )

    @property
    def invite_code_required(self) -> bool:
        return self._settings.invite_code_required

    def workspace_dir(self, container_id: str) -> Path:
        return self._settings.containers_dir / container_id / "workspace"

    async def register(self, body: dict[str, Any], address: str) -> SignedIn:
        wait = self.limits.registrations.retry_after(address)
        if wait is not None:
            raise RateLimited(wait)
        request = validate_registration(body, self.invite_code_required)
        invite_hash = await asyncio.to_thread(self._check_invite, request.inviteCode)
        check_registration_fields(request)
        password_hash = await hash_password(request.password, self._settings.bcrypt_rounds)
        user = await asyncio.to_thread(self._create_user, request, password_hash, invite_hash)
        self.limits.registrations.record(address)
        audit.info("register user=%s address=%s", user.id, address)
        return SignedIn(token=self._issue(user), user=public_user(user))

    def _issue(self, user: user_store.UserRecord) -> str:
        return issue_token(user.id, self._secret, generation=user.token_generation)

    def _check_invite(self, code: str | None) -> str | None:
        """None when no single-use invite is to be consumed; its hash when one is."""
        if not self.invite_code_required:
            return None
        assert code is not None
        if is_daily_invite_code(code):
            return None
        code_hash = hash_invite_code(code)
        if user_store.find_usable_invite(self._store, code_hash) is None:
            raise BadRequest("Invalid invite code")
        return code_hash

    def _create_user(
        self, request: RegisterRequest, password_hash: str, invite_hash: str | None
    ) -> user_store.UserRecord:
        created: list[Path] = []

        def make_workspace(container_id: str) -> None:
            container_dir = self._settings.containers_dir / container_id
            self.workspace_dir(container_id).mkdir(parents=True)
            created.append(container_dir)

        new = user_store.NewUser(
            username=request.username,
            email=request.email,
            password_hash=password_hash,
            display_name=request.displayName,
            avatar=request.avatar,
        )
        try:
            user = user_store.create_user(
                self._store, new, invite_hash=invite_hash, make_workspace=make_workspace
            )
        except user_store.NameTaken as taken:
            label = "Username" if taken.field == "username" else "Email"
            raise Conflict(f"{label} '{taken.value}' already exists") from None
        except user_store.InviteUnusable:
            raise BadRequest("Invalid invite code") from None
        except BaseException:
            for folder in created:
                shutil.rmtree(folder, ignore_errors=True)
            raise
        if self._on_user_created is not None:
            self._on_user_created(user)
        return user

    async def login(self, body: dict[str, Any], address: str) -> SignedIn:
        request = validate_login(body)
        user = await asyncio.to_thread(
            user_store.find_user_by_login, self._store, request.usernameOrEmail
        )
        # Keyed by the account itself, so that its username and its email share one budget.
        account = ("user", user.id) if user else ("name", request.usernameOrEmail.lower())
        account_key = (account, address)
        for limit, key in (
            (self.limits.failures_per_address, address),
            (self.limits.failures_per_account, account_key),
        ):
            wait = limit.retry_after(key)
            if wait is not None:
                audit.info("login refused reason=rate_limited address=%s", address)
                raise RateLimited(wait)
        known_hash = user.password_hash if user is not None else await self._dummy_hash.get()
        password_ok = await check_password(request.password[: PASSWORD_MAX * 4], known_hash)
        if user is None or not password_ok or not user.is_active:
            self.limits.failures_per_address.record(address)
            self.limits.failures_per_account.record(account_key)
            audit.info("login failed address=%s", address)
            raise Unauthorized("Invalid credentials")
        self.limits.failures_per_account.clear(account_key)
        audit.info("login user=%s address=%s", user.id, address)
        return SignedIn(token=self._issue(user), user=public_user(user))

    def authenticate(self, token: str | None) -> Authenticated:
        """The active user a token belongs to; raises ``InvalidToken`` otherwise.

        Synchronous and short (two primary-key lookups), so it is fine on the event loop.
        """
        if not token:
            raise InvalidToken()
        try:
            claims = decode_token(token, self._secret)
        except TokenError:
            raise InvalidToken() from None
        if user_store.is_token_revoked(self._store, claims.jti):
            raise InvalidToken()
        user = user_store.get_user(self._store, claims.user_id)
        if user is None or not user.is_active or claims.generation != user.token_generation:
            raise InvalidToken()
        return Authenticated(user=user, claims=claims)

    def logout(self, token: str | None) -> None:
        """Revoke a valid token until it expires; anything else is quietly ignored."""
        if not token:
            return
        try:
            claims = decode_token(token, self._secret)
        except TokenError:
            return
        user_store.revoke_token(self._store, claims.jti, claims.expires_at * 1000)
        if self.on_token_revoked is not None:
            self.on_token_revoked(claims.jti)
        audit.info("logout user=%s jti=%s", claims.user_id, claims.jti[:8])

    def prune(self) -> None:
        removed = user_store.prune_revoked_tokens(self._store)
        if removed:
            log.debug("forgot %d expired token revocations", removed)
