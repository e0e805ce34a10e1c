"""Opening Portagent's two SQLite databases.

Pony binds a ``Database`` once, so each app gets fresh ``Database`` objects with their own
entity classes (see ``entities``); tests can then run many apps, each on its own data
directory, in one process.
"""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from pony.orm import Database, db_session

from .entities import define_agent_entities, define_auth_entities
from .migrations import AGENT_COLUMNS, AUTH_COLUMNS, Column, migrate

FALLBACK_CHECKPOINT_PAGES = 20_000  # 80 MB of write-ahead log with 4 KiB pages
CHECKPOINT_SECONDS = 2.0


@dataclass(frozen=True)
class Store:
    """The two databases: ``auth`` (portagent.db: users, tokens, invites) and ``agent``
    (agentx.db: containers, sessions, messages, runs)."""

    auth: Database
    agent: Database
    files: tuple[Path, ...] = ()

    def close(self) -> None:
        for database in (self.auth, self.agent):
            database.disconnect()


def _with_pragmas(database: Database) -> None:
    @database.on_connect(provider="sqlite")
    def _configure(_database: Database, connection) -> None:  # noqa: ANN001 - DB-API object
        cursor = connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        # Checkpoints run in a worker thread (checkpoint_wal); a commit on the event loop only
        # checkpoints itself if those fall far behind (SQLite's default is every 1,000 pages,
        # which made one commit in a hundred turns stall every stream for the fsync, ~17 ms).
        cursor.execute(f"PRAGMA wal_autocheckpoint={FALLBACK_CHECKPOINT_PAGES}")
        cursor.execute("PRAGMA busy_timeout=5000")
        cursor.execute("PRAGMA foreign_keys=ON")


def _bind(database: Database, path: Path, columns: tuple[Column, ...]) -> Database:
    migrate(path, columns)
    _with_pragmas(database)
    database.bind(provider="sqlite", filename=str(path.resolve()), create_db=True)
    database.generate_mapping(create_tables=True)
    return database


def open_store(auth_path: Path, agent_path: Path) -> Store:
    auth = Database()
    define_auth_entities(auth)
    agent = Database()
    define_agent_entities(agent)
    return Store(
        auth=_bind(auth, auth_path, AUTH_COLUMNS),
        agent=_bind(agent, agent_path, AGENT_COLUMNS),
        files=(auth_path.resolve(), agent_path.resolve()),
    )


def checkpoint_wal(store: Store) -> None:
    """Copy what the write-ahead logs hold into the databases (a PASSIVE checkpoint: it waits
    for no one and blocks no writer). Meant for a worker thread, every CHECKPOINT_SECONDS: its
    fsync then never runs on the event loop. A connection of its own: Pony's would be inside a
    transaction, where SQLite refuses to checkpoint."""
    for path in store.files:
        connection = sqlite3.connect(path, timeout=5)
        try:
            connection.execute("PRAGMA wal_checkpoint(PASSIVE)")
        finally:
            connection.close()


def store_answers(store: Store) -> bool:
    """Both databases open and answering a query."""
    try:
        with db_session:
            store.auth.select("1")
            store.agent.select("1")
    except Exception:
        return False
    return True


def blank(key: str) -> bool:
    """Pony strips str values before it looks them up, and refuses an empty key with a
    ValueError: a blank id from a client must match nothing instead."""
    return not key.strip()


def now_ms() -> int:
    return int(time.time() * 1000)
