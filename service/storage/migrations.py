"""Schema changes to databases made by earlier versions.

Pony's ``generate_mapping(create_tables=True)`` creates missing tables but never adds a column
to a table that exists. Each column added after the first release is listed here and added with
``ALTER TABLE`` before Pony maps the database, so a data directory of an earlier version opens
as it is. Only additive changes belong here (a new nullable column, or one with a default).
"""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path
from typing import NamedTuple

log = logging.getLogger("portagent.storage")


class Column(NamedTuple):
    table: str
    name: str
    definition: str  # the SQL after the column name in ALTER TABLE ... ADD COLUMN


AUTH_COLUMNS = (
    Column("users", "daily_token_limit", "INTEGER"),
    Column("users", "token_generation", "INTEGER NOT NULL DEFAULT 0"),
)
AGENT_COLUMNS: tuple[Column, ...] = ()


def _columns(connection: sqlite3.Connection, table: str) -> set[str] | None:
    """The table's column names, or None when the table does not exist yet."""
    rows = connection.execute(f'PRAGMA table_info("{table}")').fetchall()
    return {row[1] for row in rows} if rows else None


def migrate(path: Path, columns: tuple[Column, ...]) -> list[str]:
    """Add the missing ``columns`` to the existing tables of the SQLite file at ``path``.

    Returns ``table.column`` for each column added. A missing file or table is left alone:
    Pony creates it whole.
    """
    if not columns or not path.exists():
        return []
    added = []
    connection = sqlite3.connect(path)
    try:
        with connection:
            for column in columns:
                existing = _columns(connection, column.table)
                if existing is None or column.name in existing:
                    continue
                connection.execute(
                    f'ALTER TABLE "{column.table}" ADD COLUMN "{column.name}" {column.definition}'
                )
                added.append(f"{column.table}.{column.name}")
    finally:
        connection.close()
    if added:
        log.info("database %s: added column(s) %s", path.name, ", ".join(added))
    return added
