"""One campaign's analytics as the dashboard shows them: its totals, its A/B results and
its attribution with cost and ROI per channel, over a period.

Each part comes from the service that the CLI and the reports use
(:func:`~aicmo.operator_services.analytics.abtest.variant_results`,
:func:`~aicmo.operator_services.analytics.attribution.attribution_report`, the rollup
summary), so the page, ``aicmo campaign ab``, ``aicmo attribution`` and the report agree.
The only arithmetic here is the per-channel sum of the attribution rows.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from sqlalchemy.orm import Session

from aicmo.cam.domain.attribution import MONEY_QUANTUM, AttributionModel, parse_model
from aicmo.operator_services.analytics.abtest import variant_results
from aicmo.operator_services.analytics.attribution import attribution_report
from aicmo.operator_services.analytics.performance import find_campaign, get_campaign_summary
from aicmo.operator_services.campaigns import list_campaigns

__all__ = ["CAMPAIGNS_LISTED", "campaign_choices", "channel_attribution", "get_campaign_analytics"]

#: At most this many campaigns in the page's picker (newest first).
CAMPAIGNS_LISTED = 1000
_PAGE = 100
_SUMMED = ("sends", "replies", "positive_replies", "meetings", "won_deals", "won_value", "cost")
_RATIO = Decimal("0.0001")


def campaign_choices(db: Session, workspace_id: int) -> list[dict[str, Any]]:
    """The workspace's campaigns to pick from, newest first: ``id``, ``name``, ``status``."""
    found: list[dict[str, Any]] = []
    after: int | None = None
    while len(found) < CAMPAIGNS_LISTED:
        page = list_campaigns(db, workspace_id=workspace_id, after_id=after, limit=_PAGE)
        found.extend({"id": c["id"], "name": c["name"], "status": c["status"]} for c in page)
        if len(page) < _PAGE:
            break
        after = int(page[-1]["id"])
    return sorted(found[:CAMPAIGNS_LISTED], key=lambda c: -int(c["id"]))


def channel_attribution(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The attribution rows summed per channel (channels in name order), with cost per
    positive reply and ROI = (won value − cost) / cost (None when there is no cost)."""
    sums: dict[str, dict[str, Any]] = defaultdict(lambda: dict.fromkeys(_SUMMED, Decimal(0)))
    for row in rows:
        into = sums[str(row["channel"])]
        for name in _SUMMED:
            into[name] += Decimal(row[name] or 0)
    out = []
    for channel in sorted(sums):
        s = sums[channel]
        positive, cost = s["positive_replies"], s["cost"]
        out.append(
            {
                "channel": channel,
                **s,
                "sends": int(s["sends"]),
                "cost_per_positive_reply": (cost / positive).quantize(
                    MONEY_QUANTUM, rounding=ROUND_HALF_EVEN
                )
                if positive
                else None,
                "roi": ((s["won_value"] - cost) / cost).quantize(_RATIO, rounding=ROUND_HALF_EVEN)
                if cost
                else None,
            }
        )
    return out


def get_campaign_analytics(
    db: Session,
    workspace_id: int,
    campaign_id: int,
    *,
    since: date,
    until: date,
    model: AttributionModel | str = AttributionModel.LINEAR,
    metric: str | None = None,
) -> dict[str, Any]:
    """A campaign's totals, A/B results and attribution over ``since``..``until``.

    Returns:
        ``campaign`` (``id``, ``name``, ``status``, ``steps``), ``since``, ``until``,
        ``model``, ``summary`` (as ``get_campaign_summary``), ``ab`` (as
        ``variant_results``: over the whole test, not the period), ``attribution`` (as
        ``attribution_report`` for this campaign) and ``by_channel``
        (:func:`channel_attribution` of its rows).

    Raises:
        NotFoundError: no such campaign in the workspace. ValidationError: an unknown
            model or metric, or a bad ``settings.ab_test``.
    """
    chosen = parse_model(model)
    campaign = find_campaign(db, campaign_id, workspace_id=workspace_id)
    attribution = attribution_report(
        db,
        model=chosen,
        date_from=since,
        date_to=until,
        campaign=campaign["name"],
        workspace_id=workspace_id,
    )
    return {
        "campaign": campaign,
        "since": since,
        "until": until,
        "model": chosen.value,
        "summary": get_campaign_summary(
            db, campaign["id"], since, until, workspace_id=workspace_id
        ),
        "ab": variant_results(db, campaign["id"], metric=metric, workspace_id=workspace_id),
        "attribution": attribution,
        "by_channel": channel_attribution(attribution["rows"]),
    }
