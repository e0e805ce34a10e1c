"""Pony entities, the only place they are declared.

Nothing outside ``service.storage`` touches an entity: the storage functions return plain
dataclasses. Timestamps are milliseconds since the epoch in 64-bit columns.
"""

from __future__ import annotations

from pony.orm import Database, Json, LongStr, Optional, PrimaryKey, Required, Set, composite_index


def define_auth_entities(db: Database) -> None:
    """portagent.db: who may sign in."""

    class User(db.Entity):
        _table_ = "users"
        id = PrimaryKey(str)
        username = Required(str, 64)
        username_key = Required(str, 64, unique=True)
        email = Optional(str, 254, nullable=True)
        email_key = Optional(str, 254, unique=True, nullable=True)
        password_hash = Required(str)
        display_name = Optional(str, 100, nullable=True)
        avatar = Optional(str, 2048, nullable=True)
        container_id = Required(str, unique=True)
        is_active = Required(bool, default=True)
        is_admin = Required(bool, default=False)
        created_at = Required(int, size=64)
        # Added after the first release: see ``migrations.AUTH_COLUMNS``.
        daily_token_limit = Optional(int, size=64, nullable=True)
        token_generation = Required(int, size=64, default=0)

    class RevokedToken(db.Entity):
        _table_ = "revoked_tokens"
        jti = PrimaryKey(str)
        expires_at = Required(int, size=64, index=True)

    class InviteCode(db.Entity):
        _table_ = "invite_codes"
        id = PrimaryKey(str)
        code_hash = Required(str, unique=True)
        max_uses = Required(int)
        uses = Required(int, default=0)
        expires_at = Optional(int, size=64, nullable=True)
        created_at = Required(int, size=64)
        revoked = Required(bool, default=False)
        note = Optional(str, 200, nullable=True)

    _ = (User, RevokedToken, InviteCode)


def define_agent_entities(db: Database) -> None:
    """agentx.db: each user's container and conversations."""

    class Container(db.Entity):
        _table_ = "containers"
        id = PrimaryKey(str)
        user_id = Required(str, unique=True)
        created_at = Required(int, size=64)
        sessions = Set("ChatSession")

    class ChatSession(db.Entity):
        _table_ = "sessions"
        id = PrimaryKey(str)
        container = Required(Container)
        owner_id = Required(str, index=True)
        title = Required(str, 200)
        title_locked = Required(bool, default=False)
        system_prompt = Optional(LongStr, nullable=True, autostrip=False)
        created_at = Required(int, size=64)
        updated_at = Required(int, size=64)
        message_count = Required(int, default=0)
        last_seq = Required(int, size=64, default=0)
        messages = Set("ChatMessage", cascade_delete=True)
        runs = Set("Run", cascade_delete=True)
        composite_index(owner_id, updated_at)

    class Run(db.Entity):
        _table_ = "runs"
        id = PrimaryKey(str)
        session = Required(ChatSession)
        status = Required(str, 16)
        error_code = Optional(str, 64, nullable=True)
        error_message = Optional(str, 2000, nullable=True)
        usage = Optional(Json, nullable=True)
        started_at = Required(int, size=64)
        ended_at = Optional(int, size=64, nullable=True)
        composite_index(session, started_at)

    class ChatMessage(db.Entity):
        _table_ = "messages"
        id = PrimaryKey(str)
        session = Required(ChatSession)
        run_id = Required(str, index=True)
        position = Required(int, size=64)
        role = Required(str, 16)
        content = Optional(LongStr, default="", autostrip=False)
        tool_calls = Optional(Json, nullable=True)
        tool_call_id = Optional(str, 128, nullable=True)
        is_error = Required(bool, default=False)
        extra = Optional(Json, nullable=True)
        usage = Optional(Json, nullable=True)
        created_at = Required(int, size=64)
        composite_index(session, position)

    _ = (Container, ChatSession, Run, ChatMessage)
