"""A data directory made before the admin columns existed opens and keeps working."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

from service.storage import open_store
from service.storage import users as user_store
from service.storage.migrations import AUTH_COLUMNS, migrate

PASSWORD = "secret-password"


def columns(database: Path, table: str) -> list[str]:
    with sqlite3.connect(database) as connection:
        return [row[1] for row in connection.execute(f"PRAGMA table_info({table})")]


def make_previous_version(data_dir: Path) -> None:
    """Turn a data directory into what the previous release left: the users table without the
    columns added since (SQLite's DROP COLUMN gives exactly the old table)."""
    database = data_dir / "data" / "portagent.db"
    connection = sqlite3.connect(database)
    with connection:
        for column in AUTH_COLUMNS:
            connection.execute(f"ALTER TABLE {column.table} DROP COLUMN {column.name}")
    connection.close()
    assert not {c.name for c in AUTH_COLUMNS} & set(columns(database, "users"))


def test_an_old_database_gets_the_new_columns_and_its_users_sign_in(
    serve: Callable[..., Any], register_user: Callable[..., dict[str, Any]], tmp_path: Path
) -> None:
    data_dir = tmp_path / "data-dir"
    with serve() as client:
        first = register_user(client, "veteran", PASSWORD)
        register_user(client, "rookie", PASSWORD)
    make_previous_version(data_dir)
    with serve() as client:
        _, response = client.post(
            "/api/auth/login", json={"usernameOrEmail": "veteran", "password": PASSWORD}
        )
        assert response.status == 200
        assert response.json["user"]["isAdmin"] is True
        _, response = client.get(
            "/api/auth/verify", headers={"Authorization": f"Bearer {first['token']}"}
        )
        assert response.status == 200, "tokens issued before the upgrade still work"
        _, response = client.get(
            "/api/admin/users", headers={"Authorization": f"Bearer {first['token']}"}
        )
        assert [u["dailyTokenLimit"] for u in response.json["users"]] == [None, None]
    names = columns(data_dir / "data" / "portagent.db", "users")
    assert {"daily_token_limit", "token_generation"} <= set(names)


def test_migrating_is_idempotent_and_leaves_missing_files_alone(tmp_path: Path) -> None:
    auth, agent = tmp_path / "portagent.db", tmp_path / "agentx.db"
    assert migrate(auth, AUTH_COLUMNS) == []
    assert not auth.exists()
    open_store(auth, agent).close()
    assert migrate(auth, AUTH_COLUMNS) == []
    connection = sqlite3.connect(auth)
    with connection:
        connection.execute("ALTER TABLE users DROP COLUMN daily_token_limit")
    connection.close()
    assert migrate(auth, AUTH_COLUMNS) == ["users.daily_token_limit"]
    assert migrate(auth, AUTH_COLUMNS) == []
    store = open_store(auth, agent)
    try:
        assert user_store.list_users(store) == []
    finally:
        store.close()
