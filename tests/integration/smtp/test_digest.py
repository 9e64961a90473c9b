"""The weekly digest through a real SMTP server on loopback (aiosmtpd): what arrives, who
gets it, the local outbox when no mailbox is named, and the worker's weekly send that a
restart never repeats (SQLite and PostgreSQL)."""

from __future__ import annotations

import email
import email.policy
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from aicmo.cam.db_models import EventDB
from aicmo.cam.domain.rates import rate
from aicmo.config import get_settings
from aicmo.errors import NotFoundError, ValidationError
from aicmo.operator_services import accounts
from aicmo.operator_services.analytics.digest import send_digest, send_scheduled_digest
from aicmo.operator_services.channels.email import close_transports
from aicmo.operator_services.channels.mailboxes import add_mailbox
from aicmo.operator_services.uow import utcnow
from aicmo.worker import WorkerOptions, tick
from tests.integration.smtp.conftest import StartServer
from tests.report_data import ACTIVITY, seed_activity

#: The digest is sent on this day: its week is DAY-7 .. DAY-1, where the activity is.
TODAY = date(2026, 3, 9)
FIRST = TODAY - timedelta(days=7)
NOW = datetime(2026, 3, 9, 8, 5, tzinfo=UTC)
PASSWORD = "a-long-enough-password-1"


@pytest.fixture(autouse=True)
def _close_connections() -> Iterator[None]:
    yield
    close_transports()


def _mailbox(db: Session, port: int) -> None:
    add_mailbox(
        db,
        "ops",
        "reports@agency.example",
        from_name="aicmo reports",
        smtp_host="127.0.0.1",
        smtp_port=port,
        smtp_security="none",
    )


def _parts(raw: bytes) -> tuple[EmailMessage, str, str]:
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(msg, EmailMessage)
    text = msg.get_body(("plain",))
    html = msg.get_body(("html",))
    assert text is not None and html is not None
    return msg, text.get_content().replace("\r\n", "\n"), html.get_content()


def _events(db: Session, type_: str) -> list[EventDB]:
    db.expire_all()
    return list(db.scalars(select(EventDB).where(EventDB.type == type_)))


def test_the_digest_arrives_with_each_campaigns_week_and_its_change(
    db: Session, smtp_server: StartServer
) -> None:
    server = smtp_server("plain")
    _mailbox(db, server.port)
    seed_activity(db, FIRST, name="Spring <b>outreach</b>")
    accounts.add_user(db, "lead@agency.example", PASSWORD, role="viewer", workspace_id=1)

    result = send_digest(
        db, to=["boss@agency.example"], users=["LEAD@agency.example"], mailbox="ops", now=NOW
    )

    assert result["transport"] == "smtp" and result["delivered"] is True
    assert (result["since"], result["until"]) == (FIRST, TODAY - timedelta(days=1))
    assert sorted(r for m in server.received for r in m.rcpt_tos) == [
        "boss@agency.example",
        "lead@agency.example",
    ]
    msg, text, html = _parts(server.received[0].content)
    assert msg["From"].addresses[0].addr_spec == "reports@agency.example"
    assert msg["Subject"].startswith("Weekly digest: 2026-03-02 to 2026-03-08")
    sent = sum(c.get("MESSAGE_SENT", 0) for c in ACTIVITY.values())  # type: ignore[call-overload]
    replied = sum(c.get("REPLY_RECEIVED", 0) for c in ACTIVITY.values())  # type: ignore[call-overload]
    # Seeded noise: 1000 sends the day before FIRST (the week before) and 1000 three days
    # after the last activity (this week).
    week = sent + 1000
    assert f"Spring <b>outreach</b>\n  Sent: {week} (+{week - 1000} on the week before)" in text
    assert f"Reply rate: {rate(replied, week):.2f} % (+{rate(replied, week):.2f} pt" in text
    assert "Spring <b>outreach</b> (other)\n  Sent: 15 (+15 on the week before)" in text
    assert "Spring &lt;b&gt;outreach&lt;/b&gt;" in html and "<b>outreach" not in html
    [event] = _events(db, "DIGEST_SENT")
    assert event.detail["transport"] == "smtp" and event.detail["sent"] == 2


def test_without_a_mailbox_it_is_written_to_the_outbox_and_not_called_delivered(
    db: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AICMO_OUTBOX_DIR", str(tmp_path / "outbox"))
    get_settings.cache_clear()
    seed_activity(db, FIRST)
    result = send_digest(db, to=["boss@agency.example"], now=NOW)
    assert result["transport"] == "outbox" and result["delivered"] is False
    [item] = result["sent"]
    assert "not delivered" in item["response"]
    assert Path(item["path"]).is_file() and Path(item["path"]).is_relative_to(tmp_path)
    assert b"Spring outreach" in Path(item["path"]).read_bytes()
    [event] = _events(db, "DIGEST_SENT")
    assert event.detail["transport"] == "outbox"


def test_bad_recipients_and_mailboxes_are_refused_before_anything_is_sent(
    db: Session, smtp_server: StartServer
) -> None:
    server = smtp_server("plain")
    _mailbox(db, server.port)
    outsider = accounts.create_workspace(db, "elsewhere")
    accounts.add_user(
        db, "other@agency.example", PASSWORD, role="admin", workspace_id=outsider["id"]
    )
    with pytest.raises(ValidationError):
        send_digest(db, to=["not an address"], mailbox="ops", now=NOW)
    with pytest.raises(NotFoundError, match="not a member"):
        send_digest(db, users=["other@agency.example"], mailbox="ops", now=NOW)
    with pytest.raises(NotFoundError):
        send_digest(db, users=["nobody@agency.example"], mailbox="ops", now=NOW)
    with pytest.raises(NotFoundError):
        send_digest(db, to=["boss@agency.example"], mailbox="missing", now=NOW)
    with pytest.raises(ValidationError, match="at least one recipient"):
        send_digest(db, mailbox="ops", now=NOW)
    assert server.received == []
    assert _events(db, "DIGEST_SENT") == []


def _schedule(monkeypatch: pytest.MonkeyPatch, when: datetime, **extra: str) -> None:
    monkeypatch.setenv("AICMO_DIGEST_TO", "boss@agency.example, second@agency.example")
    monkeypatch.setenv("AICMO_DIGEST_MAILBOX", "ops")
    monkeypatch.setenv("AICMO_DIGEST_WEEKDAY", when.strftime("%A"))
    monkeypatch.setenv("AICMO_DIGEST_HOUR", str(when.hour))
    for name, value in extra.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()


def test_the_worker_sends_the_weekly_digest_once_whatever_restarts(
    db: Session, smtp_server: StartServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = smtp_server("plain")
    _mailbox(db, server.port)
    seed_activity(db, FIRST)
    now = utcnow()
    _schedule(monkeypatch, now)
    options = WorkerOptions(once=True)
    for _ in range(2):  # a tick, then a "restarted" worker's tick
        tick(
            db,
            "w1",
            options=options,
            started_at=now,
            poll_linkedin_now=False,
            poll_mail=False,
            sweep_tasks=True,
        )
        close_transports()
    assert sorted(r for m in server.received for r in m.rcpt_tos) == [
        "boss@agency.example",
        "second@agency.example",
    ]
    assert len(_events(db, "DIGEST_ATTEMPTED")) == 1
    assert len(_events(db, "DIGEST_SENT")) == 1
    # Later the same week: still nothing more.
    assert send_scheduled_digest(db, now=utcnow() + timedelta(days=2)) is None
    assert len(server.received) == 2
    # Unset, the worker sends nothing.
    monkeypatch.delenv("AICMO_DIGEST_TO")
    get_settings.cache_clear()
    assert send_scheduled_digest(db, now=utcnow() + timedelta(days=8)) is None


def test_a_failed_weekly_send_is_retried_later_and_then_given_up(
    db: Session, closed_port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    _mailbox(db, closed_port)
    slot = datetime(2026, 3, 9, 8, tzinfo=UTC)
    _schedule(monkeypatch, slot)
    first = send_scheduled_digest(db, now=slot + timedelta(minutes=1))
    assert first is not None and first["sent"] == [] and first["delivered"] is False
    assert [f["to"] for f in first["failed"]] == ["boss@agency.example", "second@agency.example"]
    assert send_scheduled_digest(db, now=slot + timedelta(minutes=5)) is None  # too soon
    second = send_scheduled_digest(db, now=slot + timedelta(minutes=20))
    third = send_scheduled_digest(db, now=slot + timedelta(minutes=40))
    assert second is not None and third is not None
    assert send_scheduled_digest(db, now=slot + timedelta(hours=3)) is None  # given up
    assert len(_events(db, "DIGEST_ATTEMPTED")) == 3
    assert len(_events(db, "DIGEST_FAILED")) == 3
    # Next week's slot starts afresh.
    assert send_scheduled_digest(db, now=slot + timedelta(days=7, minutes=1)) is not None
