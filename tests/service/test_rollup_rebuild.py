"""The daily rollups rebuilt from the events equal the rollups bumped as the events
landed, row for row, whatever happened: sends through the engine, bounces and replies
through inbound processing, categorisations and their corrections, operator tasks (a
LinkedIn step and a contact form done by hand), events dated days in the past, and the
erasure of a person (SQLite and PostgreSQL)."""

from __future__ import annotations

import shutil
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, select, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from aicmo import operator_services as ops
from aicmo.cam import repository as repo
from aicmo.cam.db_models import EventDB, OutreachMessageDB, ReplyDB
from aicmo.cam.domain.events import EventType, OutreachEvent
from aicmo.cam.domain.reply_categories import ReplyCategory
from aicmo.cam.repository import metrics as metrics_repo
from aicmo.db.connect import make_engine, session_factory
from aicmo.errors import ValidationError
from aicmo.operator_services import campaigns
from aicmo.operator_services.analytics.rollups import rebuild_day, rebuild_rollups
from aicmo.operator_services.channels import tasks
from aicmo.operator_services.crm.privacy import forget_person
from aicmo.operator_services.crm.replies import set_reply_category
from aicmo.operator_services.crm.workspace import ensure_workspace_defaults
from aicmo.operator_services.engine.tick import run_due
from aicmo.operator_services.inbound.processing import mark_delivered, process_inbound_message
from aicmo.operator_services.uow import unit_of_work
from tests.conftest import _reset_pg

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
DSN = (
    Path(__file__).parent.parent / "fixtures" / "mail" / "postfix_dsn_user_unknown.eml"
).read_bytes()
STEPS: list[dict[str, Any]] = [
    {"channel": "EMAIL", "template": {"subject": "Hi {{ first_name }}", "body": "First note"}},
    {
        "channel": "LINKEDIN",
        "delay_hours": 24,
        "template": {"LINKEDIN": {"body": "Hi {{ first_name }}", "note": "Hi"}},
    },
    {"channel": "EMAIL", "delay_hours": 24, "template": {"subject": "Again", "body": "Second"}},
]
CATEGORIES = [c.value for c in ReplyCategory]


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)])
def fresh(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[], Session]]:
    """Opens a session on a new, empty, migrated database each call (one per example)."""
    engines: list[Engine] = []
    sessions: list[Session] = []
    pg_url = request.getfixturevalue("pg_schema_url") if request.param == "postgresql" else None
    template = request.getfixturevalue("sqlite_template") if pg_url is None else None

    def close_all() -> None:
        # Sessions first: a connection left in a transaction would block the next TRUNCATE.
        for session in sessions:
            session.close()
        for old in engines:
            old.dispose()
        sessions.clear()
        engines.clear()

    def open_session() -> Session:
        close_all()
        if pg_url is not None:
            eng = make_engine(pg_url)
            _reset_pg(eng)
        else:
            assert template is not None
            path = tmp_path / f"{uuid.uuid4().hex}.db"
            shutil.copy(template, path)
            eng = make_engine(f"sqlite:///{path}")
        engines.append(eng)
        session = session_factory(eng)()
        sessions.append(session)
        ensure_workspace_defaults(session)
        return session

    yield open_session
    close_all()


@dataclass
class World:
    """What the history has made so far, for the next step to pick from."""

    db: Session
    now: datetime
    leads: list[int]
    categories: dict[int, str | None] = field(default_factory=dict)
    n: int = 0

    def next_id(self) -> int:
        self.n += 1
        return self.n


def sent_emails(db: Session) -> list[OutreachMessageDB]:
    db.rollback()
    rows = db.scalars(
        select(OutreachMessageDB)
        .where(OutreachMessageDB.channel == "EMAIL", OutreachMessageDB.rfc_message_id.is_not(None))
        .order_by(OutreachMessageDB.id)
    )
    return list(rows)


def pick(rows: list[Any], i: int) -> Any:
    return rows[i % len(rows)] if rows else None


def do_tick(w: World, hours: int) -> None:
    w.now += timedelta(hours=hours)
    run_due(w.db, now=w.now, worker="w1")


def do_reply(w: World, i: int, days_ago: int) -> None:
    attempt = pick(sent_emails(w.db), i)
    if attempt is None or not attempt.recipient:
        return
    raw = (
        f"From: {attempt.recipient}\r\nTo: alex@aicmo.example\r\nSubject: Re: hello\r\n"
        f"Message-ID: <reply-{w.next_id()}@lead.example>\r\n"
        f"In-Reply-To: {attempt.rfc_message_id}\r\nReferences: {attempt.rfc_message_id}\r\n"
        "Date: Mon, 23 Nov 2026 10:00:00 +0000\r\n\r\n"
        "Thanks for reaching out, tell me more about pricing.\r\n"
    ).encode()
    process_inbound_message(w.db, raw, received_at=w.now - timedelta(days=days_ago))


def do_bounce(w: World, i: int) -> None:
    attempt = pick(sent_emails(w.db), i)
    if attempt is None or not attempt.recipient:
        return
    raw = (
        DSN.replace(b"<attempt-42.xyz@aicmo.example>", attempt.rfc_message_id.encode())
        .replace(b"jane.doe@example.org", attempt.recipient.encode())
        .replace(b"4Zk3Lm0QbHz9sVq@", f"dsn{w.next_id()}@".encode())
    )
    process_inbound_message(w.db, raw, received_at=w.now)


def do_categorise(w: World, i: int, category: str, days_ago: int) -> None:
    """An operator's correction through the service (the rules categorised the reply when
    it arrived): one REPLY_CATEGORIZED event with the reply's own rollup keys."""
    w.db.rollback()
    replies = list(w.db.scalars(select(ReplyDB).order_by(ReplyDB.id)))
    reply = pick(replies, i)
    if reply is None:
        return
    set_reply_category(
        w.db,
        reply.id,
        category,
        workspace_id=reply.workspace_id,
        now=w.now - timedelta(days=days_ago),
    )


def do_task(w: World, i: int, done: bool) -> None:
    open_ = [t["id"] for t in tasks.list_tasks(w.db, status="OPEN", now=w.now)]
    task_id = pick(open_, i)
    if task_id is None:
        return
    if done:
        tasks.complete_task(w.db, task_id, now=w.now)
    else:
        tasks.skip_task(w.db, task_id, reason="not this one", now=w.now)


def do_form(w: World, i: int, done: bool) -> None:
    """A contact form a robot must not submit: an attempt handed to a person as a task."""
    lead_id = pick(w.leads, i)
    if lead_id is None:
        return
    with unit_of_work(w.db):
        attempt = OutreachMessageDB(
            workspace_id=1,
            lead_id=lead_id,
            channel="CONTACT_FORM",
            status="QUEUED",
            step_index=i % 3,
            body="Hello",
            idempotency_key=f"form:{w.next_id()}",
            created_at=w.now,
            updated_at=w.now,
        )
        w.db.add(attempt)
        w.db.flush()
        task = tasks.open_task(
            w.db,
            attempt,
            kind="submit_form",
            title="Contact form",
            body="Fill it in",
            url="https://acme.example/contact",
            reason="captcha",
            now=w.now,
        )
        task_id = task.id
    if done:
        tasks.complete_task(w.db, task_id, now=w.now)


def do_late(w: World, i: int, kind: str, days_ago: int) -> None:
    attempt = pick(sent_emails(w.db), i)
    if attempt is None:
        return
    ops.record_event(
        w.db,
        OutreachEvent(
            type=EventType(kind),
            occurred_at=w.now - timedelta(days=days_ago),
            channel="EMAIL",
            source="tracking",
        ),
        lead_id=attempt.lead_id,
        campaign_id=attempt.campaign_id,
        message_id=attempt.id,
    )


def do_erase(w: World, i: int) -> None:
    lead_id = pick(w.leads, i)
    if lead_id is None or repo.get_lead(w.db, 1, lead_id) is None:
        return
    forget_person(w.db, lead_id, now=w.now)
    w.leads.remove(lead_id)


def do_deliver(w: World) -> None:
    mark_delivered(w.db, now=w.now + timedelta(days=2))


days_ago = st.integers(min_value=0, max_value=5)
index = st.integers(min_value=0, max_value=20)
STEP = st.one_of(
    st.tuples(st.just("tick"), st.integers(min_value=1, max_value=30)),
    st.tuples(st.just("reply"), index, days_ago),
    st.tuples(st.just("bounce"), index),
    st.tuples(st.just("categorise"), index, st.sampled_from(CATEGORIES), days_ago),
    st.tuples(st.just("task"), index, st.booleans()),
    st.tuples(st.just("form"), index, st.booleans()),
    st.tuples(
        st.just("late"), index, st.sampled_from(["MESSAGE_OPENED", "MESSAGE_CLICKED"]), days_ago
    ),
    st.tuples(st.just("erase"), index),
    st.tuples(st.just("deliver")),
)
ACTIONS: dict[str, Callable[..., None]] = {
    "tick": do_tick,
    "reply": do_reply,
    "bounce": do_bounce,
    "categorise": do_categorise,
    "task": do_task,
    "form": do_form,
    "late": do_late,
    "erase": do_erase,
    "deliver": do_deliver,
}


def all_rows(db: Session) -> dict[Any, dict[str, int]]:
    db.rollback()
    return metrics_repo.rollup_rows(
        db, first=date(2000, 1, 1), last=date(2100, 1, 1), workspace_id=None
    )


def run_history(db: Session, n_leads: int, history: list[tuple[Any, ...]]) -> World:
    leads = [
        ops.create_lead(
            db,
            email=f"lead{k}@acme{k}.example",
            first_name=f"Lead{k}",
            linkedin_url=f"https://www.linkedin.com/in/lead-{k}" if k % 2 else None,
            tags=["t"],
        )["id"]
        for k in range(n_leads)
    ]
    campaigns.create_campaign(db, "C", steps=STEPS, audience={"tag": "t"}, now=T0)
    campaigns.start_campaign(db, "C", now=T0)
    w = World(db=db, now=T0, leads=leads)
    run_due(db, now=T0, worker="w1")
    for name, *args in history:
        ACTIONS[name](w, *args)
    return w


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(n_leads=st.integers(min_value=1, max_value=4), history=st.lists(STEP, max_size=14))
def test_a_rebuild_equals_the_incremental_rollups_row_for_row(
    fresh: Callable[[], Session], n_leads: int, history: list[tuple[Any, ...]]
) -> None:
    db = fresh()
    try:
        run_history(db, n_leads, history)
        incremental = all_rows(db)
        report = rebuild_rollups(db, now=T0 + timedelta(days=60))
        rebuilt = all_rows(db)
        assert rebuilt == incremental
        assert report["rows"] == len(incremental)
        # A second rebuild changes nothing (it replaces, it never adds).
        rebuild_rollups(db, now=T0 + timedelta(days=60))
        assert all_rows(db) == incremental
    finally:
        db.close()


def counter(rows: dict[Any, dict[str, int]], column: str) -> int:
    return sum(r.get(column, 0) for r in rows.values())


def test_outcome_counters_follow_categorisations_tasks_and_forms_and_survive_an_erasure(
    fresh: Callable[[], Session],
) -> None:
    db = fresh()
    w = run_history(db, 2, [])
    do_reply(w, 0, 0)
    do_categorise(w, 0, "interested", 0)  # +1 positive
    do_categorise(w, 0, "meeting_booked", 0)  # still positive, +1 meeting
    do_categorise(w, 0, "not_interested", 0)  # -1 positive, -1 meeting
    do_categorise(w, 0, "meeting_booked", 0)  # +1 positive, +1 meeting
    do_form(w, 0, True)  # a form filled by hand: one task done, one form, not two
    do_form(w, 1, False)  # still open: nothing
    rows = all_rows(db)
    assert (counter(rows, "positive_replied"), counter(rows, "meetings")) == (1, 1)
    assert (counter(rows, "forms_submitted"), counter(rows, "tasks_done")) == (1, 1)
    do_erase(w, 0)
    do_erase(w, 0)
    erased = db.scalars(select(EventDB).where(EventDB.type == "REPLY_CATEGORIZED")).all()
    assert erased and all(set(e.detail) == {"category", "previous"} for e in erased)
    rebuild_rollups(db, now=T0 + timedelta(days=3))
    rebuilt = all_rows(db)
    assert rebuilt == rows
    assert counter(rebuilt, "positive_replied") == 1


def test_a_rebuild_repairs_drifted_rows_and_only_in_its_range(fresh: Callable[[], Session]) -> None:
    db = fresh()
    run_history(db, 2, [("tick", 25), ("tick", 25)])
    truth = all_rows(db)
    days = sorted({k[1] for k in truth})
    assert len(days) >= 2
    with unit_of_work(db):
        for day in days:
            repo.bump_metric(
                db,
                workspace_id=1,
                day=day,
                channel="EMAIL",
                column="sent",
                campaign_id=None,
                step_index=None,
                variant=None,
                mailbox_id=None,
                by=7,
            )
    drifted = all_rows(db)
    assert drifted != truth
    rebuild_rollups(db, first=days[0], last=days[0], now=T0)
    partly = all_rows(db)
    assert {k: v for k, v in partly.items() if k[1] == days[0]} == {
        k: v for k, v in truth.items() if k[1] == days[0]
    }
    assert {k: v for k, v in partly.items() if k[1] == days[1]} != {
        k: v for k, v in truth.items() if k[1] == days[1]
    }
    rebuild_rollups(db, now=T0 + timedelta(days=10))
    assert all_rows(db) == truth


def test_a_backwards_or_huge_range_is_refused(fresh: Callable[[], Session]) -> None:
    db = fresh()
    with pytest.raises(ValidationError, match="after"):
        rebuild_rollups(db, first=date(2026, 12, 2), last=date(2026, 12, 1))
    with pytest.raises(ValidationError, match="at most"):
        rebuild_rollups(db, first=date(1000, 1, 1), last=date(2026, 12, 1))


def writers_are_held_off(db: Session) -> bool:
    """Whether a writer of the rollups would wait now: a ROW EXCLUSIVE lock (what an
    upsert takes) asked for with NOWAIT is refused while the rebuild holds its lock.
    Decided at once, with no clock involved."""
    try:
        db.execute(text("LOCK TABLE metrics_daily IN ROW EXCLUSIVE MODE NOWAIT"))
    except OperationalError:
        return True
    finally:
        db.rollback()
    return False


@pytest.mark.postgresql
def test_an_event_landing_during_a_rebuild_is_counted_once(
    pg_schema_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker's event that lands while its day is being rebuilt waits for the rebuild's
    lock, then bumps the rebuilt row: counted once, neither lost nor doubled."""
    eng = make_engine(pg_schema_url)
    _reset_pg(eng)
    make = session_factory(eng)
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            with make() as other:
                ops.record_event(
                    other,
                    OutreachEvent(
                        type=EventType.MESSAGE_ATTEMPTED, occurred_at=T0, channel="EMAIL"
                    ),
                )
        except BaseException as err:  # reported by the test below
            errors.append(err)

    thread = threading.Thread(target=worker)
    real = metrics_repo.counted_events
    blocked: list[bool] = []

    def scan_with_a_worker_landing(db: Session, **kw: Any) -> Iterator[Any]:
        # Mid-rebuild (day's rows deleted, scan not started): the worker tries to land.
        with eng.connect() as probe:
            blocked.append(writers_are_held_off(Session(bind=probe)))
        thread.start()
        yield from real(db, **kw)

    try:
        with make() as db:
            ensure_workspace_defaults(db)
            run_history(db, 2, [])
            before = counter(all_rows(db), "attempted")
            assert before > 0
            monkeypatch.setattr(metrics_repo, "counted_events", scan_with_a_worker_landing)
            rebuild_day(db, T0.date())
            thread.join(20)
            assert not errors and not thread.is_alive()
            assert blocked == [True], "the worker's bump did not wait for the rebuild"
            assert counter(all_rows(db), "attempted") == before + 1
            monkeypatch.setattr(metrics_repo, "counted_events", real)
            rebuild_day(db, T0.date())
            assert counter(all_rows(db), "attempted") == before + 1
    finally:
        eng.dispose()
