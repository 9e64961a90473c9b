"""Per-step metrics of one campaign: counts and rates per (step, channel), read from the
daily rollups (never a scan of the events or the attempts)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from aicmo.cam.db_models import DEFAULT_WORKSPACE_ID
from aicmo.cam.domain.rollups import COUNTERS
from aicmo.cam.repository import metrics as metrics_repo
from aicmo.errors import ValidationError
from aicmo.operator_services.uow import utcnow


def rate(part: int, whole: int) -> float:
    """``part`` in percent of ``whole``, two decimals; 0.0 when ``whole`` is 0."""
    return round(100.0 * part / whole, 2) if whole else 0.0


def get_step_metrics(
    db: Session,
    campaign_id: int,
    days: int = 7,
    *,
    workspace_id: int = DEFAULT_WORKSPACE_ID,
    now: datetime | None = None,
) -> list[dict[str, Any]]:
    """Counts and rates (percent) per step and channel of one campaign over the last
    ``days`` days, steps in order (``step`` is 0-based; ``None`` for events tied to no
    step, such as an open reported without its attempt's step), then channels by name.

    Rates are relative to messages sent, like ``get_channel_metrics``:
    ``reply_rate``, ``positive_reply_rate`` (replies whose current category is
    positive), ``meeting_rate``, ``bounce_rate`` (hard and soft), ``delivery_rate``,
    ``unsubscribe_rate``. A rate with a zero denominator is 0.0; a campaign with no
    traffic (or an id of no campaign of the workspace) gives an empty list.

    Raises:
        ValidationError: ``days`` is not a positive whole number.
    """
    if isinstance(days, bool) or not isinstance(days, int) or days < 1:
        raise ValidationError(f"days must be a positive whole number, got {days!r}", field="days")
    days = min(days, 36_500)
    since = (now or utcnow()).date() - timedelta(days=days - 1)
    out: list[dict[str, Any]] = []
    for row in metrics_repo.step_totals(db, workspace_id, since=since, campaign_id=campaign_id):
        counts = {c: row[c] for c in COUNTERS}
        sent = counts["sent"]
        bounced = counts["bounced_hard"] + counts["bounced_soft"]
        out.append(
            {
                "step": None if row["step_key"] < 0 else row["step_key"],
                "channel": row["channel"],
                **counts,
                "bounced": bounced,
                "delivery_rate": rate(counts["delivered"], sent),
                "reply_rate": rate(counts["replied"], sent),
                "positive_reply_rate": rate(counts["positive_replied"], sent),
                "meeting_rate": rate(counts["meetings"], sent),
                "bounce_rate": rate(bounced, sent),
                "unsubscribe_rate": rate(counts["unsubscribed"], sent),
                "days": days,
            }
        )
    # Unstepped rows last: they are the exceptions.
    out.sort(key=lambda r: (r["step"] is None, r["step"] or 0, r["channel"]))
    return out


__all__ = ["get_step_metrics", "rate"]
