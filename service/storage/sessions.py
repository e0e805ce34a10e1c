"""Conversations, their messages and runs: short synchronous units of work on agentx.db.

Every function that takes an ``owner_id`` answers only for that owner's sessions: another
user's session is indistinguishable from one that does not exist.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field, replace
from typing import Any

import orjson
from pony.orm import db_session, select

from .database import Store, blank, now_ms

DEFAULT_TITLE = "New conversation"
TITLE_MAX = 200
SEQ_RESERVATION = 1000


@dataclass(frozen=True)
class SessionRecord:
    id: str
    owner_id: str
    title: str
    title_locked: bool
    system_prompt: str | None
    created_at: int
    updated_at: int
    message_count: int
    last_seq: int


@dataclass(frozen=True)
class MessageRecord:
    """One stored message, in AG-UI terms (role user, assistant, tool or reasoning).

    ``blocks`` holds the exact Anthropic content blocks the message stands for, so that the
    conversation sent to the model after a restart is the one the model saw.
    """

    id: str
    run_id: str
    role: str
    content: str
    blocks: list[dict[str, Any]] = field(default_factory=list)
    tool_calls: list[dict[str, Any]] | None = None
    tool_call_id: str | None = None
    is_error: bool = False
    usage: dict[str, int] | None = None
    created_at: int = 0


@dataclass(frozen=True)
class RunRecord:
    id: str
    session_id: str
    status: str
    error_code: str | None
    error_message: str | None
    usage: dict[str, int] | None
    started_at: int
    ended_at: int | None
    message_ids: list[str]


def _session_record(row) -> SessionRecord:  # noqa: ANN001 - a Pony entity
    return SessionRecord(
        id=row.id,
        owner_id=row.owner_id,
        title=row.title,
        title_locked=row.title_locked,
        system_prompt=row.system_prompt,
        created_at=row.created_at,
        updated_at=row.updated_at,
        message_count=row.message_count,
        last_seq=row.last_seq,
    )


def _message_record(row) -> MessageRecord:  # noqa: ANN001 - a Pony entity
    extra = row.extra or {}
    return MessageRecord(
        id=row.id,
        run_id=row.run_id,
        role=row.role,
        content=row.content or "",
        blocks=list(extra.get("blocks", [])),
        tool_calls=list(row.tool_calls) if row.tool_calls else None,
        tool_call_id=row.tool_call_id,
        is_error=row.is_error,
        usage=dict(row.usage) if row.usage else None,
        created_at=row.created_at,
    )


def _owned(store: Store, owner_id: str, session_id: str):  # noqa: ANN202 - a Pony entity
    if blank(session_id):
        return None
    row = store.agent.ChatSession.get(id=session_id)
    if row is None or row.owner_id != owner_id:
        return None
    return row


@db_session
def create_session(
    store: Store,
    *,
    owner_id: str,
    container_id: str,
    title: str | None,
    system_prompt: str | None,
) -> SessionRecord:
    now = now_ms()
    container = store.agent.Container.get(id=container_id)
    if container is None:  # a user created before containers existed: give them one now
        container = store.agent.Container(id=container_id, user_id=owner_id, created_at=now)
    row = store.agent.ChatSession(
        id=str(uuid.uuid4()),
        container=container,
        owner_id=owner_id,
        title=(title or DEFAULT_TITLE)[:TITLE_MAX],
        title_locked=bool(title),
        system_prompt=system_prompt,
        created_at=now,
        updated_at=now,
        last_seq=SEQ_RESERVATION,
    )
    # A new session reserves seq 1..SEQ_RESERVATION; it starts counting at 1.
    record = _session_record(row)
    return SessionRecord(**{**record.__dict__, "last_seq": 0})


# The three listings below read columns with SQL rather than loading Pony entities: building an
# entity (with its Json attributes tracked) costs ~0.2 ms a row, which made a 2,000-message
# session take ~0.5 s to load, on every turn and every session.get. Identifiers are quoted and
# parameters are Pony's $names, so the SQL is the same for SQLite and PostgreSQL.
_SESSION_COLUMNS = (
    '"id", "owner_id", "title", "title_locked", "system_prompt", "created_at", "updated_at", '
    '"message_count", "last_seq"'
)
_MESSAGE_COLUMNS = (
    '"id", "run_id", "role", "content", "tool_calls", "tool_call_id", "is_error", "extra", '
    '"usage", "created_at"'
)


def _json(value: Any) -> Any:
    """A JSON column as Python: SQLite gives text, PostgreSQL's driver an already parsed value."""
    return json.loads(value) if isinstance(value, str | bytes) else value


@db_session
def list_sessions(store: Store, owner_id: str) -> list[SessionRecord]:
    rows = store.agent.select(
        f'SELECT {_SESSION_COLUMNS} FROM "sessions" WHERE "owner_id" = $owner_id '
        'ORDER BY "updated_at" DESC, "created_at" DESC',
        {},
        {"owner_id": owner_id},
    )
    return [_session_from_row(row) for row in rows]


def _session_from_row(row: Any) -> SessionRecord:
    return SessionRecord(
        id=row[0],
        owner_id=row[1],
        title=row[2],
        title_locked=bool(row[3]),
        system_prompt=row[4],
        created_at=row[5],
        updated_at=row[6],
        message_count=row[7],
        last_seq=row[8],
    )


def _session_by_id(store: Store, session_id: str) -> SessionRecord | None:
    rows = store.agent.select(
        f'SELECT {_SESSION_COLUMNS} FROM "sessions" WHERE "id" = $session_id',
        {},
        {"session_id": session_id},
    )
    return _session_from_row(rows[0]) if rows else None


# The functions every message.send and every turn runs (get_session, start_run, add_message,
# finish_run) use SQL too: through entities each cost 0.2-0.9 ms (the session's system_prompt
# is a lazily loaded LongStr, a second query), which was most of what Portagent added to the
# time to a reply's first token (docs/benchmarks.md, scenario 1). JSON columns are written the
# way Pony writes them on SQLite (compact, sorted keys, UTF-8).


def _json_text(value: Any) -> str | None:
    return None if value is None else orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()


@db_session
def get_session(store: Store, owner_id: str, session_id: str) -> SessionRecord | None:
    if blank(session_id):
        return None
    record = _session_by_id(store, session_id)
    return record if record is not None and record.owner_id == owner_id else None


@db_session
def get_session_any_owner(store: Store, session_id: str) -> SessionRecord | None:
    row = None if blank(session_id) else store.agent.ChatSession.get(id=session_id)
    return _session_record(row) if row is not None else None


@db_session
def rename_session(
    store: Store, owner_id: str, session_id: str, title: str
) -> SessionRecord | None:
    row = _owned(store, owner_id, session_id)
    if row is None:
        return None
    row.title = title[:TITLE_MAX]
    row.title_locked = True
    row.updated_at = now_ms()
    return _session_record(row)


@db_session
def delete_session(store: Store, owner_id: str, session_id: str) -> bool:
    row = _owned(store, owner_id, session_id)
    if row is None:
        return False
    row.delete()
    return True


@db_session
def reserve_seq(store: Store, session_id: str, at_least: int) -> int:
    """Raise the session's stored seq mark to cover ``at_least`` plus a block of spares.

    The stored mark is always above every seq handed out, so after a crash counting resumes
    above anything a client may have seen; a clean stop writes the exact value back.
    """
    row = store.agent.ChatSession.get(id=session_id)
    if row is None:
        return at_least
    row.last_seq = max(row.last_seq, at_least + SEQ_RESERVATION)
    return row.last_seq


@db_session
def store_exact_seq(store: Store, session_id: str, last_seq: int) -> None:
    row = store.agent.ChatSession.get(id=session_id)
    if row is not None:
        row.last_seq = last_seq


@db_session
def start_run(store: Store, session_id: str, user_message: MessageRecord) -> SessionRecord | None:
    """Create the run and commit its user message; name the session after it if unnamed.
    None when the session no longer exists.

    The run starts at the message's ``created_at`` when it has one (so that the caller knows
    the stored value), else now."""
    record = _session_by_id(store, session_id)
    if record is None:
        return None
    now = user_message.created_at or now_ms()
    store.agent.execute(
        'INSERT INTO "runs" ("id", "session", "status", "started_at") '
        "VALUES ($run_id, $session_id, 'running', $now)",
        {},
        {"run_id": user_message.run_id, "session_id": session_id, "now": now},
    )
    title = record.title
    if not record.title_locked and title == DEFAULT_TITLE:
        title = shorten_title(user_message.content)
    return _insert_message(store, record, user_message, now, title=title)


def shorten_title(text: str, limit: int = 60) -> str:
    """A message on one line (whitespace collapsed), cut at a word boundary near ``limit``."""
    line = " ".join(text.split())
    if len(line) <= limit:
        return line or DEFAULT_TITLE
    cut = line[:limit].rsplit(" ", 1)[0] if " " in line[:limit] else line[:limit]
    return cut.rstrip(" ,.;:") + "…"


def _insert_message(
    store: Store, record: SessionRecord, message: MessageRecord, now: int, *, title: str
) -> SessionRecord:
    """Append a message to the session (the next position) and touch the session."""
    position = record.message_count + 1
    store.agent.execute(
        'INSERT INTO "messages" ("id", "session", "run_id", "position", "role", "content", '
        '"tool_calls", "tool_call_id", "is_error", "extra", "usage", "created_at") VALUES '
        "($id, $session_id, $run_id, $position, $role, $content, $tool_calls, $tool_call_id, "
        "$is_error, $extra, $usage, $created_at)",
        {},
        {
            "id": message.id,
            "session_id": record.id,
            "run_id": message.run_id,
            "position": position,
            "role": message.role,
            "content": message.content,
            "tool_calls": _json_text(message.tool_calls),
            "tool_call_id": message.tool_call_id,
            "is_error": message.is_error,
            "extra": _json_text({"blocks": message.blocks} if message.blocks else None),
            "usage": _json_text(message.usage),
            "created_at": message.created_at or now,
        },
    )
    store.agent.execute(
        'UPDATE "sessions" SET "message_count" = $position, "updated_at" = $now, '
        '"title" = $title WHERE "id" = $session_id',
        {},
        {"position": position, "now": now, "title": title, "session_id": record.id},
    )
    return replace(record, message_count=position, updated_at=now, title=title)


@db_session
def add_message(store: Store, session_id: str, message: MessageRecord) -> bool:
    """Commit one finished message; False when the session was deleted meanwhile."""
    record = _session_by_id(store, session_id)
    if record is None:
        return False
    _insert_message(store, record, message, now_ms(), title=record.title)
    return True


@db_session
def finish_run(
    store: Store,
    run_id: str,
    *,
    status: str,
    error_code: str | None,
    error_message: str | None,
    usage: dict[str, int] | None,
) -> tuple[SessionRecord, RunRecord] | None:
    """Record how a run ended; the session and the run as stored (the run's ``message_ids``
    are not read here: empty)."""
    rows = store.agent.select(
        'SELECT "session", "started_at" FROM "runs" WHERE "id" = $run_id', {}, {"run_id": run_id}
    )
    if not rows:
        return None
    session_id, started_at = rows[0]
    now = now_ms()
    error_message = error_message[:2000] if error_message else None
    store.agent.execute(
        'UPDATE "runs" SET "status" = $status, "error_code" = $error_code, '
        '"error_message" = $error_message, "usage" = $usage, "ended_at" = $now '
        'WHERE "id" = $run_id',
        {},
        {
            "status": status,
            "error_code": error_code,
            "error_message": error_message,
            "usage": _json_text(usage),
            "now": now,
            "run_id": run_id,
        },
    )
    store.agent.execute(
        'UPDATE "sessions" SET "updated_at" = $now WHERE "id" = $session_id',
        {},
        {"now": now, "session_id": session_id},
    )
    record = _session_by_id(store, session_id)
    assert record is not None, "a run's session is deleted with it (cascade)"
    finished = RunRecord(
        id=run_id,
        session_id=session_id,
        status=status,
        error_code=error_code,
        error_message=error_message,
        usage=dict(usage) if usage else None,
        started_at=started_at,
        ended_at=now,
        message_ids=[],
    )
    return record, finished


@db_session
def list_messages(store: Store, session_id: str) -> list[MessageRecord]:
    rows = store.agent.select(
        f'SELECT {_MESSAGE_COLUMNS} FROM "messages" WHERE "session" = $session_id '
        'ORDER BY "position"',
        {},
        {"session_id": session_id},
    )
    records = []
    for row in rows:
        extra, tool_calls, usage = _json(row[7]) or {}, _json(row[4]), _json(row[8])
        records.append(
            MessageRecord(
                id=row[0],
                run_id=row[1],
                role=row[2],
                content=row[3] or "",
                blocks=list(extra.get("blocks", [])),
                tool_calls=list(tool_calls) if tool_calls else None,
                tool_call_id=row[5],
                is_error=bool(row[6]),
                usage=dict(usage) if usage else None,
                created_at=row[9],
            )
        )
    return records


@db_session
def list_runs(store: Store, session_id: str) -> list[RunRecord]:
    message_ids: dict[str, list[str]] = {}
    params = {"session_id": session_id}
    for run_id, message_id in store.agent.select(
        'SELECT "run_id", "id" FROM "messages" WHERE "session" = $session_id ORDER BY "position"',
        {},
        params,
    ):
        message_ids.setdefault(run_id, []).append(message_id)
    runs = store.agent.select(
        'SELECT "id", "status", "error_code", "error_message", "usage", "started_at", "ended_at" '
        'FROM "runs" WHERE "session" = $session_id ORDER BY "started_at"',
        {},
        params,
    )
    return [
        RunRecord(
            id=run_id,
            session_id=session_id,
            status=status,
            error_code=error_code,
            error_message=error_message,
            usage=dict(_json(usage) or {}) or None,
            started_at=started_at,
            ended_at=ended_at,
            message_ids=message_ids.get(run_id, []),
        )
        for run_id, status, error_code, error_message, usage, started_at, ended_at in runs
    ]


def _usage_of_run(store: Store, run_id: str) -> dict[str, int]:
    """The sum of the usage kept with a run's messages (for a run that never finished)."""
    total: dict[str, int] = {}
    for usage in select(m.usage for m in store.agent.ChatMessage if m.run_id == run_id):
        for key, value in (usage or {}).items():
            total[key] = total.get(key, 0) + int(value)
    return total


@db_session
def interrupt_unfinished_runs(store: Store, message: str) -> list[tuple[str, str]]:
    """Mark runs left ``running`` by a crash as interrupted; return (session id, run id) pairs."""
    now = now_ms()
    interrupted = []
    for run in select(r for r in store.agent.Run if r.status == "running"):
        run.status = "interrupted"
        run.error_code = "interrupted"
        run.error_message = message
        run.ended_at = now
        run.usage = _usage_of_run(store, run.id)
        interrupted.append((run.session.id, run.id))
    return interrupted
