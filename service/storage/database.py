"""Opening Portagent's two SQLite databases.

Pony binds a ``Database`` once, so each app gets fresh ``Database`` objects with their own
entity classes (see ``entities``); tests can then run many apps, each on its own data
directory, in one process.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from pony.orm import Database, db_session

from .entities import define_agent_entities, define_auth_entities
from .migrations import AGENT_COLUMNS, AUTH_COLUMNS, Column, migrate


@dataclass(frozen=True)
class Store:
    """The two databases: ``auth`` (portagent.db: users, tokens, invites) and ``agent``
    (agentx.db: containers, sessions, messages, runs)."""

    auth: Database
    agent: Database

    def close(self) -> None:
        for database in (self.auth, self.agent):
            database.disconnect()


def _with_pragmas(database: Database) -> None:
    @database.on_connect(provider="sqlite")
    def _configure(_database: Database, connection) -> None:  # noqa: ANN001 - DB-API object
        cursor = connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
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
        auth=_bind(auth, auth_path, AUTH_COLUMNS), agent=_bind(agent, agent_path, AGENT_COLUMNS)
    )


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
