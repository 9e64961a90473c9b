"""The rules of one attempt: whether it may go now, its key, what its outcome means.

Pure: no I/O, no clock. The engine checks these for one enrollment at a time and, in its
batched planner, for a whole claimed batch; both fetch the facts their own way (a query
per enrollment, or one query for the batch) and ask the same functions here, so the two
paths cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from aicmo.cam.domain.ratelimit import Window, fits, next_send_slot
from aicmo.cam.domain.sequencing import DEFAULT_STOP_ON, STOP_STAGES, AttemptOutcome

__all__ = [
    "STOP_EVENTS",
    "STOP_STAGE_NAMES",
    "TouchLimit",
    "attempt_key",
    "attempt_outcome",
    "has_sending_window",
    "stop_reason",
]

#: The default stop conditions, as the strings stored in the tables.
STOP_EVENTS: tuple[str, ...] = tuple(sorted(e.value for e in DEFAULT_STOP_ON))
STOP_STAGE_NAMES: frozenset[str] = frozenset(s.value for s in STOP_STAGES)


def attempt_key(enrollment_id: int, step_index: int, channel: str, retries: int) -> str:
    """The idempotency key of an enrollment's attempt: one per (enrollment, step, channel,
    try). Written with the SENDING row before the send; a key already on record is never
    sent again."""
    return f"enr:{enrollment_id}:s{step_index}:{channel}:t{retries}"


def attempt_outcome(name: str, *, otherwise: AttemptOutcome | None = None) -> AttemptOutcome:
    """The :class:`AttemptOutcome` an attempt's outcome name stands for (SENT, TRANSIENT,
    PERMANENT, UNUSABLE, UNKNOWN).

    Raises:
        KeyError: ``name`` is none of them (SUPPRESSED, TASK, WAIT: not a channel's
            outcome) and no ``otherwise`` is given.
    """
    outcome = _OUTCOMES.get(name, otherwise)
    if outcome is None:
        raise KeyError(name)
    return outcome


_OUTCOMES: Mapping[str, AttemptOutcome] = {o.value: o for o in AttemptOutcome}


def stop_reason(stage: str | None, stopped_by: Callable[[], str | None]) -> str | None:
    """Why a lead must not be contacted by something that began at some instant (an
    enrollment, a task), or None.

    Args:
        stage: the lead's stage; None when the lead no longer exists.
        stopped_by: the stop event (:data:`STOP_EVENTS`) about the lead at or after that
            instant, if any; asked only when the lead is still there at a stage that does
            not stop it (the query behind it is skipped otherwise).
    """
    if stage is None:
        return "the lead no longer exists"
    if stage in STOP_STAGE_NAMES:
        return f"the lead's stage is {stage}"
    event = stopped_by()
    return f"stopped by {event}" if event else None


def has_sending_window(settings: Mapping[str, Any]) -> bool:
    """Whether a campaign (its ``settings``) sends only inside working hours."""
    return bool(settings.get("window"))


@dataclass(frozen=True, slots=True)
class TouchLimit:
    """How often one lead may be touched (any channel, any campaign): at most ``limit``
    touches per ``period`` (0: no such cap), and ``gap`` between two touches."""

    limit: int
    period: timedelta
    gap: timedelta
    #: The windows of :func:`aicmo.cam.domain.ratelimit.fits`, made once (a batch asks
    #: for every lead).
    windows: tuple[Window, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        windows = (Window(self.period, self.limit),) if self.limit > 0 else ()
        object.__setattr__(self, "windows", windows)

    @classmethod
    def of(cls, config: Mapping[str, Any]) -> TouchLimit:
        """From a channel's config (``per_lead_limit``, ``per_lead_period_hours``,
        ``min_gap_hours``)."""
        return cls(
            limit=config["per_lead_limit"],
            period=timedelta(hours=config["per_lead_period_hours"]),
            gap=timedelta(hours=config["min_gap_hours"]),
        )

    def since(self, now: datetime) -> datetime:
        """Touches recorded after this instant are all that can matter at ``now``."""
        return now - max(self.period, self.gap)

    def next_slot(self, touches: Sequence[datetime], now: datetime) -> datetime | None:
        """When the lead may be touched again, given its recent ``touches``; None if now."""
        if fits(touches, self.windows, now, min_gap=self.gap):
            return None
        return next_send_slot(touches, self.windows, now, min_gap=self.gap)
