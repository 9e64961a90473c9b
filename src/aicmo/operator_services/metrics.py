"""Channel metrics from the daily rollups (never a scan of the events table)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from aicmo.cam import repository as repo
from aicmo.cam.db_models import DEFAULT_WORKSPACE_ID
from aicmo.cam.domain.channels import channel_names
from aicmo.cam.domain.rollups import MESSAGE_COUNTERS
from aicmo.errors import ValidationError
from aicmo.operator_services.uow import utcnow


def _rate(part: int, whole: int) -> float:
    return round(100.0 * part / whole, 2) if whole else 0.0


def get_channel_metrics(
    db: Session,
    campaign_id: int | None = None,
    days: int = 7,
    *,
    workspace_id: int = DEFAULT_WORKSPACE_ID,
    now: datetime | None = None,
) -> dict[str, dict[str, Any]]:
    """Counts and rates (in percent) per channel over the last ``days`` days.

    Always returns all three channels; a rate with a zero denominator is 0.0. Rates are
    relative to messages sent (accepted by a transport); ``bounce_rate`` counts hard
    and soft bounces, ``hard_bounce_rate`` the hard ones only.

    Raises:
        ValidationError: ``days`` is not a positive whole number.
    """
    if isinstance(days, bool) or not isinstance(days, int) or days < 1:
        raise ValidationError(f"days must be a positive whole number, got {days!r}", field="days")
    days = min(days, 36_500)
    today = (now or utcnow()).date()
    totals = repo.metric_totals(
        db, workspace_id, since=today - timedelta(days=days - 1), campaign_id=campaign_id
    )
    out: dict[str, dict[str, Any]] = {}
    for channel in channel_names():
        counts = {c: totals.get(str(channel), {}).get(c, 0) for c in MESSAGE_COUNTERS}
        sent = counts["sent"]
        bounced = counts["bounced_hard"] + counts["bounced_soft"]
        out[str(channel)] = {
            **counts,
            "bounced": bounced,
            "delivery_rate": _rate(counts["delivered"], sent),
            "reply_rate": _rate(counts["replied"], sent),
            "bounce_rate": _rate(bounced, sent),
            "hard_bounce_rate": _rate(counts["bounced_hard"], sent),
            "complaint_rate": _rate(counts["complained"], sent),
            "unsubscribe_rate": _rate(counts["unsubscribed"], sent),
            "click_rate": _rate(counts["clicked"], sent),
            "days": days,
        }
    return out
