"""A campaign's performance over a period, from the daily rollups (metrics_daily).

One function per view of the same counters: the totals, the funnel per step, the rates
per day, the channels side by side. Each returns a plain dict (dates, counts, rates in
percent of messages sent, see :mod:`aicmo.cam.domain.rates`); the reports, the digest and
the dashboard turn those dicts into what people read. Nothing here scans the events table
or builds SQL: the sums come from ``repo.metric_breakdown``.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy.orm import Session

from aicmo.cam import repository as repo
from aicmo.cam.db_models import DEFAULT_WORKSPACE_ID, CampaignDB
from aicmo.cam.domain.rates import with_rates
from aicmo.errors import NotFoundError, ValidationError

#: The longest period one report covers (a daily chart of more is unreadable).
MAX_REPORT_DAYS = 366
#: The period a report covers when none is given: the last 30 days, today included.
DEFAULT_REPORT_DAYS = 30
#: Longest step label kept from a subject line (the rest is cut with an ellipsis).
_SUBJECT_CHARS = 60


def report_period(since: date | None, until: date | None, *, today: date) -> tuple[date, date]:
    """The period asked for, both days included; by default the 30 days up to today.

    Raises:
        ValidationError: ``until`` before ``since``, or more than 366 days.
    """
    end = until or today
    start = since or end - timedelta(days=DEFAULT_REPORT_DAYS - 1)
    if end < start:
        raise ValidationError(
            f"the period ends ({end.isoformat()}) before it starts ({start.isoformat()})",
            field="to",
        )
    if (end - start).days + 1 > MAX_REPORT_DAYS:
        raise ValidationError(
            f"a report covers at most {MAX_REPORT_DAYS} days; "
            f"{start.isoformat()} to {end.isoformat()} is {(end - start).days + 1}",
            field="from",
        )
    return start, end


def find_campaign(
    db: Session, ref: str | int, *, workspace_id: int = DEFAULT_WORKSPACE_ID
) -> dict[str, Any]:
    """A campaign of the workspace by id or name: its id, name, status and step labels.

    Raises:
        NotFoundError: no such campaign in this workspace.
    """
    row = _campaign_row(db, ref, workspace_id)
    return {
        "id": row.id,
        "name": row.name,
        "status": row.status,
        "steps": step_labels(repo.campaign_steps(db, row)),
    }


def _campaign_row(db: Session, ref: str | int, workspace_id: int) -> CampaignDB:
    row = repo.campaign_by_ref(db, workspace_id, ref)
    if row is None:
        raise NotFoundError(f"no campaign {ref!r}")
    return row


def step_labels(steps: list[Any]) -> dict[int, str]:
    """``{0: "Step 1 · EMAIL · Quick question"}``: the number, the channel and the subject
    (when the step has one) of each stored step definition."""
    labels: dict[int, str] = {}
    for index, step in enumerate(steps):
        step = step if isinstance(step, dict) else {}
        channel = str(step.get("channel") or "?").upper()
        template = step.get("template") if isinstance(step.get("template"), dict) else {}
        subject = template.get("subject") if isinstance(template, dict) else None
        if not isinstance(subject, str) and isinstance(template, dict):
            own = template.get(channel)
            subject = own.get("subject") if isinstance(own, dict) else None
        label = f"Step {index + 1} · {channel}"
        if isinstance(subject, str) and subject.strip():
            short = " ".join(subject.split())
            if len(short) > _SUBJECT_CHARS:
                short = short[: _SUBJECT_CHARS - 1] + "…"
            label += f" · {short}"
        labels[index] = label
    return labels


def _zero() -> dict[str, int]:
    return dict.fromkeys(repo.counter_columns(), 0)


def _counts(row: dict[str, Any]) -> dict[str, int]:
    return {c: int(row.get(c, 0)) for c in repo.counter_columns()}


def get_campaign_summary(
    db: Session,
    campaign_id: int,
    since: date,
    until: date,
    *,
    workspace_id: int = DEFAULT_WORKSPACE_ID,
) -> dict[str, Any]:
    """The campaign's totals over the period, with the key rates.

    Returns:
        ``{"since", "until", "has_data", "figures": {counter: n, ..., rate: pct, ...}}``;
        ``has_data`` is False when no counter moved in the period.
    """
    rows = repo.metric_breakdown(
        db, workspace_id, since=since, until=until, campaign_id=campaign_id, by=()
    )
    counts = _counts(rows[0]) if rows else _zero()
    return {
        "since": since,
        "until": until,
        "has_data": bool(rows),
        "figures": with_rates(counts),
    }


def get_step_funnel(
    db: Session,
    campaign_id: int,
    since: date,
    until: date,
    *,
    workspace_id: int = DEFAULT_WORKSPACE_ID,
) -> dict[str, Any]:
    """Per step of the sequence: what was attempted, sent, delivered, replied to.

    A reply counts for the step whose message it answers. Steps with no activity in the
    period are listed with zeros (the funnel shows where people drop out); activity with
    no step (a one-off send) is the row with ``step`` None.

    Returns:
        ``{"since", "until", "steps": [{"step", "label", counter: n, rate: pct, ...}]}``.
    """
    labels = step_labels(repo.campaign_steps(db, _campaign_row(db, campaign_id, workspace_id)))
    rows = repo.metric_breakdown(
        db, workspace_id, since=since, until=until, campaign_id=campaign_id, by=("step_key",)
    )
    by_step = {int(r["step_key"]): _counts(r) for r in rows}
    steps: list[dict[str, Any]] = []
    for index in sorted(set(labels) | {k for k in by_step if k >= 0}):
        counts = by_step.get(index, _zero())
        label = labels.get(index, f"Step {index + 1} (no longer in the sequence)")
        steps.append({"step": index, "label": label, **with_rates(counts)})
    if -1 in by_step:
        steps.append({"step": None, "label": "Outside the sequence", **with_rates(by_step[-1])})
    return {"since": since, "until": until, "steps": steps}


def get_daily_rates(
    db: Session,
    campaign_id: int,
    since: date,
    until: date,
    *,
    workspace_id: int = DEFAULT_WORKSPACE_ID,
) -> dict[str, Any]:
    """Every day of the period (days with nothing included, as zeros) with its counts and
    rates: a rate is that day's events over that day's sends.

    Returns:
        ``{"since", "until", "days": [{"day", counter: n, rate: pct, ...}]}``.
    """
    rows = repo.metric_breakdown(
        db, workspace_id, since=since, until=until, campaign_id=campaign_id, by=("day",)
    )
    by_day = {r["day"]: _counts(r) for r in rows}
    days = []
    for offset in range((until - since).days + 1):
        day = since + timedelta(days=offset)
        days.append({"day": day, **with_rates(by_day.get(day, _zero()))})
    return {"since": since, "until": until, "days": days}


def get_channel_comparison(
    db: Session,
    campaign_id: int,
    since: date,
    until: date,
    *,
    workspace_id: int = DEFAULT_WORKSPACE_ID,
) -> dict[str, Any]:
    """The channels the campaign used in the period, side by side.

    Returns:
        ``{"since", "until", "channels": [{"channel", counter: n, rate: pct, ...}]}``,
        channels in name order, only those with activity.
    """
    rows = repo.metric_breakdown(
        db, workspace_id, since=since, until=until, campaign_id=campaign_id, by=("channel",)
    )
    channels = [{"channel": r["channel"], **with_rates(_counts(r))} for r in rows]
    return {"since": since, "until": until, "channels": channels}


def get_workspace_campaign_totals(
    db: Session, since: date, until: date, *, workspace_id: int = DEFAULT_WORKSPACE_ID
) -> dict[int, dict[str, float | int]]:
    """Every campaign's totals over the period, with the key rates, by campaign id (0:
    sends outside any campaign). Campaigns with no activity are left out."""
    rows = repo.metric_breakdown(
        db, workspace_id, since=since, until=until, campaign_id=None, by=("campaign_key",)
    )
    return {int(r["campaign_key"]): with_rates(_counts(r)) for r in rows}
