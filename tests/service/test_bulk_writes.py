"""Rows written on the driver's cursor read back exactly as rows written by the ORM."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import cast

import pytest
from sqlalchemy import Table, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from aicmo.cam.db_models import EventDB, OutreachMessageDB
from aicmo.db import bulk

AT = datetime(2026, 11, 26, 9, 30, 15, 123456, tzinfo=UTC)
EVENTS = cast(Table, EventDB.__table__)
MESSAGES = cast(Table, OutreachMessageDB.__table__)


#: What every new SENDING attempt row needs besides its key.
SENDING_ROW = {
    "workspace_id": 1,
    "channel": "EMAIL",
    "message_type": "cold_outreach",
    "retry_count": 0,
    "status": "SENDING",
    "created_at": AT,
    "updated_at": AT,
}


def _events(db: Session) -> list[EventDB]:
    db.expire_all()
    return list(db.scalars(select(EventDB).order_by(EventDB.id)))


def test_inserted_rows_read_back_like_orm_rows(db: Session) -> None:
    db.add(
        EventDB(
            type="message_sent",
            occurred_at=AT,
            recorded_at=AT,
            source="smtp",
            recipient="ann@example.com",
            reason='it\'s "quoted" and 100% ; DROP TABLE events; --',
            detail={"k": ["v", 1]},
        )
    )
    db.commit()
    plus_two = timezone(timedelta(hours=2))
    bulk.insert_rows(
        db,
        EVENTS,
        [
            {
                "source": "smtp",
                "recipient": "ann@example.com",
                "reason": 'it\'s "quoted" and 100% ; DROP TABLE events; --',
            },
            {"source": "aicmo", "recipient": None, "reason": None},
        ],
        shared={
            "workspace_id": 1,
            "type": "message_sent",
            # Another offset: stored as the same instant in UTC.
            "occurred_at": AT.astimezone(plus_two),
            "recorded_at": AT,
            "detail": {"k": ["v", 1]},
        },
    )
    db.commit()
    orm, first, second = _events(db)
    for row in (first, second):
        assert row.occurred_at == AT and row.occurred_at.tzinfo is not None
        assert row.recorded_at == AT
        assert row.detail == {"k": ["v", 1]}
    assert (first.source, first.recipient, first.reason) == (
        orm.source,
        orm.recipient,
        orm.reason,
    )
    assert (second.recipient, second.reason) == (None, None)
    # Stored the same way: a range query finds both kinds of row.
    found = db.scalars(select(EventDB.id).where(EventDB.occurred_at > AT - timedelta(seconds=1)))
    assert len(list(found)) == 3


def _messages(db: Session) -> list[OutreachMessageDB]:
    db.expire_all()
    return list(db.scalars(select(OutreachMessageDB).order_by(OutreachMessageDB.id)))


def test_updated_rows_are_found_by_key(db: Session) -> None:
    for key in ("a", "b", "c"):
        db.add(
            OutreachMessageDB(channel="EMAIL", status="SENDING", idempotency_key=key, created_at=AT)
        )
    db.commit()
    a, b, c = _messages(db)
    later = AT + timedelta(hours=1)
    bulk.update_rows(
        db,
        MESSAGES,
        [{"id": a.id, "transport": "smtp"}, {"id": c.id, "transport": None}],
        shared={"status": "SENT", "sent_at": later, "updated_at": later},
    )
    db.commit()
    a, b, c = _messages(db)
    assert (a.status, a.transport, a.sent_at) == ("SENT", "smtp", later)
    assert (b.status, b.sent_at) == ("SENDING", None)  # not in the update
    assert (c.status, c.transport, c.sent_at) == ("SENT", None, later)
    assert a.created_at == AT


def test_an_insert_must_give_every_column_that_has_a_python_default(db: Session) -> None:
    with pytest.raises(ValueError, match="created_at"):
        bulk.insert_rows(
            db,
            MESSAGES,
            [{"idempotency_key": "k", "channel": "EMAIL", "status": "SENDING"}],
            shared={"workspace_id": 1, "message_type": "x", "retry_count": 0},
        )
    assert list(db.scalars(select(OutreachMessageDB.id))) == []


def test_naive_datetimes_are_refused_as_by_the_orm(db: Session) -> None:
    with pytest.raises(ValueError, match="naive"):
        bulk.insert_rows(
            db,
            EVENTS,
            [{"occurred_at": datetime(2026, 1, 1)}],
            shared={
                "workspace_id": 1,
                "type": "x",
                "recorded_at": AT,
                "source": "aicmo",
                "detail": {},
            },
        )


def test_an_update_must_give_every_column_that_has_an_onupdate(db: Session) -> None:
    with pytest.raises(ValueError, match="updated_at"):
        bulk.update_rows(db, MESSAGES, [{"id": 1, "status": "SENT"}])


def test_a_json_none_is_stored_as_the_orm_stores_it(db: Session) -> None:
    """A per-row None goes through the column's processor too (JSON null, as the ORM)."""
    bulk.insert_rows(
        db,
        MESSAGES,
        [{"idempotency_key": "k1", "details": None}, {"idempotency_key": "k2", "details": {}}],
        shared={
            "workspace_id": 1,
            "channel": "EMAIL",
            "status": "SENDING",
            "message_type": "x",
            "retry_count": 0,
            "created_at": AT,
            "updated_at": AT,
        },
    )
    db.add(
        OutreachMessageDB(
            channel="EMAIL", status="SENDING", idempotency_key="k3", created_at=AT, details=None
        )
    )
    db.commit()
    first, second, orm = _messages(db)
    assert first.details == orm.details
    assert second.details == {}


def test_insert_returning_gives_each_new_row_its_key(
    db: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A tiny statement budget: 7 rows of 10 values go two rows per statement.
    monkeypatch.setattr(bulk, "_MAX_PARAMS", 21)
    rows = [
        {"idempotency_key": f"k{i}", "subject": f'it\'s {i}% "odd"', "body": None} for i in range(7)
    ]
    shared = SENDING_ROW
    returned = bulk.insert_returning(db, MESSAGES, rows, ("idempotency_key", "id"), shared=shared)
    db.commit()
    stored = {m.idempotency_key: m for m in _messages(db)}
    assert sorted(returned) == sorted((key, m.id) for key, m in stored.items())
    assert len(stored) == 7
    assert stored["k3"].subject == 'it\'s 3% "odd"' and stored["k3"].body is None
    assert stored["k3"].created_at == AT and stored["k3"].workspace_id == 1


def test_an_update_with_a_guard_changes_only_the_rows_that_pass_it(db: Session) -> None:
    for key, status in (("a", "SENDING"), ("b", "UNKNOWN"), ("c", "SENDING")):
        db.add(
            OutreachMessageDB(channel="EMAIL", status=status, idempotency_key=key, created_at=AT)
        )
    db.commit()
    a, b, c = _messages(db)
    later = AT + timedelta(minutes=5)
    bulk.update_rows(
        db,
        MESSAGES,
        [{"id": a.id, "transport": "smtp"}, {"id": b.id, "transport": "smtp"}],
        # The guarded column is also one that is set.
        shared={"status": "SENT", "sent_at": later, "updated_at": later},
        only_if={"status": "SENDING"},
    )
    db.commit()
    a, b, c = _messages(db)
    assert (a.status, a.transport, a.sent_at) == ("SENT", "smtp", later)
    assert (b.status, b.transport, b.sent_at) == ("UNKNOWN", None, None)
    assert (c.status, c.sent_at) == ("SENDING", None)


def test_an_update_naming_a_row_twice_is_refused(db: Session) -> None:
    with pytest.raises(ValueError, match="twice"):
        bulk.update_rows(
            db,
            MESSAGES,
            [{"id": 1, "status": "SENT"}, {"id": 1, "status": "FAILED"}],
            shared={"updated_at": AT},
        )


@pytest.mark.parametrize("keys", [[], ["b"], ["a", "c", "zz", "c"]])
def test_among_finds_what_in_finds(db: Session, keys: list[str]) -> None:
    for key in ("a", "b", "c"):
        db.add(
            OutreachMessageDB(channel="EMAIL", status="SENT", idempotency_key=key, created_at=AT)
        )
    db.commit()
    dialect = db.get_bind().dialect
    column = OutreachMessageDB.idempotency_key
    found = set(db.scalars(select(column).where(bulk.among(column, keys, dialect))))
    assert found == set(db.scalars(select(column).where(column.in_(keys)))) == set(keys) - {"zz"}
    sql = str(select(column).where(bulk.among(column, keys, dialect)).compile(dialect=dialect))
    # One parameter for the whole list on PostgreSQL.
    assert ("ANY" in sql) is (dialect.name == "postgresql")


def test_a_value_too_long_for_its_column_is_never_cut_short(db: Session) -> None:
    """PostgreSQL refuses it, as it refuses it in a plain INSERT (SQLite, which has no
    lengths, stores it whole): an explicit cast to the column's VARCHAR(n) would cut it."""
    key = "k" * 250  # idempotency_key is VARCHAR(200)
    shared = SENDING_ROW
    try:
        bulk.insert_rows(db, MESSAGES, [{"idempotency_key": key}], shared=shared)
        db.commit()
    except DBAPIError:
        db.rollback()
        assert db.get_bind().dialect.name == "postgresql"
        assert list(db.scalars(select(OutreachMessageDB.id))) == []
    else:
        assert db.get_bind().dialect.name == "sqlite"
        assert list(db.scalars(select(OutreachMessageDB.idempotency_key))) == [key]
    dialect = db.get_bind().dialect
    column = OutreachMessageDB.idempotency_key
    # No prefix match either.
    assert list(db.scalars(select(column).where(bulk.among(column, [key[:200]], dialect)))) == []


def test_postgresql_plans_each_statement_for_its_values(db: Session) -> None:
    """A generic plan for "id = ANY($1)" over a batch's ids scanned whole tables once they
    had grown: every connection plans each statement for the values it is given."""
    if db.get_bind().dialect.name != "postgresql":
        pytest.skip("a PostgreSQL setting")
    assert db.execute(text("SHOW plan_cache_mode")).scalar() == "force_custom_plan"
