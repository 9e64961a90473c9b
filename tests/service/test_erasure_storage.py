"""Erasure reaches the storage under the rows: the outbox's files, the replies'
Message-IDs, SQLite's free space and its write-ahead log."""

from __future__ import annotations

import email
import email.policy
import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event, select
from sqlalchemy.orm import Session

from aicmo import operator_services as ops
from aicmo.cam.db_models import InboundMessageDB
from aicmo.config import get_settings
from aicmo.db.connect import make_engine, session_factory, truncate_wal
from aicmo.operator_services.crm.workspace import ensure_workspace_defaults
from aicmo.operator_services.inbound.processing import process_inbound_message

NOTE = "Wants the Halvergate pilot priced before Easter"


def outbox_files() -> list[Path]:
    return sorted(get_settings().resolved_outbox_dir.rglob("*.eml"))


def reply(to: Path, sender: str, message_id: str) -> bytes:
    sent = email.message_from_bytes(to.read_bytes(), policy=email.policy.default)
    return (
        f"From: {sender}\r\nTo: {sent['From']}\r\nSubject: Re: {sent['Subject']}\r\n"
        f"Message-ID: {message_id}\r\nIn-Reply-To: {sent['Message-ID']}\r\n"
        f"Date: Tue, 01 Dec 2026 10:00:00 +0000\r\n\r\nYes, let's talk.\r\n"
    ).encode()


def test_forget_deletes_the_persons_outbox_files_and_only_theirs(db: Session) -> None:
    jane = ops.create_lead(db, email="jane@halvergate.example", first_name="Jane")
    bo = ops.create_lead(db, email="bo@client.example", first_name="Bo")
    for lead in (jane, bo):
        ops.send_outreach_message(db, lead["id"], "Hi {{ first_name }}", "Hello")
        ops.send_outreach_message(db, lead["id"], "Again, {{ first_name }}", "Hello again")
    assert len(outbox_files()) == 4

    result = ops.forget_person(db, "jane@halvergate.example")

    assert result["outbox_files_erased"] == 2 and result["outbox_files_left"] == []
    left = outbox_files()
    assert len(left) == 2 and all(b"bo@client.example" in p.read_bytes() for p in left)
    assert not any(b"halvergate" in p.read_bytes().lower() for p in left)


def test_forget_finds_files_written_to_an_outbox_that_has_moved_since(
    db: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The receipt recorded the path: a later AICMO_OUTBOX_DIR does not hide the file."""
    old = tmp_path / "old-outbox"
    monkeypatch.setenv("AICMO_OUTBOX_DIR", str(old))
    get_settings.cache_clear()
    jane = ops.create_lead(db, email="jane@halvergate.example", first_name="Jane")
    ops.send_outreach_message(db, jane["id"], "Hi", "Hello")
    assert len(list(old.rglob("*.eml"))) == 1
    monkeypatch.setenv("AICMO_OUTBOX_DIR", str(tmp_path / "new-outbox"))
    get_settings.cache_clear()

    assert ops.forget_person(db, "jane@halvergate.example")["outbox_files_erased"] == 1
    assert list(old.rglob("*.eml")) == []


def test_forget_hashes_the_message_ids_of_replies_and_still_knows_them(db: Session) -> None:
    jane = ops.create_lead(db, email="jane@halvergate.example", first_name="Jane")
    ops.send_outreach_message(db, jane["id"], "Hi", "Hello")
    raw = reply(
        outbox_files()[0], "Jane <jane@halvergate.example>", "<r1.x9@mx.halvergate.example>"
    )
    assert process_inbound_message(db, raw)["kind"] == "REPLY"

    assert ops.forget_person(db, "jane@halvergate.example")["inbound_blanked"] == 1

    row = db.scalar(select(InboundMessageDB))
    assert row is not None and row.kind == "REPLY"
    assert "halvergate" not in row.message_key and row.message_key.startswith("erased:")
    assert (row.from_address, row.subject, row.text) == (None, None, None)
    # Read again from the mailbox: recognised, nothing applied, nothing stored again.
    assert process_inbound_message(db, raw)["duplicate"] is True
    assert len(list(db.scalars(select(InboundMessageDB)))) == 1


@pytest.fixture
def sqlite_without_secure_delete(tmp_path: Path, sqlite_template: Path) -> Iterator[Engine]:
    """A SQLite engine whose library does not zero deleted content by default (macOS's
    and most wheels' builds; Debian's turns SECURE_DELETE on at compile time): a hook
    placed before ours turns it off on every new connection."""
    path = tmp_path / "aicmo.db"
    shutil.copy(sqlite_template, path)
    engine = make_engine(f"sqlite:///{path}")

    def library_default(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.execute("PRAGMA secure_delete=OFF")

    event.listen(engine, "connect", library_default, insert=True)
    try:
        yield engine
    finally:
        engine.dispose()


def test_erased_rows_leave_no_bytes_in_sqlite_free_space(
    sqlite_without_secure_delete: Engine, tmp_path: Path
) -> None:
    engine = sqlite_without_secure_delete
    path = Path(str(engine.url.database))
    with session_factory(engine)() as db:
        ensure_workspace_defaults(db)
        lead = ops.create_lead(
            db, email="jane@halvergate.example", first_name="Jannike", company="Halvergate"
        )
        ops.add_note(db, lead["id"], NOTE)
        ops.forget_person(db, lead["id"], outbox_dir=tmp_path / "outbox")
    # Whatever the erasure did with the WAL, move every page into the file and look there.
    raw = sqlite3.connect(path)
    try:
        raw.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
    finally:
        raw.close()
    blob = path.read_bytes().lower()
    for needle in ("jannike", "halvergate", NOTE.lower()):
        assert needle.encode() not in blob, needle


def test_the_wal_is_left_alone_while_a_reader_is_mid_read_and_emptied_after(
    tmp_path: Path, sqlite_template: Path
) -> None:
    path = tmp_path / "aicmo.db"
    shutil.copy(sqlite_template, path)
    engine = make_engine(f"sqlite:///{path}")

    @event.listens_for(engine, "connect")
    def _short_wait(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.execute("PRAGMA busy_timeout=200")

    reader = sqlite3.connect(path, isolation_level=None)
    try:
        with session_factory(engine)() as db:
            ensure_workspace_defaults(db)
            ops.create_lead(db, email="jane@halvergate.example")
        reader.execute("BEGIN")
        reader.execute("SELECT count(*) FROM leads").fetchall()
        with session_factory(engine)() as db:
            ops.create_lead(db, email="bo@client.example")
        assert truncate_wal(engine) is False
        reader.execute("COMMIT")
        assert truncate_wal(engine) is True
        assert path.with_name("aicmo.db-wal").stat().st_size == 0
    finally:
        reader.close()
        engine.dispose()
