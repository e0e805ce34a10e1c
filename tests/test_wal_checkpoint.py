"""The write-ahead logs are checkpointed off the event loop: commits never pay for it, and the
background checkpoint copies everything into the database files."""

from __future__ import annotations

import sqlite3
import uuid
from pathlib import Path

from pony.orm import db_session

from service.storage import sessions, users
from service.storage.database import FALLBACK_CHECKPOINT_PAGES, checkpoint_wal, open_store
from service.storage.sessions import MessageRecord
from service.storage.users import NewUser


def test_commits_leave_checkpoints_to_the_background_and_it_catches_up(tmp_path: Path) -> None:
    store = open_store(tmp_path / "portagent.db", tmp_path / "agentx.db")
    user = users.create_user(
        store,
        NewUser(username="wal", email=None, password_hash="x", display_name=None, avatar=None),
    )
    session = sessions.create_session(
        store, owner_id=user.id, container_id=user.container_id, title=None, system_prompt=None
    )
    with db_session:
        pages = store.agent.execute("PRAGMA wal_autocheckpoint").fetchone()[0]
    assert pages == FALLBACK_CHECKPOINT_PAGES
    text = "x" * 20_000
    for _ in range(300):  # ~6 MB: past SQLite's default of a checkpoint every 1,000 pages
        message = MessageRecord(id=uuid.uuid4().hex, run_id="r", role="user", content=text)
        assert sessions.add_message(store, session.id, message)
    wal = tmp_path / "agentx.db-wal"
    assert wal.stat().st_size > 5 * 1024 * 1024, "no commit checkpointed (and reset) the log"
    checkpoint_wal(store)
    with sqlite3.connect(tmp_path / "agentx.db") as other:  # what another reader sees
        busy, log_frames, checkpointed = other.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        assert busy == 0 and log_frames == checkpointed
        (count,) = other.execute("SELECT count(*) FROM messages").fetchone()
    assert count == 300
    store.close()
