"""The decision of what happens after each attempt.

The worker records an attempt's outcome and asks :func:`next_action` what to do; it gets
back a :class:`Decision` (advance, retry, fall back to the next channel, complete, fail,
or hold for the operator) and stores it on the enrollment (``state``, ``step_index``,
``channel_index``, ``retries``, ``next_run_at``).
"""

from __future__ import annotations

from collections.abc import Sequence as SequenceABC
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from aicmo.cam.domain.retry import DEFAULT_RETRY_POLICY, RetryPolicy, decide_retry
from aicmo.cam.domain.sequencing.states import EnrollmentState
from aicmo.cam.domain.sequencing.steps import Sequence, channels_for
from aicmo.cam.domain.sequencing.timing import due_at
from aicmo.cam.domain.window import WorkCalendar, next_open, require_aware
from aicmo.errors import (
    OutcomeUnknownError,
    PermanentChannelError,
    RateLimitedError,
    SuppressedError,
    TransientChannelError,
    UnsupportedFeatureError,
    ValidationError,
)


class AttemptOutcome(StrEnum):
    """What one attempt on one channel came to."""

    #: The transport accepted the message.
    SENT = "SENT"
    #: A temporary failure (4xx, timeout before hand-off, provider busy): may retry.
    TRANSIENT = "TRANSIENT"
    #: The channel refused the message for good (5xx, rejected form).
    PERMANENT = "PERMANENT"
    #: The channel cannot reach this lead: no address, suppressed, profile that cannot
    #: be messaged, no contact form found.
    UNUSABLE = "UNUSABLE"
    #: The send may or may not have happened (crash after the hand-off): never resent
    #: blindly (invariant 1).
    UNKNOWN = "UNKNOWN"


class DecisionKind(StrEnum):
    """What the worker does next with an enrollment."""

    #: Go to step ``step_index`` (the next one), first channel, at ``at``.
    ADVANCE = "ADVANCE"
    #: Try the same step and channel again at ``at``.
    RETRY = "RETRY"
    #: Same step, next channel (``channel_index``), at ``at`` (now, or the next open
    #: instant of the calendar).
    FALLBACK = "FALLBACK"
    #: The last step went out: the enrollment is complete.
    COMPLETE = "COMPLETE"
    #: Every channel of the step failed; ``reasons`` says how.
    FAIL = "FAIL"
    #: The outcome is unknown: nothing is resent; the operator decides.
    HOLD = "HOLD"


@dataclass(frozen=True, slots=True)
class Decision:
    """The worker's next move for one enrollment."""

    kind: DecisionKind
    #: Step to run next (ADVANCE: the new step; otherwise the current one).
    step_index: int
    #: Index into ``channels_for(step)`` of the channel to use next.
    channel_index: int
    #: When to run (aware UTC or the offset of ``now``); None for COMPLETE, FAIL, HOLD.
    at: datetime | None
    #: Why, in words for the operator.
    reason: str
    #: The channel to use at ``at``; None when nothing is scheduled.
    channel: str | None = None
    #: Value for ``enrollments.retries`` after this decision.
    retries: int = 0
    #: For FAIL: one line per failed channel of the step, in order.
    reasons: tuple[str, ...] = ()


def state_after(decision: Decision) -> EnrollmentState:
    """The enrollment state a decision leads to."""
    return {
        DecisionKind.ADVANCE: EnrollmentState.ACTIVE,
        DecisionKind.RETRY: EnrollmentState.ACTIVE,
        DecisionKind.FALLBACK: EnrollmentState.ACTIVE,
        DecisionKind.COMPLETE: EnrollmentState.COMPLETED,
        DecisionKind.FAIL: EnrollmentState.FAILED,
        DecisionKind.HOLD: EnrollmentState.WAITING,
    }[decision.kind]


def outcome_of(error: BaseException | None) -> AttemptOutcome:
    """The outcome of an attempt from what the channel raised (None: it was sent).

    Anything not recognised counts as UNKNOWN: it may have happened after the hand-off,
    and a blind resend could send twice.
    """
    if error is None:
        return AttemptOutcome.SENT
    if isinstance(error, OutcomeUnknownError):
        return AttemptOutcome.UNKNOWN
    if isinstance(error, TransientChannelError | RateLimitedError):
        return AttemptOutcome.TRANSIENT
    if isinstance(error, SuppressedError | UnsupportedFeatureError):
        return AttemptOutcome.UNUSABLE
    if isinstance(error, PermanentChannelError):
        return AttemptOutcome.PERMANENT
    return AttemptOutcome.UNKNOWN


_OUTCOME_WORDS = {
    AttemptOutcome.TRANSIENT: "failed for now",
    AttemptOutcome.PERMANENT: "refused the message",
    AttemptOutcome.UNUSABLE: "cannot reach this lead",
}


def _failure_line(channel: str, outcome: AttemptOutcome, detail: str | None) -> str:
    words = _OUTCOME_WORDS.get(outcome, outcome.value.lower())
    return f"{channel} {words}" + (f" ({detail})" if detail else "")


def _hours(delta: timedelta) -> str:
    return f"{delta.total_seconds() / 3600:.4g} h"


def next_action(
    seq: Sequence,
    step_index: int,
    channel_index: int,
    outcome: AttemptOutcome,
    now: datetime,
    *,
    retry_policy: RetryPolicy = DEFAULT_RETRY_POLICY,
    retries_so_far: int = 0,
    cal: WorkCalendar | None = None,
    detail: str | None = None,
    history: SequenceABC[str] = (),
    jitter_seed: str | None = None,
) -> Decision:
    """Decide what follows an attempt on ``channels_for(step)[channel_index]``.

    Rules:

    - SENT: ADVANCE to the next step at :func:`due_at` of that step, or COMPLETE after
      the last step.
    - TRANSIENT: RETRY the same channel per :func:`~aicmo.cam.domain.retry.decide_retry`
      while ``retries_so_far < retry_policy.max_retries``; then FALLBACK.
    - PERMANENT, UNUSABLE: FALLBACK to the next channel at once.
    - FALLBACK with no channel left becomes FAIL, carrying every failure line.
    - UNKNOWN: HOLD, never a resend (invariant 1).

    With ``cal``, every scheduled instant is moved to the calendar's next open instant.

    Args:
        seq: the sequence.
        step_index: the step just attempted (0-based).
        channel_index: the channel just attempted, as an index into ``channels_for``.
        outcome: what the attempt came to.
        now: when the outcome was recorded (aware).
        retry_policy: the attempted channel's retry policy.
        retries_so_far: retries already made on this step and channel.
        cal: the lead's sending calendar, if any.
        detail: the channel's own words (``"550 5.1.1 user unknown"``), for the reason.
        history: failure lines of the step's earlier channels, so FAIL lists them all.
        jitter_seed: stable identity of the enrollment, for deterministic retry jitter.

    Returns:
        The :class:`Decision`.

    Raises:
        ValidationError: an index out of range, negative retries, or a naive ``now``.
    """
    require_aware(now, "now")
    if not 0 <= step_index < len(seq.steps):
        raise ValidationError(
            f"step_index {step_index} is outside the sequence (0–{len(seq.steps) - 1})",
            field="step_index",
        )
    step = seq.steps[step_index]
    channels = channels_for(step)
    if not 0 <= channel_index < len(channels):
        raise ValidationError(
            f"channel_index {channel_index} is outside step {step_index}'s channels "
            f"(0–{len(channels) - 1})",
            field="channel_index",
        )
    if retries_so_far < 0:
        raise ValidationError(
            f"retries_so_far must be >= 0, got {retries_so_far}", field="retries_so_far"
        )
    channel = channels[channel_index]

    def scheduled(at: datetime) -> datetime:
        return next_open(cal, at) if cal is not None else at

    if outcome is AttemptOutcome.UNKNOWN:
        return Decision(
            kind=DecisionKind.HOLD,
            step_index=step_index,
            channel_index=channel_index,
            at=None,
            reason=f"{channel} outcome unknown"
            + (f" ({detail})" if detail else "")
            + ": not resent; the operator decides",
            retries=retries_so_far,
        )

    if outcome is AttemptOutcome.SENT:
        if step_index + 1 >= len(seq.steps):
            return Decision(
                kind=DecisionKind.COMPLETE,
                step_index=step_index,
                channel_index=channel_index,
                at=None,
                reason=f"{channel} sent; that was the last step",
            )
        following = seq.steps[step_index + 1]
        at = due_at(following, now, cal)
        return Decision(
            kind=DecisionKind.ADVANCE,
            step_index=step_index + 1,
            channel_index=0,
            at=at,
            reason=f"{channel} sent; step {step_index + 1} ({following.channel}) "
            f"due in {_hours(at - now)}",
            channel=following.channel,
        )

    line = _failure_line(channel, outcome, detail)
    if outcome is AttemptOutcome.TRANSIENT:
        retry = decide_retry(retry_policy, retries_so_far, now, jitter_seed)
        if retry.retry and retry.at is not None:
            return Decision(
                kind=DecisionKind.RETRY,
                step_index=step_index,
                channel_index=channel_index,
                at=scheduled(retry.at),
                reason=f"{line}; {retry.reason}",
                channel=channel,
                retries=retries_so_far + 1,
            )
        line = f"{line}; {retry.reason}"

    if channel_index + 1 < len(channels):
        following_channel = channels[channel_index + 1]
        return Decision(
            kind=DecisionKind.FALLBACK,
            step_index=step_index,
            channel_index=channel_index + 1,
            at=scheduled(now),
            reason=f"{line}; falling back to {following_channel}",
            channel=following_channel,
        )
    reasons = (*history, line)
    return Decision(
        kind=DecisionKind.FAIL,
        step_index=step_index,
        channel_index=channel_index,
        at=None,
        reason=f"every channel of step {step_index} failed: " + "; ".join(reasons),
        reasons=reasons,
    )
