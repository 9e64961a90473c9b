"""Each A/B step's counts per day and variant from the rollups, and the winners decided
so far: what ``campaign start`` needs to send new enrollments to a step's winner when the
campaign says ``settings.ab_test.auto_winner: true``.

Reads only the daily rollups; imports no other service (``campaigns`` calls it).
"""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy.orm import Session

from aicmo.cam import repository as repo
from aicmo.cam.db_models import CampaignDB
from aicmo.cam.domain.abstats import DailyCount, ab_settings, step_verdict
from aicmo.cam.domain.sequencing import Sequence

__all__ = ["DENOMINATOR", "daily_counts_by_step", "decided_winners"]

#: The rollup counter of the leads who got the step (see docs/ab-testing.md).
DENOMINATOR = "sent"


def daily_counts_by_step(
    db: Session, campaign: CampaignDB, metric: str
) -> dict[int, list[DailyCount]]:
    """Per step, the (day, variant, sent, ``metric``) counts since the campaign started;
    rows without a variant (steps outside a test) are left out."""
    since = (campaign.started_at or campaign.created_at).date()
    out: dict[int, list[DailyCount]] = defaultdict(list)
    for day, step_key, variant, counts in repo.variant_daily_counts(
        db, campaign.workspace_id, campaign.id, since=since, columns=(DENOMINATOR, metric)
    ):
        if variant:
            out[step_key].append(DailyCount(day, variant, counts[DENOMINATOR], counts[metric]))
    return out


def decided_winners(db: Session, campaign: CampaignDB, seq: Sequence) -> dict[int, str]:
    """``{step index: winning variant}`` for the steps whose test has a winner at its
    horizon, when the campaign asks for ``auto_winner``; empty otherwise.

    Raises:
        ValidationError: the campaign's ``settings.ab_test`` is not valid.
    """
    settings = ab_settings(dict(campaign.settings or {}))
    tested = {i: step for i, step in enumerate(seq.steps) if step.variants}
    if not settings.auto_winner or not tested:
        return {}
    daily = daily_counts_by_step(db, campaign, settings.metric)
    winners: dict[int, str] = {}
    for index, step in tested.items():
        names = [v.name for v in step.variants]
        _, verdict = step_verdict(daily.get(index, []), names, settings.plan, settings.metric)
        if verdict.status == "winner" and verdict.winner is not None:
            winners[index] = verdict.winner
    return winners
