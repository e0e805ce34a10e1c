"""Users, revoked tokens and invite codes: short synchronous units of work."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass

from pony.orm import TransactionIntegrityError, db_session, select

from .database import Store, blank, now_ms


@dataclass(frozen=True)
class UserRecord:
    id: str
    username: str
    email: str | None
    password_hash: str
    display_name: str | None
    avatar: str | None
    container_id: str
    is_active: bool
    is_admin: bool
    created_at: int
    daily_token_limit: int | None = None  # None: the server's USER_DAILY_TOKEN_LIMIT
    token_generation: int = 0  # tokens of another generation (``gen`` claim) are refused


@dataclass(frozen=True)
class NewUser:
    username: str
    email: str | None
    password_hash: str
    display_name: str | None
    avatar: str | None


@dataclass(frozen=True)
class InviteRecord:
    id: str
    max_uses: int
    uses: int
    expires_at: int | None
    created_at: int
    revoked: bool
    note: str | None

    @property
    def usable(self) -> bool:
        return (
            not self.revoked
            and self.uses < self.max_uses
            and (self.expires_at is None or self.expires_at > now_ms())
        )


USERNAME_KEY_MAX = 64
EMAIL_KEY_MAX = 254


class NameTaken(Exception):
    """A username or email already belongs to someone (compared case-insensitively)."""

    def __init__(self, field: str, value: str) -> None:
        super().__init__(f"{field} {value!r} taken")
        self.field = field
        self.value = value


class InviteUnusable(Exception):
    """The single-use invite code was used up, revoked or expired in the meantime."""


def _record(user) -> UserRecord:  # noqa: ANN001 - a Pony entity
    return UserRecord(
        id=user.id,
        username=user.username,
        email=user.email,
        password_hash=user.password_hash,
        display_name=user.display_name,
        avatar=user.avatar,
        container_id=user.container_id,
        is_active=user.is_active,
        is_admin=user.is_admin,
        created_at=user.created_at,
        daily_token_limit=user.daily_token_limit,
        token_generation=user.token_generation,
    )


def _invite_record(invite) -> InviteRecord:  # noqa: ANN001 - a Pony entity
    return InviteRecord(
        id=invite.id,
        max_uses=invite.max_uses,
        uses=invite.uses,
        expires_at=invite.expires_at,
        created_at=invite.created_at,
        revoked=invite.revoked,
        note=invite.note,
    )


def _check_free(store: Store, new: NewUser) -> None:
    user_table = store.auth.User
    if user_table.get(username_key=new.username.lower()) is not None:
        raise NameTaken("username", new.username)
    if new.email and user_table.get(email_key=new.email.lower()) is not None:
        raise NameTaken("email", new.email)


def create_user(
    store: Store,
    new: NewUser,
    *,
    invite_hash: str | None = None,
    make_workspace: Callable[[str], None] | None = None,
) -> UserRecord:
    """Create the user, their container row and (through ``make_workspace``) their folder.

    All of it happens or none of it: the invite use, the rows in both databases and the folder
    are undone together when any part fails (``make_workspace`` must clean up after itself if it
    raises; the folder is removed by the caller when the commit fails).
    """
    try:
        with db_session:
            _check_free(store, new)
            if invite_hash is not None:
                _consume_invite(store, invite_hash)
            created_at = now_ms()
            user_id = str(uuid.uuid4())
            container_id = f"user-{uuid.uuid4()}"
            is_first = not select(u for u in store.auth.User).exists()
            user = store.auth.User(
                id=user_id,
                username=new.username,
                username_key=new.username.lower(),
                email=new.email,
                email_key=new.email.lower() if new.email else None,
                password_hash=new.password_hash,
                display_name=new.display_name,
                avatar=new.avatar,
                container_id=container_id,
                is_admin=is_first,
                created_at=created_at,
            )
            store.agent.Container(id=container_id, user_id=user_id, created_at=created_at)
            record = _record(user)
            if make_workspace is not None:
                make_workspace(container_id)
            return record
    except TransactionIntegrityError:
        # Lost a race with a concurrent registration of the same name or email.
        with db_session:
            _check_free(store, new)
        raise


def _consume_invite(store: Store, code_hash: str) -> None:
    invite = store.auth.InviteCode.get(code_hash=code_hash)
    if invite is None or not _invite_record(invite).usable:
        raise InviteUnusable()
    invite.uses += 1


@db_session
def get_user(store: Store, user_id: str) -> UserRecord | None:
    user = None if blank(user_id) else store.auth.User.get(id=user_id)
    return _record(user) if user is not None else None


@db_session
def own_daily_token_limit(store: Store, user_id: str) -> int | None:
    """The user's own daily token limit; None when they have none (the server's applies) or do
    not exist. One column by SQL: this runs before every run starts."""
    rows = store.auth.select(
        'SELECT "daily_token_limit" FROM "users" WHERE "id" = $user_id', {}, {"user_id": user_id}
    )
    return rows[0] if rows else None


@db_session
def find_user_by_login(store: Store, username_or_email: str) -> UserRecord | None:
    # Pony strips str values and validates their length before it queries: a blank or
    # over-long key would raise (a 500) instead of matching nobody.
    key = username_or_email.strip().lower()
    if not key or len(key) > EMAIL_KEY_MAX:
        return None
    user = store.auth.User.get(username_key=key) if len(key) <= USERNAME_KEY_MAX else None
    if user is None and "@" in key:
        user = store.auth.User.get(email_key=key)
    return _record(user) if user is not None else None


@db_session
def count_users(store: Store) -> int:
    return select(u for u in store.auth.User).count()


@db_session
def revoke_token(store: Store, jti: str, expires_at_ms: int) -> None:
    if store.auth.RevokedToken.get(jti=jti) is None:
        store.auth.RevokedToken(jti=jti, expires_at=expires_at_ms)


@db_session
def is_token_revoked(store: Store, jti: str) -> bool:
    return store.auth.RevokedToken.get(jti=jti) is not None


@db_session
def prune_revoked_tokens(store: Store) -> int:
    """Forget revocations of tokens that have expired anyway."""
    cutoff = now_ms()
    return store.auth.RevokedToken.select(lambda t: t.expires_at < cutoff).delete(bulk=True)


@db_session
def create_invite(
    store: Store, code_hash: str, *, max_uses: int, expires_at: int | None, note: str | None
) -> InviteRecord:
    invite = store.auth.InviteCode(
        id=uuid.uuid4().hex[:12],
        code_hash=code_hash,
        max_uses=max_uses,
        expires_at=expires_at,
        created_at=now_ms(),
        note=note,
    )
    return _invite_record(invite)


@db_session
def find_usable_invite(store: Store, code_hash: str) -> InviteRecord | None:
    invite = store.auth.InviteCode.get(code_hash=code_hash)
    if invite is None:
        return None
    record = _invite_record(invite)
    return record if record.usable else None


@db_session
def list_invites(store: Store) -> list[InviteRecord]:
    invites = store.auth.InviteCode.select().order_by(lambda i: i.created_at)
    return [_invite_record(invite) for invite in invites]


@db_session
def revoke_invite(store: Store, invite_id: str) -> bool:
    invite = None if blank(invite_id) else store.auth.InviteCode.get(id=invite_id)
    if invite is None:
        return False
    invite.revoked = True
    return True


@db_session
def list_users(store: Store) -> list[UserRecord]:
    users = store.auth.User.select().order_by(lambda u: u.created_at)
    return [_record(user) for user in users]


def _update(store: Store, user_id: str, **values: object) -> UserRecord | None:
    with db_session:
        user = None if blank(user_id) else store.auth.User.get(id=user_id)
        if user is None:
            return None
        user.set(**values)
        return _record(user)


def set_active(store: Store, user_id: str, active: bool) -> UserRecord | None:
    return _update(store, user_id, is_active=active)


def set_admin(store: Store, user_id: str, admin: bool) -> UserRecord | None:
    return _update(store, user_id, is_admin=admin)


def set_daily_token_limit(store: Store, user_id: str, limit: int | None) -> UserRecord | None:
    return _update(store, user_id, daily_token_limit=limit)


@db_session
def set_password_hash(store: Store, user_id: str, password_hash: str) -> UserRecord | None:
    """A new password, and a new token generation: every token issued before stops working."""
    user = None if blank(user_id) else store.auth.User.get(id=user_id)
    if user is None:
        return None
    user.password_hash = password_hash
    user.token_generation += 1
    return _record(user)
