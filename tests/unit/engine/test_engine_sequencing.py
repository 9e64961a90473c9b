"""Sequence definitions and the decision of what follows each attempt."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aicmo.cam.domain.events import EventType
from aicmo.cam.domain.messages import ChannelType, LeadStage
from aicmo.cam.domain.retry import RetryPolicy
from aicmo.cam.domain.sequencing import (
    DEFAULT_STOP_ON,
    TERMINAL_STATES,
    AttemptOutcome,
    Decision,
    DecisionKind,
    EnrollmentState,
    Sequence,
    Step,
    StepTemplate,
    StopReason,
    channels_for,
    due_at,
    dump_steps,
    next_action,
    outcome_of,
    parse_steps,
    should_stop,
    state_after,
    step_applies,
    stop_on_stage,
    stop_reason,
)
from aicmo.cam.domain.window import WorkCalendar, is_open
from aicmo.errors import (
    ChannelError,
    OutcomeUnknownError,
    PermanentChannelError,
    RateLimitedError,
    SuppressedError,
    TransientChannelError,
    UnsupportedFeatureError,
    ValidationError,
)

EMAIL, LINKEDIN, FORM = ChannelType.EMAIL, ChannelType.LINKEDIN, ChannelType.CONTACT_FORM
NOW = datetime(2024, 6, 11, 10, 0, tzinfo=UTC)  # a Tuesday

#: The shape `aicmo init` stores (operator_services.workspace.DEFAULT_SEQUENCE_STEPS).
STORED_STEPS: list[dict[str, Any]] = [
    {
        "channel": "EMAIL",
        "fallback": ["LINKEDIN", "CONTACT_FORM"],
        "delay_hours": 0,
        "template": {"subject": "Quick question, {{ first_name }}", "body": "Hi {{ first_name }}"},
        "condition": "no_reply",
    },
    {
        "channel": "LINKEDIN",
        "fallback": ["CONTACT_FORM"],
        "delay_hours": 72,
        "template": {"body": "Hi, following up on my email."},
        "condition": "no_reply",
    },
    {
        "channel": "CONTACT_FORM",
        "fallback": [],
        "delay_hours": 96,
        "template": {"subject": "Partnership question", "body": "Hello, I wrote last week."},
        "condition": "no_reply",
    },
]
SEQ = parse_steps(STORED_STEPS)


def step_dict(**changes: Any) -> dict[str, Any]:
    return {**STORED_STEPS[0], **changes}


# ----------------------------------------------------------------- definitions


def test_the_stored_default_sequence_parses() -> None:
    from aicmo.operator_services.crm.workspace import DEFAULT_SEQUENCE_STEPS

    seq = parse_steps(DEFAULT_SEQUENCE_STEPS)
    assert [s.channel for s in seq.steps] == [EMAIL, LINKEDIN, FORM]
    assert [s.delay_hours for s in seq.steps] == [0, 72, 96]


def test_a_stored_step_reads_as_typed_fields() -> None:
    first = SEQ.steps[0]
    assert first.channel is EMAIL
    assert first.fallback == (LINKEDIN, FORM)
    assert first.template == StepTemplate(
        subject="Quick question, {{ first_name }}", body="Hi {{ first_name }}"
    )
    assert first.condition == "no_reply"
    assert first.delay_business_days == 0


def test_channels_are_the_primary_then_the_fallbacks_without_repeats() -> None:
    step = Step.model_validate(
        step_dict(fallback=["LINKEDIN", "EMAIL", "LINKEDIN", "CONTACT_FORM"])
    )
    assert channels_for(step) == [EMAIL, LINKEDIN, FORM]
    assert channels_for(SEQ.steps[2]) == [FORM]


def test_channel_names_are_matched_whatever_their_case() -> None:
    step = Step.model_validate(step_dict(channel="email", fallback=["LinkedIn"]))
    assert channels_for(step) == [EMAIL, LINKEDIN]


def test_a_step_may_have_one_template_per_channel() -> None:
    step = Step.model_validate(
        step_dict(
            fallback=["LINKEDIN"],
            template={
                "EMAIL": {"subject": "Hi", "body": "Long email", "html": "<p>Long email</p>"},
                "linkedin": {"body": "Short note"},
            },
        )
    )
    assert step.template_for(EMAIL).html == "<p>Long email</p>"
    assert step.template_for(LINKEDIN) == StepTemplate(body="Short note")
    with pytest.raises(ValidationError):
        step.template_for(FORM)


def test_a_single_template_serves_every_channel_of_the_step() -> None:
    assert SEQ.steps[0].template_for(FORM) is SEQ.steps[0].template


def test_definitions_are_frozen() -> None:
    with pytest.raises(Exception, match="frozen"):
        SEQ.steps[0].delay_hours = 5  # type: ignore[misc]


@pytest.mark.parametrize(
    ("steps", "message", "field"),
    [
        (
            [STORED_STEPS[0], STORED_STEPS[1], step_dict(channel="FAX")],
            "step 2: unknown channel 'FAX'",
            "steps[2].channel",
        ),
        (
            [step_dict(fallback=["LINKEDIN", "SMS"])],
            "step 0: unknown channel 'SMS'",
            "steps[0].fallback[1]",
        ),
        (
            [step_dict(template={"subject": "x"})],
            "step 0: template.body is required",
            "steps[0].template.body",
        ),
        (
            [step_dict(template={"body": "  "})],
            "step 0: template.body: body must not be empty",
            "steps[0].template.body",
        ),
        (
            [step_dict(template={"body": "x", "footer": "y"})],
            "step 0: unknown field 'footer'",
            "steps[0].template.footer",
        ),
        (
            [step_dict(condition="on_open")],
            "step 0: condition must be 'no_reply' or 'always'",
            "steps[0].condition",
        ),
        ([step_dict(delay_hours=-1)], "step 0: delay_hours", "steps[0].delay_hours"),
        ([step_dict(delay_hours=float("nan"))], "step 0: delay_hours", "steps[0].delay_hours"),
        (
            [step_dict(delay_business_days=-2)],
            "step 0: delay_business_days",
            "steps[0].delay_business_days",
        ),
        ([step_dict(delay="1d")], "step 0: unknown field 'delay'", "steps[0].delay"),
        ([{"template": {"body": "x"}}], "step 0: channel is required", "steps[0].channel"),
        (
            [step_dict(fallback="LINKEDIN")],
            "step 0: fallback: fallback must be a list",
            "steps[0].fallback",
        ),
        (
            [step_dict(template={"EMAIL": {"body": "a"}})],
            "step 0: template: no template for channel LINKEDIN, CONTACT_FORM",
            "steps[0].template",
        ),
        (
            [step_dict(fallback=[], template={"EMAIL": {"body": "a"}, "LINKEDIN": {"body": "b"}})],
            "step 0: template: template for LINKEDIN, which the step never uses",
            "steps[0].template",
        ),
        (
            [step_dict(fallback=[], template={"EMAIL": {"body": "a"}, "FAX": {"body": "b"}})],
            "step 0: unknown channel 'FAX'",
            "steps[0].template.FAX",
        ),
        ([STORED_STEPS[0], "EMAIL"], "step 1: expected a mapping, got str", "steps[1]"),
        ([], "a sequence needs at least one step", "steps"),
    ],
)
def test_a_bad_step_is_reported_with_its_index_and_field(
    steps: list[Any], message: str, field: str
) -> None:
    with pytest.raises(ValidationError) as err:
        parse_steps(steps)
    assert str(err.value).startswith(message), str(err.value)
    assert err.value.field == field


@pytest.mark.parametrize("raw", [None, "EMAIL", {"steps": []}, 3])
def test_steps_that_are_not_a_list_are_refused(raw: Any) -> None:
    with pytest.raises(ValidationError) as err:
        parse_steps(raw)
    assert err.value.field == "steps"


def test_an_empty_sequence_cannot_be_built_directly_either() -> None:
    with pytest.raises(Exception, match="at least 1"):
        Sequence(steps=())


def test_built_steps_are_accepted_as_they_are() -> None:
    assert parse_steps(list(SEQ.steps)) == SEQ


template_text = st.text(min_size=1, max_size=20).filter(lambda s: bool(s.strip()))
templates = st.builds(
    StepTemplate,
    subject=st.none() | st.text(max_size=20),
    body=template_text,
    html=st.none() | st.text(max_size=20),
)


@st.composite
def steps(draw: st.DrawFn) -> Step:
    channel = draw(st.sampled_from(list(ChannelType)))
    fallback = draw(st.lists(st.sampled_from(list(ChannelType)), max_size=3))
    used = list(dict.fromkeys([channel, *fallback]))
    template: StepTemplate | dict[ChannelType, StepTemplate]
    template = draw(templates) if draw(st.booleans()) else {c: draw(templates) for c in used}
    return Step(
        channel=channel,
        fallback=tuple(fallback),
        delay_hours=draw(st.floats(0, 1000, allow_nan=False)),
        delay_business_days=draw(st.integers(0, 20)),
        template=template,
        condition=draw(st.sampled_from(["no_reply", "always"])),
    )


sequences = st.lists(steps(), min_size=1, max_size=5).map(lambda s: Sequence(steps=tuple(s)))


@settings(max_examples=100, deadline=None)
@given(seq=sequences)
def test_stored_steps_read_back_equal(seq: Sequence) -> None:
    import json

    stored = json.loads(json.dumps(dump_steps(seq)))
    assert parse_steps(stored) == seq


def test_condition_decides_whether_a_step_still_goes_after_a_reply() -> None:
    always = Step.model_validate(step_dict(condition="always"))
    assert step_applies(SEQ.steps[0], replied=False)
    assert not step_applies(SEQ.steps[0], replied=True)
    assert step_applies(always, replied=True)


# ----------------------------------------------------------------- stop rules


@pytest.mark.parametrize(
    "event",
    [
        EventType.REPLY_RECEIVED,
        EventType.BOUNCED_HARD,
        EventType.COMPLAINED,
        EventType.UNSUBSCRIBED,
    ],
)
def test_replies_hard_bounces_complaints_and_unsubscribes_stop_by_default(event: EventType) -> None:
    assert should_stop(event, DEFAULT_STOP_ON)
    assert should_stop(event)


@pytest.mark.parametrize(
    "event",
    [
        EventType.AUTO_REPLY_RECEIVED,
        EventType.BOUNCED_SOFT,
        EventType.MESSAGE_OPENED,
        EventType.MESSAGE_CLICKED,
        EventType.MESSAGE_SENT,
        EventType.UNKNOWN,
    ],
)
def test_other_events_do_not_stop_by_default(event: EventType) -> None:
    assert not should_stop(event)


def test_an_auto_reply_never_stops_even_when_configured_to() -> None:
    stop_on = frozenset({EventType.AUTO_REPLY_RECEIVED, EventType.REPLY_RECEIVED})
    assert not should_stop(EventType.AUTO_REPLY_RECEIVED, stop_on)
    assert stop_reason(EventType.AUTO_REPLY_RECEIVED, stop_on) is None


def test_a_campaign_may_choose_its_own_stop_events() -> None:
    stop_on = frozenset({EventType.MESSAGE_CLICKED, EventType.REPLY_RECEIVED})
    assert should_stop(EventType.MESSAGE_CLICKED, stop_on)
    assert not should_stop(EventType.UNSUBSCRIBED, stop_on)
    assert stop_reason(EventType.MESSAGE_CLICKED, stop_on) is StopReason.EVENT


def test_each_default_stop_event_has_its_own_reason() -> None:
    assert stop_reason(EventType.REPLY_RECEIVED) is StopReason.REPLIED
    assert stop_reason(EventType.BOUNCED_HARD) is StopReason.BOUNCED
    assert stop_reason(EventType.COMPLAINED) is StopReason.COMPLAINED
    assert stop_reason(EventType.UNSUBSCRIBED) is StopReason.UNSUBSCRIBED
    assert stop_reason(EventType.BOUNCED_SOFT) is None


@pytest.mark.parametrize("stage", ["MEETING", "WON", "LOST", "won", " Meeting ", LeadStage.LOST])
def test_meeting_won_and_lost_stop_outreach(stage: str) -> None:
    assert stop_on_stage(stage)


@pytest.mark.parametrize("stage", ["NEW", "CONTACTED", "ENGAGED", "QUALIFIED", "", "WONDERFUL"])
def test_earlier_stages_do_not_stop_outreach(stage: str) -> None:
    assert not stop_on_stage(stage)


# ----------------------------------------------------------------- next_action


def act(
    outcome: AttemptOutcome,
    step: int = 0,
    channel: int = 0,
    *,
    seq: Sequence = SEQ,
    retries: int = 0,
    cal: WorkCalendar | None = None,
    **kw: Any,
) -> Decision:
    return next_action(
        seq,
        step,
        channel,
        outcome,
        NOW,
        retry_policy=RetryPolicy(),
        retries_so_far=retries,
        cal=cal,
        **kw,
    )


def test_a_sent_step_advances_to_the_next_step_after_its_delay() -> None:
    d = act(AttemptOutcome.SENT)
    assert d.kind is DecisionKind.ADVANCE
    assert (d.step_index, d.channel_index, d.channel) == (1, 0, LINKEDIN)
    assert d.at == NOW + timedelta(hours=72)
    assert d.retries == 0
    assert "step 1 (LINKEDIN) due in 72 h" in d.reason
    assert state_after(d) is EnrollmentState.ACTIVE


def test_a_send_on_a_fallback_channel_also_advances() -> None:
    d = act(AttemptOutcome.SENT, step=0, channel=2)
    assert (d.kind, d.step_index, d.channel_index) == (DecisionKind.ADVANCE, 1, 0)


def test_a_sent_last_step_completes_the_enrollment() -> None:
    d = act(AttemptOutcome.SENT, step=2)
    assert d.kind is DecisionKind.COMPLETE
    assert d.at is None
    assert state_after(d) is EnrollmentState.COMPLETED


def test_business_day_delays_are_counted_on_the_leads_calendar() -> None:
    seq = parse_steps(
        [STORED_STEPS[0], {**STORED_STEPS[1], "delay_hours": 0, "delay_business_days": 3}]
    )
    cal = WorkCalendar("America/New_York")
    thursday_noon_ny = datetime(2024, 6, 13, 16, 0, tzinfo=UTC)
    d = next_action(
        seq,
        0,
        0,
        AttemptOutcome.SENT,
        thursday_noon_ny,
        retry_policy=RetryPolicy(),
        retries_so_far=0,
        cal=cal,
    )
    assert d.at == datetime(2024, 6, 18, 16, 0, tzinfo=UTC)  # Tuesday noon in New York


def test_business_days_without_a_calendar_skip_weekends_in_utc() -> None:
    step = Step.model_validate({**STORED_STEPS[1], "delay_hours": 0, "delay_business_days": 1})
    friday = datetime(2024, 6, 14, 15, 30, tzinfo=UTC)
    assert due_at(step, friday) == datetime(2024, 6, 17, 15, 30, tzinfo=UTC)


def test_hours_and_business_days_add_up() -> None:
    step = Step.model_validate({**STORED_STEPS[1], "delay_hours": 6, "delay_business_days": 1})
    friday = datetime(2024, 6, 14, 20, 0, tzinfo=UTC)  # +6 h is Saturday 02:00
    assert due_at(step, friday) == datetime(2024, 6, 18, 0, 0, tzinfo=UTC)


def test_with_a_calendar_the_next_step_waits_for_the_window() -> None:
    cal = WorkCalendar("Europe/Paris")
    friday_evening = datetime(2024, 6, 14, 18, 0, tzinfo=UTC)  # 20:00 in Paris
    seq = parse_steps([STORED_STEPS[0], {**STORED_STEPS[1], "delay_hours": 1}])
    d = next_action(
        seq,
        0,
        0,
        AttemptOutcome.SENT,
        friday_evening,
        retry_policy=RetryPolicy(),
        retries_so_far=0,
        cal=cal,
    )
    assert d.at == datetime(2024, 6, 17, 7, 0, tzinfo=UTC)  # Monday 09:00 in Paris


def test_the_first_step_is_due_after_its_own_delay() -> None:
    assert due_at(SEQ.steps[0], NOW) == NOW
    assert due_at(SEQ.steps[2], NOW) == NOW + timedelta(hours=96)


def test_a_transient_failure_is_retried_with_backoff() -> None:
    first = act(AttemptOutcome.TRANSIENT, retries=0, detail="421 try later")
    assert first.kind is DecisionKind.RETRY
    assert (first.step_index, first.channel_index, first.channel) == (0, 0, EMAIL)
    assert first.at == NOW + timedelta(hours=24)
    assert first.retries == 1
    assert first.reason == "EMAIL failed for now (421 try later); retry 1 of 2 in 24 h"
    second = act(AttemptOutcome.TRANSIENT, retries=1)
    assert (second.kind, second.at, second.retries) == (
        DecisionKind.RETRY,
        NOW + timedelta(hours=48),
        2,
    )


def test_retry_jitter_is_passed_through_and_stays_within_ten_percent() -> None:
    d = act(AttemptOutcome.TRANSIENT, jitter_seed="enrollment:9")
    assert d.at is not None
    assert abs(d.at - (NOW + timedelta(hours=24))) <= timedelta(hours=2.4)
    assert d == act(AttemptOutcome.TRANSIENT, jitter_seed="enrollment:9")


def test_when_retries_are_used_up_the_next_channel_takes_over_now() -> None:
    d = act(AttemptOutcome.TRANSIENT, retries=2)
    assert d.kind is DecisionKind.FALLBACK
    assert (d.step_index, d.channel_index, d.channel, d.at) == (0, 1, LINKEDIN, NOW)
    assert d.retries == 0
    assert "retries used up (2 of 2); falling back to LINKEDIN" in d.reason


@pytest.mark.parametrize("outcome", [AttemptOutcome.PERMANENT, AttemptOutcome.UNUSABLE])
def test_a_permanent_or_unusable_channel_falls_back_at_once(outcome: AttemptOutcome) -> None:
    d = act(outcome, retries=0)
    assert (d.kind, d.channel_index, d.channel, d.at) == (DecisionKind.FALLBACK, 1, LINKEDIN, NOW)
    d = act(outcome, channel=1)
    assert (d.kind, d.channel_index, d.channel) == (DecisionKind.FALLBACK, 2, FORM)


def test_when_every_channel_failed_the_step_fails_with_all_reasons() -> None:
    history = ["EMAIL refused the message (550 5.1.1)", "LINKEDIN cannot reach this lead"]
    d = act(AttemptOutcome.UNUSABLE, channel=2, detail="no form found", history=history)
    assert d.kind is DecisionKind.FAIL
    assert d.at is None
    assert d.reasons == (*history, "CONTACT_FORM cannot reach this lead (no form found)")
    assert d.reason.startswith("every channel of step 0 failed: EMAIL refused")
    assert state_after(d) is EnrollmentState.FAILED


def test_a_transient_failure_on_the_last_channel_fails_only_after_its_retries() -> None:
    assert act(AttemptOutcome.TRANSIENT, step=2, retries=1).kind is DecisionKind.RETRY
    d = act(AttemptOutcome.TRANSIENT, step=2, retries=2)
    assert d.kind is DecisionKind.FAIL
    assert d.reasons == ("CONTACT_FORM failed for now; retries used up (2 of 2)",)


def test_an_unknown_outcome_is_held_for_the_operator_and_never_resent() -> None:
    d = act(AttemptOutcome.UNKNOWN, retries=1, detail="connection lost after DATA")
    assert d.kind is DecisionKind.HOLD
    assert d.at is None
    assert d.channel is None
    assert (d.step_index, d.channel_index, d.retries) == (0, 0, 1)
    assert "not resent" in d.reason
    assert state_after(d) is EnrollmentState.WAITING


def test_with_a_calendar_retries_and_fallbacks_wait_for_the_window() -> None:
    cal = WorkCalendar("Europe/Paris")
    saturday = datetime(2024, 6, 15, 10, 0, tzinfo=UTC)
    monday_nine = datetime(2024, 6, 17, 7, 0, tzinfo=UTC)
    retry = next_action(
        SEQ,
        0,
        0,
        AttemptOutcome.TRANSIENT,
        saturday,
        retry_policy=RetryPolicy(),
        retries_so_far=0,
        cal=cal,
    )
    assert retry.at == monday_nine  # Sunday 10:00Z + 24 h is closed too
    fallback = next_action(
        SEQ,
        0,
        0,
        AttemptOutcome.PERMANENT,
        saturday,
        retry_policy=RetryPolicy(),
        retries_so_far=0,
        cal=cal,
    )
    assert fallback.at == monday_nine


@pytest.mark.parametrize(
    ("step", "channel", "retries", "field"),
    [
        (3, 0, 0, "step_index"),
        (-1, 0, 0, "step_index"),
        (2, 1, 0, "channel_index"),
        (0, 0, -1, "retries_so_far"),
    ],
)
def test_impossible_positions_are_refused(
    step: int, channel: int, retries: int, field: str
) -> None:
    with pytest.raises(ValidationError) as err:
        act(AttemptOutcome.SENT, step, channel, retries=retries)
    assert err.value.field == field


def test_a_naive_now_is_refused() -> None:
    with pytest.raises(ValidationError):
        next_action(
            SEQ,
            0,
            0,
            AttemptOutcome.SENT,
            datetime(2024, 6, 11),
            retry_policy=RetryPolicy(),
            retries_so_far=0,
            cal=None,
        )


@pytest.mark.parametrize(
    ("error", "outcome"),
    [
        (None, AttemptOutcome.SENT),
        (TransientChannelError(), AttemptOutcome.TRANSIENT),
        (RateLimitedError(), AttemptOutcome.TRANSIENT),
        (PermanentChannelError(), AttemptOutcome.PERMANENT),
        (SuppressedError(), AttemptOutcome.UNUSABLE),
        (UnsupportedFeatureError(), AttemptOutcome.UNUSABLE),
        (OutcomeUnknownError(), AttemptOutcome.UNKNOWN),
        (ChannelError(), AttemptOutcome.UNKNOWN),
        (RuntimeError("boom"), AttemptOutcome.UNKNOWN),
    ],
)
def test_channel_errors_map_to_outcomes_and_anything_else_is_unknown(
    error: BaseException | None, outcome: AttemptOutcome
) -> None:
    assert outcome_of(error) is outcome


def test_terminal_states_are_completed_stopped_and_failed() -> None:
    assert (
        frozenset({EnrollmentState.COMPLETED, EnrollmentState.STOPPED, EnrollmentState.FAILED})
        == TERMINAL_STATES
    )


# ------------------------------------------------------------------ properties

outcomes = st.sampled_from(list(AttemptOutcome))


@settings(max_examples=200, deadline=None)
@given(
    seq=sequences,
    max_retries=st.integers(0, 3),
    results=st.lists(outcomes, min_size=1, max_size=60),
)
def test_any_run_of_outcomes_moves_forward_and_ends_within_a_bounded_number_of_attempts(
    seq: Sequence, max_retries: int, results: list[AttemptOutcome]
) -> None:
    """Drive the machine as the worker would; outcomes come from hypothesis."""
    policy = RetryPolicy(max_retries=max_retries, backoff_hours=[1, 2])
    step, channel, retries, now = 0, 0, 0, NOW
    attempts: dict[tuple[int, int], int] = {}
    bound = sum(len(channels_for(s)) for s in seq.steps) * (max_retries + 1)
    for count, outcome in enumerate(results, start=1):
        assert count <= bound
        attempts[step, channel] = attempts.get((step, channel), 0) + 1
        assert attempts[step, channel] <= max_retries + 1
        d = next_action(
            seq, step, channel, outcome, now, retry_policy=policy, retries_so_far=retries, cal=None
        )
        if outcome is AttemptOutcome.UNKNOWN:
            assert d.kind is DecisionKind.HOLD
            return
        assert d.kind is not DecisionKind.HOLD
        if d.kind in (DecisionKind.COMPLETE, DecisionKind.FAIL):
            assert d.at is None
            assert state_after(d) in TERMINAL_STATES
            if d.kind is DecisionKind.COMPLETE:
                assert outcome is AttemptOutcome.SENT
                assert step == len(seq.steps) - 1
            return
        assert d.at is not None and d.at >= now
        assert d.channel is channels_for(seq.steps[d.step_index])[d.channel_index]
        if d.kind is DecisionKind.ADVANCE:
            assert outcome is AttemptOutcome.SENT
            assert (d.step_index, d.channel_index, d.retries) == (step + 1, 0, 0)
        elif d.kind is DecisionKind.RETRY:
            assert outcome is AttemptOutcome.TRANSIENT
            assert (d.step_index, d.channel_index, d.retries) == (step, channel, retries + 1)
        else:
            assert d.kind is DecisionKind.FALLBACK
            assert outcome is not AttemptOutcome.SENT
            assert (d.step_index, d.channel_index, d.retries) == (step, channel + 1, 0)
        step, channel, retries, now = d.step_index, d.channel_index, d.retries, d.at


@settings(max_examples=100, deadline=None)
@given(
    seq=sequences,
    data=st.data(),
    now=st.integers(0, 3 * 365 * 24 * 60).map(lambda m: NOW + timedelta(minutes=m)),
    zone=st.sampled_from(["Europe/Paris", "America/New_York", "Pacific/Auckland", "UTC"]),
)
def test_with_a_calendar_every_scheduled_instant_is_open(
    seq: Sequence, data: st.DataObject, now: datetime, zone: str
) -> None:
    cal = WorkCalendar(zone, start=time(8), end=time(18))
    step = data.draw(st.integers(0, len(seq.steps) - 1))
    channel = data.draw(st.integers(0, len(channels_for(seq.steps[step])) - 1))
    outcome = data.draw(outcomes)
    d = next_action(
        seq, step, channel, outcome, now, retry_policy=RetryPolicy(), retries_so_far=0, cal=cal
    )
    if d.at is not None:
        assert d.at >= now
        assert is_open(cal, d.at)
