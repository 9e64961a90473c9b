"""The engine on a real database with a controlled clock: steps, delays, fallback,
stop on reply, pause, claims, and recovery of a worker killed mid-send."""

from __future__ import annotations

import threading
import types
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from aicmo import operator_services as ops
from aicmo.cam.db_models import EnrollmentDB, OutreachMessageDB
from aicmo.cam.domain.attempts import attempt_key
from aicmo.cam.domain.events import EventType, OutreachEvent
from aicmo.cam.domain.messages import ChannelType
from aicmo.operator_services import campaigns
from aicmo.operator_services.engine.tick import (
    claim_due,
    list_unknown_attempts,
    recover_unknown,
    run_due,
)

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
STEPS = [
    {
        "channel": "EMAIL",
        "fallback": ["LINKEDIN"],
        "delay_hours": 0,
        "template": {"subject": "Hi {{ first_name | default('there') }}", "body": "First note"},
    },
    {
        "channel": "EMAIL",
        "delay_hours": 48,
        "template": {"subject": "Following up", "body": "Second note"},
    },
]


def setup_campaign(db: Session) -> dict[str, int]:
    ids = {
        "a": ops.create_lead(db, email="a@acme.example", first_name="Ann", tags=["q4"])["id"],
        "b": ops.create_lead(
            db, email="b@acme.example", tags=["q4"], linkedin_url="https://www.linkedin.com/in/bee"
        )["id"],
        "c": ops.create_lead(db, linkedin_url="https://www.linkedin.com/in/cee", tags=["q4"])["id"],
    }
    campaigns.create_campaign(db, "Q4", steps=STEPS, audience={"tag": "q4"}, now=T0)
    started = campaigns.start_campaign(db, "Q4", now=T0)
    assert started["enrolled"] == 3
    return ids


def state_of(db: Session, lead_id: int) -> EnrollmentDB:
    db.rollback()
    row = db.scalar(select(EnrollmentDB).where(EnrollmentDB.lead_id == lead_id))
    assert row is not None
    return row


def test_a_campaign_runs_its_steps_on_time_with_fallback_and_stop_on_reply(db: Session) -> None:
    ids = setup_campaign(db)
    first = run_due(db, now=T0, worker="w1")
    assert first["processed"] == 3
    assert state_of(db, ids["a"]).step_index == 1
    assert state_of(db, ids["a"]).next_run_at == T0 + timedelta(hours=48)
    c = state_of(db, ids["c"])
    assert (c.state, c.channel_index) == ("ACTIVE", 1)  # no email: LinkedIn next
    run_due(db, now=T0, worker="w1")
    c = state_of(db, ids["c"])
    assert c.state == "WAITING"  # no LinkedIn account: the step is a task for a person

    assert run_due(db, now=T0 + timedelta(hours=47), worker="w1")["processed"] == 0  # not due
    ops.record_event(
        db,
        OutreachEvent(
            type=EventType.REPLY_RECEIVED,
            occurred_at=T0 + timedelta(hours=2),
            channel=ChannelType.EMAIL,
        ),
        lead_id=ids["a"],
    )
    later = run_due(db, now=T0 + timedelta(hours=49), worker="w1")
    assert later["by_outcome"] == {"stopped": 1, "complete": 1}
    assert state_of(db, ids["a"]).state == "STOPPED"
    assert state_of(db, ids["b"]).state == "COMPLETED"
    sent_b = ops.get_outreach_history(db, lead_id=ids["b"])
    assert [m["subject"] for m in sent_b] == ["Following up", "Hi there"]
    assert len(ops.get_outreach_history(db, lead_id=ids["a"])) == 1  # the reply stopped step 2
    status = campaigns.campaign_status(db, "Q4")
    assert status["enrollments"] == {"COMPLETED": 1, "WAITING": 1, "STOPPED": 1}


def test_a_paused_campaign_sends_nothing(db: Session) -> None:
    setup_campaign(db)
    campaigns.set_campaign_status(db, "Q4", "PAUSED")
    assert run_due(db, now=T0, worker="w1")["processed"] == 0
    campaigns.set_campaign_status(db, "Q4", "ACTIVE")
    assert run_due(db, now=T0, worker="w1")["processed"] == 3


def test_two_workers_never_claim_the_same_enrollment(db: Session) -> None:
    setup_campaign(db)
    mine = claim_due(db, now=T0, worker="w1", batch=2)
    theirs = claim_due(db, now=T0, worker="w2", batch=10)
    assert len(mine) == 2 and len(theirs) == 1 and not set(mine) & set(theirs)
    assert claim_due(db, now=T0, worker="w3") == []
    # an expired claim (its worker died) is taken again
    assert len(claim_due(db, now=T0 + timedelta(minutes=6), worker="w3")) == 3


def test_an_attempt_left_sending_by_a_dead_worker_becomes_unknown_and_is_not_resent(
    db: Session,
) -> None:
    ids = setup_campaign(db)
    enrollment = state_of(db, ids["a"])
    db.add(
        OutreachMessageDB(
            workspace_id=1,
            lead_id=ids["a"],
            channel="EMAIL",
            status="SENDING",
            recipient="a@acme.example",
            idempotency_key=attempt_key(enrollment.id, 0, ChannelType.EMAIL, 0),
            enrollment_id=enrollment.id,
            campaign_id=enrollment.campaign_id,
            step_index=0,
            created_at=T0 - timedelta(minutes=10),
            updated_at=T0 - timedelta(minutes=10),
        )
    )
    db.commit()
    assert recover_unknown(db, now=T0) == 1
    assert state_of(db, ids["a"]).state == "WAITING"
    assert [u["lead_id"] for u in list_unknown_attempts(db)] == [ids["a"]]
    run_due(db, now=T0, worker="w1")
    assert len(ops.get_outreach_history(db, lead_id=ids["a"])) == 1  # never resent
    assert ops.get_channel_metrics(db, now=T0)["EMAIL"]["unknown"] == 1


def test_validation_reports_template_errors_and_leads_without_addresses(db: Session) -> None:
    ops.create_lead(db, linkedin_url="https://www.linkedin.com/in/x", tags=["t"])
    campaigns.create_campaign(
        db,
        "Bad",
        audience={"tag": "t"},
        steps=[{"channel": "EMAIL", "template": {"subject": "Hi {{ frist_name }}", "body": "x"}}],
    )
    report = campaigns.validate_campaign(db, "Bad")
    assert not report["ok"] and any("frist_name" in e for e in report["errors"])
    assert report["lead_problems"][0]["problem"] == "step 1: no address for EMAIL"


def test_sends_wait_for_the_leads_working_hours(db: Session) -> None:
    lead = ops.create_lead(db, email="ny@acme.example", timezone="America/New_York", tags=["ny"])
    campaigns.create_campaign(
        db,
        "NY",
        audience={"tag": "ny"},
        now=T0,
        settings={
            "window": {
                "days": ["mon", "tue", "wed", "thu", "fri"],
                "start": "09:00",
                "end": "17:00",
                "jitter_seconds": 600,
            }
        },
        steps=[
            {"channel": "EMAIL", "template": {"subject": "Hi", "body": "One"}},
            {
                "channel": "EMAIL",
                "delay_business_days": 1,
                "template": {"subject": "Again", "body": "Two"},
            },
        ],
    )
    campaigns.start_campaign(db, "NY", now=T0)  # Monday 09:00 UTC = 04:00 in New York
    assert run_due(db, now=T0, worker="w1")["by_outcome"] == {"outside window": 1}
    due = state_of(db, lead["id"]).next_run_at
    assert due is not None
    opens = datetime(2026, 11, 23, 14, 0, tzinfo=UTC)  # 09:00 New York
    assert opens <= due <= opens + timedelta(seconds=600)
    assert run_due(db, now=due, worker="w1")["by_outcome"] == {"advance": 1}
    step2 = state_of(db, lead["id"]).next_run_at
    assert step2 is not None and step2.date().isoformat() == "2026-11-24"  # one working day later
    assert 14 <= step2.hour < 22  # inside New York's 09:00-17:00


def test_a_bad_window_is_refused_when_the_campaign_is_created(db: Session) -> None:
    import pytest

    from aicmo.errors import ValidationError

    with pytest.raises(ValidationError, match="Mars/Olympus"):
        campaigns.create_campaign(
            db, "Bad window", steps=STEPS, settings={"window": {"timezone": "Mars/Olympus"}}
        )


def test_a_lead_in_two_campaigns_is_not_touched_twice_within_the_gap(db: Session) -> None:
    lead = ops.create_lead(db, email="both@acme.example", tags=["x"])
    one = [{"channel": "EMAIL", "template": {"subject": "A", "body": "a"}}]
    campaigns.create_campaign(db, "One", steps=one, audience={"tag": "x"}, now=T0)
    campaigns.create_campaign(db, "Two", steps=one, audience={"tag": "x"}, now=T0)
    campaigns.start_campaign(db, "One", now=T0)
    campaigns.start_campaign(db, "Two", now=T0)
    first = run_due(db, now=T0, worker="w1")["by_outcome"]
    assert first == {"complete": 1, "lead limit": 1}  # min_gap_hours = 24 by default
    assert len(ops.get_outreach_history(db, lead_id=lead["id"])) == 1
    assert run_due(db, now=T0 + timedelta(hours=23), worker="w1")["processed"] == 0
    later = run_due(db, now=T0 + timedelta(hours=24, minutes=1), worker="w1")
    assert later["by_outcome"] == {"complete": 1}


def test_stopping_mid_batch_finishes_the_chunk_in_flight_and_releases_the_rest(
    db: Session,
) -> None:
    """SIGTERM: no new send starts; what was claimed and not sent is due for the next worker
    at once (not after the lease), and nothing is left SENDING."""
    from aicmo.operator_services.engine.pipeline import FIRST_GROUP, GROUP

    total = GROUP * 2 + 7
    for i in range(total):
        ops.create_lead(db, email=f"p{i}@stop.example", tags=["stop"])
    steps = [{"channel": "EMAIL", "template": {"subject": "Hello", "body": "A note"}}]
    campaigns.create_campaign(db, "Stop", steps=steps, audience={"tag": "stop"}, now=T0)
    campaigns.start_campaign(db, "Stop", now=T0)
    asked = 0

    def stopping() -> bool:
        nonlocal asked
        asked += 1
        return asked > 1  # yes from the second chunk on

    result = run_due(db, now=T0, worker="w1", batch=total, stopping=stopping)
    db.rollback()
    sent = list(db.scalars(select(OutreachMessageDB.status)))
    assert sent == ["SENT"] * FIRST_GROUP
    assert result["by_outcome"]["released"] == total - FIRST_GROUP
    rows = list(db.scalars(select(EnrollmentDB).where(EnrollmentDB.state == "ACTIVE")))
    waiting = [e for e in rows if e.last_message_id is None]
    assert len(waiting) == total - FIRST_GROUP
    assert all(e.claimed_by is None and e.next_run_at is not None for e in waiting)
    assert all(e.next_run_at is not None and e.next_run_at <= T0 for e in waiting)
    # Another worker takes them at once.
    assert len(claim_due(db, now=T0, worker="w2", batch=total)) == total - FIRST_GROUP


def test_a_failure_while_preparing_a_chunk_still_records_the_chunk_already_sent(
    db: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The next chunk is prepared while the previous one is on the wire: if preparing
    fails, the sends already made are still recorded as SENT (not left to turn UNKNOWN)."""
    from aicmo.operator_services.engine import compose
    from aicmo.operator_services.engine import pipeline as batched

    total = batched.FIRST_GROUP + batched.GROUP + 5
    for i in range(total):
        ops.create_lead(db, email=f"f{i}@fail.example", tags=["fail"])
    steps = [{"channel": "EMAIL", "template": {"subject": "Hello", "body": "A note"}}]
    campaigns.create_campaign(db, "Fail", steps=steps, audience={"tag": "fail"}, now=T0)
    campaigns.start_campaign(db, "Fail", now=T0)
    real = compose.prepare
    calls = 0

    def prepare(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise RuntimeError("disk full")
        return real(*args, **kwargs)

    monkeypatch.setattr(batched, "prepare", prepare)
    with pytest.raises(RuntimeError, match="disk full"):
        run_due(db, now=T0, worker="w1", batch=total)
    db.rollback()
    statuses = sorted(db.scalars(select(OutreachMessageDB.status)))
    # The first chunk went out and is recorded; the second was committed SENDING and
    # never handed over: a later tick calls it UNKNOWN (never resent blindly).
    first, second = batched.FIRST_GROUP, batched.GROUP
    assert statuses.count("SENT") == first
    assert statuses.count("SENDING") == second


def test_the_batched_path_renders_with_the_same_lead_as_the_one_by_one_path(
    db: Session,
) -> None:
    from aicmo.cam.db_models import LeadDB
    from aicmo.operator_services.channels.email import lead_context
    from aicmo.transports.rendering import RenderContext, render

    lead = ops.create_lead(
        db,
        email="r@render.example",
        first_name="Rae",
        company="Render Co",
        tags=["zeta", "Alpha"],
        custom_fields={"plan": "pro", "seats": 12},
    )
    body = (
        "{{ first_name }} at {{ company }}: {{ lead.tags | join(',') }}; "
        "{{ lead.custom.plan }} x{{ lead.custom.seats }}; {{ lead.email }}"
    )
    steps = [{"channel": "EMAIL", "template": {"subject": "For {{ first_name }}", "body": body}}]
    campaigns.create_campaign(db, "Render", steps=steps, audience={"lead_ids": [lead["id"]]})
    campaigns.start_campaign(db, "Render", now=T0)
    assert run_due(db, now=T0, worker="w1")["processed"] == 1
    db.rollback()
    [message] = db.scalars(select(OutreachMessageDB))
    assert message.status == "SENT"
    row = db.get(LeadDB, lead["id"])
    assert row is not None
    expected = render(
        body,
        RenderContext(lead=lead_context(row), sender={"name": "", "email": ""}),
        seed=message.idempotency_key,
    )
    assert message.body == expected
    assert message.body == "Rae at Render Co: Alpha,zeta; pro x12; r@render.example"


def test_claims_are_renewed_past_half_their_lease_and_one_lost_meanwhile_is_not_sent(
    db: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A chunk whose claims have most of their lease left goes without renewing them; a later
    chunk renews, and a claim that expired meanwhile and went to another worker is that
    worker's: not sent, not handed back."""
    from sqlalchemy.orm import Session as OrmSession

    from aicmo.operator_services.engine import pipeline as batched

    total = batched.FIRST_GROUP + 5
    for i in range(total):
        ops.create_lead(db, email=f"l{i}@lease.example", tags=["lease"])
    steps = [{"channel": "EMAIL", "template": {"subject": "Hello", "body": "A note"}}]
    campaigns.create_campaign(db, "Lease", steps=steps, audience={"tag": "lease"}, now=T0)
    campaigns.start_campaign(db, "Lease", now=T0)
    lease = timedelta(minutes=5)
    later = T0 + lease + timedelta(seconds=1)
    renewed: list[int] = []
    real_renew = batched._renew_claims

    def renew(*args: Any, **kwargs: Any) -> set[int]:
        mine = real_renew(*args, **kwargs)
        renewed.append(len(mine))
        return mine

    monkeypatch.setattr(batched, "_renew_claims", renew)
    taken: list[int] = []
    calls = 0

    def clock() -> datetime:
        nonlocal calls
        calls += 1
        if calls == 1:
            return T0
        if calls == 2:  # the first chunk took a whole lease: the rest expired, and w2 came
            with OrmSession(bind=db.get_bind()) as other:
                taken.extend(claim_due(other, now=later, worker="w2", batch=total))
        return later

    result = run_due(db, now=T0, worker="w1", batch=total, lease=lease, clock=clock)
    assert renewed == [0]  # once, for the second chunk, and none of it was still ours
    assert len(taken) == 5
    assert result["by_outcome"] == {"complete": batched.FIRST_GROUP, "claim lost": 5}
    db.rollback()
    sent = set(db.scalars(select(OutreachMessageDB.enrollment_id)))
    assert len(sent) == batched.FIRST_GROUP and not sent & set(taken)
    owners = dict(db.execute(select(EnrollmentDB.id, EnrollmentDB.claimed_by)).all())
    assert {owners[e] for e in taken} == {"w2"}


def test_a_batch_keeps_the_channel_window_with_other_sends_and_status_changes_meanwhile(
    db: Session,
) -> None:
    """Chunks after the first bound the window from the attempts recorded since instead of
    counting the day again: another worker's sends, and an old attempt whose status
    changes to a counted one meanwhile, still keep the hour at its limit, not above."""
    from sqlalchemy.orm import Session as OrmSession

    from aicmo.cam.domain.messages import MessageStatus
    from aicmo.operator_services.channels import update_channel_config
    from aicmo.operator_services.channels.limits import COUNTED

    update_channel_config(db, "EMAIL", rate_limit_per_hour=50, rate_limit_per_day=1000)
    for i in range(41):
        ops.create_lead(db, email=f"w{i}@window.example", tags=["win"])
    earlier = T0 - timedelta(minutes=10)
    for key in ("old-1", "old-2"):  # refused earlier: not counted, for now
        db.add(
            OutreachMessageDB(
                workspace_id=1,
                channel="EMAIL",
                status=MessageStatus.FAILED.value,
                idempotency_key=key,
                created_at=earlier,
            )
        )
    db.commit()
    steps = [{"channel": "EMAIL", "template": {"subject": "Hello", "body": "A note"}}]
    campaigns.create_campaign(db, "Win", steps=steps, audience={"tag": "win"}, now=T0)
    campaigns.start_campaign(db, "Win", now=T0)
    calls = 0

    def clock() -> datetime:
        nonlocal calls
        calls += 1
        if calls == 2:  # between the first chunk and the second
            with OrmSession(bind=db.get_bind()) as other:
                for i in range(8):
                    other.add(
                        OutreachMessageDB(
                            workspace_id=1,
                            channel="EMAIL",
                            status=MessageStatus.SENT.value,
                            idempotency_key=f"other-{i}",
                            created_at=T0,
                        )
                    )
                for row in other.scalars(
                    select(OutreachMessageDB).where(OutreachMessageDB.idempotency_key.like("old-%"))
                ):
                    row.status = MessageStatus.SENT.value  # a late report: it did go
                other.commit()
        return T0

    run_due(db, now=T0, worker="w1", batch=41, clock=clock)
    assert calls >= 2
    db.rollback()
    counted = list(
        db.scalars(
            select(OutreachMessageDB.idempotency_key).where(
                OutreachMessageDB.status.in_(COUNTED),
                OutreachMessageDB.created_at > T0 - timedelta(hours=1),
            )
        )
    )
    # 10 ours first; then 8 others', 2 changed: room for 30 of the other 31.
    assert len(counted) == 50
    assert len([k for k in counted if k.startswith("enr:")]) == 40


def test_chunks_shrink_so_that_slow_sends_finish_well_inside_the_lease(
    db: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With a slow server, a chunk and the one queued behind it must be sent and recorded
    long before their claims' lease runs out (else another worker could call them UNKNOWN
    while they are being sent).

    On a virtual clock that each send moves by 20 ms: the pipeline's timing of the sends
    and the times of the chunks both read it, so the test decides the same way however
    loaded the machine is.
    """
    from aicmo.operator_services.engine import pipeline as batched
    from aicmo.operator_services.engine import record
    from aicmo.operator_services.uow import utcnow
    from aicmo.transports.outbox import OutboxTransport

    class VirtualClock:
        def __init__(self) -> None:
            self.origin = utcnow()
            self.seconds = 0.0
            self.lock = threading.Lock()

        def monotonic(self) -> float:
            return 1_000.0 + self.seconds

        def now(self) -> datetime:
            return self.origin + timedelta(seconds=self.seconds)

        def advance(self, seconds: float) -> None:
            with self.lock:
                self.seconds += seconds

    clock = VirtualClock()
    total = batched.GROUP * 2  # 2 s of sending: inside the batch's 3 s lease
    for i in range(total):
        ops.create_lead(db, email=f"s{i}@slow.example", tags=["slow"])
    steps = [{"channel": "EMAIL", "template": {"subject": "Hello", "body": "A note"}}]
    start = clock.now() - timedelta(minutes=1)
    campaigns.create_campaign(db, "Slow", steps=steps, audience={"tag": "slow"}, now=start)
    campaigns.start_campaign(db, "Slow", now=start)
    real_send = OutboxTransport.send

    def slow_send(self: OutboxTransport, *args: Any, **kwargs: Any) -> Any:
        clock.advance(0.02)  # a server that takes 20 ms per message
        return real_send(self, *args, **kwargs)

    monkeypatch.setattr(OutboxTransport, "send", slow_send)
    monkeypatch.setattr(batched, "time", types.SimpleNamespace(monotonic=clock.monotonic))
    real_settle = record.settle
    ages: list[float] = []

    def settle(session: Session, ready: list[Any], future: Any, at: datetime) -> Any:
        result = real_settle(session, ready, future, at)
        ages.append((clock.now() - at).total_seconds())
        return result

    monkeypatch.setattr(batched, "settle", settle)
    lease = timedelta(seconds=3)
    result = run_due(db, now=clock.now(), worker="w1", batch=total, lease=lease, clock=clock.now)
    assert result["by_outcome"] == {"complete": total}
    # Every chunk recorded within half the lease of its start, when its claims had three
    # quarters of it left (budget: an eighth).
    assert ages and max(ages) < lease.total_seconds() / 2, ages
    assert clock.seconds == pytest.approx(total * 0.02)  # every send took its 20 ms


def test_a_campaign_with_nothing_left_to_run_is_finished_and_restarts_for_newcomers(
    db: Session,
) -> None:
    """FINISHED once every enrollment is done (none ACTIVE, none WAITING for a person);
    starting it again enrolls the audience's newcomers and makes it ACTIVE again."""
    from aicmo.operator_services.campaigns import campaign_status, finish_campaigns

    ops.create_lead(db, email="one@finish.example", tags=["fin"])
    steps = [{"channel": "EMAIL", "template": {"subject": "Hello", "body": "A note"}}]
    campaigns.create_campaign(db, "Fin", steps=steps, audience={"tag": "fin"}, now=T0)
    assert finish_campaigns(db, now=T0) == []  # a draft is not finished
    campaigns.start_campaign(db, "Fin", now=T0)
    assert finish_campaigns(db, now=T0) == []  # still something to send
    run_due(db, now=T0, worker="w1")
    [finished] = finish_campaigns(db, now=T0)
    status = campaign_status(db, "Fin")
    assert (status["status"], status["finished_at"]) == ("FINISHED", T0)
    assert status["enrollments"] == {"COMPLETED": 1}
    # Nothing new in the audience: it stays finished.
    assert campaigns.start_campaign(db, "Fin", now=T0)["enrolled"] == 0
    assert campaign_status(db, "Fin")["status"] == "FINISHED"
    ops.create_lead(db, email="two@finish.example", tags=["fin"])
    restarted = campaigns.start_campaign(db, "Fin", now=T0)
    assert (restarted["status"], restarted["enrolled"]) == ("ACTIVE", 1)
    assert finish_campaigns(db, now=T0) == []
    assert finished == status["id"]
    assert campaign_status(db, "Fin")["enrollments"] == {"COMPLETED": 1, "ACTIVE": 1}


def test_daily_counters_are_bumped_in_key_order(
    db: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two transactions bumping the same counter rows (a chunk being recorded and the
    next one being written, on two connections) must lock them in one order, or they
    deadlock: the order is the rows' keys, whatever the order of the messages."""
    from aicmo.cam import repository as repo
    from aicmo.operator_services.channels.mailboxes import add_mailbox

    for name in ("b-box", "a-box"):
        add_mailbox(db, name, f"{name}@acme.example", smtp_host="127.0.0.1", smtp_port=2525)
    for i in range(6):
        ops.create_lead(db, email=f"o{i}@order.example", tags=["ord"])
    steps = [{"channel": "EMAIL", "template": {"subject": "Hello", "body": "A note"}}]
    campaigns.create_campaign(db, "Ord", steps=steps, audience={"tag": "ord"}, now=T0)
    campaigns.start_campaign(db, "Ord", now=T0)
    from aicmo.operator_services.engine.plan import plan
    from aicmo.operator_services.engine.record import bulk_events

    claimed = claim_due(db, now=T0, worker="w1", batch=6)
    items, _ = plan(db, claimed, now=T0, worker="w1")
    bumped: list[tuple[int, int | None, int | None]] = []
    monkeypatch.setattr(
        repo,
        "bump_metric",
        lambda db, **kw: bumped.append((kw["campaign_id"], kw["step_index"], kw["mailbox_id"])),
    )
    for n, item in enumerate(reversed(items)):  # mailbox 2 first, then 1, then None
        item.row_id = n + 1
        item.mailbox_id = [2, 1, None][n % 3]
    bulk_events(db, 1, list(reversed(items)), EventType.MESSAGE_SENT, T0)
    bulk_events(db, 1, items, EventType.MESSAGE_SENT, T0)
    db.rollback()
    first, second = bumped[:3], bumped[3:]
    assert first == second == sorted(first, key=lambda k: (k[0], k[1], k[2] or 0))
    assert [k[2] for k in first] == [None, 1, 2]


def test_a_batch_right_after_another_takes_its_pace_instead_of_timing_again(
    db: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    from aicmo.operator_services.engine import pipeline as batched
    from aicmo.operator_services.engine import record

    for i in range(120):
        ops.create_lead(db, email=f"c{i}@pace.example", tags=["pace"])
    steps = [{"channel": "EMAIL", "template": {"subject": "Hello", "body": "A note"}}]
    campaigns.create_campaign(db, "Pace", steps=steps, audience={"tag": "pace"}, now=T0)
    campaigns.start_campaign(db, "Pace", now=T0)
    sizes: list[int] = []
    real = record.record_sending

    def record_sending(db: Session, chunk: list[Any], *args: Any) -> Any:
        sizes.append(len(chunk))
        return real(db, chunk, *args)

    monkeypatch.setattr(batched, "record_sending", record_sending)
    run_due(db, now=T0, worker="w1", batch=60)
    first = list(sizes)
    sizes.clear()
    run_due(db, now=T0, worker="w1", batch=60)
    assert first == [batched.FIRST_GROUP, 60 - batched.FIRST_GROUP]  # timed, then sized
    assert sizes == [batched.GROUP, 60 - batched.GROUP]  # sized from the start
    # A pace measured too long ago is timed again.
    monkeypatch.setattr(batched, "PACE_TTL", -1.0)
    sizes.clear()
    for i in range(15):
        ops.create_lead(db, email=f"late{i}@pace.example", tags=["pace"])
    campaigns.start_campaign(db, "Pace", now=T0)
    run_due(db, now=T0, worker="w1", batch=60)
    assert sizes == [batched.FIRST_GROUP, 15 - batched.FIRST_GROUP]
