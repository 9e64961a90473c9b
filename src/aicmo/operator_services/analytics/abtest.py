"""A/B results: per step with variants, each variant's counts, rate and interval, the
test used, its p-value and a verdict in plain words.

Reads only the daily rollups (``metrics_daily``, keyed by campaign, step and variant),
never the events or the attempts; the statistics are :mod:`aicmo.cam.domain.abstats`.

- **Denominator: ``sent``**, the leads the step's variant was sent to (one SENT per
  enrollment and step: the engine moves on after a send). Not the enrolled leads: a lead
  that stopped before the step (a reply to an earlier step, a bounce, an unsubscribe)
  never saw the variant, and counting it would dilute both arms with noise and, for later
  steps, with the effect of earlier ones.
- **Numerator**: the chosen counter (``positive_replied`` by default, ``replied``,
  ``meetings``) of the attempts of that step and variant: a reply counts for the attempt
  it answered.
- **Fixed horizon**: the sample per arm comes from the campaign's ``settings.ab_test``
  (``baseline_rate``, ``min_effect``; defaults 3 % and 2 points); the verdict is taken on
  the counts of the first day every arm had reached it, and stays the same afterwards.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from aicmo.cam import repository as repo
from aicmo.cam.db_models import DEFAULT_WORKSPACE_ID
from aicmo.cam.domain.abstats import METRICS, DailyCount, Plan, ab_settings, step_verdict
from aicmo.cam.domain.sequencing import Step
from aicmo.errors import NotFoundError, ValidationError
from aicmo.operator_services.analytics.winners import DENOMINATOR, daily_counts_by_step
from aicmo.operator_services.campaigns import campaign_sequence

__all__ = ["DENOMINATOR", "METRICS", "variant_results"]


def variant_results(
    db: Session,
    campaign: str | int,
    step: int | None = None,
    metric: str | None = None,
    *,
    workspace_id: int = DEFAULT_WORKSPACE_ID,
) -> dict[str, Any]:
    """The A/B results of a campaign's steps with variants (or of one step).

    Args:
        campaign: the campaign's id or name.
        step: a 0-based step index; None for every step that has variants.
        metric: ``positive_replied``, ``replied`` or ``meetings``; None: the campaign's
            ``settings.ab_test.metric`` (default ``positive_replied``).

    Returns:
        ``{"campaign_id", "campaign", "metric", "denominator", "auto_winner", "plan",
        "steps"}``; each
        step: ``step``, ``status`` (winner, no_difference, not_enough_data),
        ``verdict`` (a sentence), ``winner``, ``planned_per_arm``, ``more_per_arm``,
        ``horizon_day`` (the day the counts were frozen, None before), ``variants``
        (name, weight, sent, successes, rate, ci_low, ci_high, control) and
        ``comparisons`` (control, challenger, test, p_value, difference, diff_low,
        diff_high, alpha, significant). ``steps`` is empty when no step has variants.

    Raises:
        NotFoundError: no such campaign in the workspace.
        ValidationError: an unknown metric, a step that does not exist or has no
            variants, or a bad ``settings.ab_test``.
    """
    if metric is not None and metric not in METRICS:
        raise ValidationError(
            f"unknown metric {metric!r}; use one of {', '.join(METRICS)}", field="metric"
        )
    row = repo.campaign_by_ref(db, workspace_id, campaign)
    if row is None:
        raise NotFoundError(f"no campaign {campaign!r}")
    settings = ab_settings(dict(row.settings or {}))
    plan = settings.plan
    metric = metric or settings.metric
    seq = campaign_sequence(db, row)
    tested = {i: s for i, s in enumerate(seq.steps) if s.variants}
    if step is not None:
        if isinstance(step, bool) or not 0 <= step < len(seq.steps):
            raise ValidationError(
                f"campaign {row.name!r} has steps 0 to {len(seq.steps) - 1}, not {step!r}",
                field="step",
            )
        if step not in tested:
            listed = ", ".join(map(str, tested)) or "none"
            raise ValidationError(
                f"step {step} has no variants (steps with variants: {listed})", field="step"
            )
        tested = {step: tested[step]}
    daily = daily_counts_by_step(db, row, metric) if tested else {}
    steps = [
        _step_result(index, s, daily.get(index, []), plan, metric) for index, s in tested.items()
    ]
    return {
        "campaign_id": row.id,
        "campaign": row.name,
        "metric": metric,
        "denominator": DENOMINATOR,
        "auto_winner": settings.auto_winner,
        "plan": {
            "baseline_rate": plan.baseline_rate,
            "min_effect": plan.min_effect,
            "alpha": plan.alpha,
            "power": plan.power,
        },
        "steps": steps,
    }


def _step_result(
    index: int, step: Step, daily: list[DailyCount], plan: Plan, metric: str
) -> dict[str, Any]:
    names = [v.name for v in step.variants]
    horizon, verdict = step_verdict(daily, names, plan, metric)
    text = verdict.text
    if horizon is not None:
        text = f"{text} (counts as of {horizon.isoformat()}, the day the plan was reached)"
    weights = {v.name: v.weight for v in step.variants}
    return {
        "step": index,
        "status": verdict.status,
        "verdict": text,
        "winner": verdict.winner,
        "planned_per_arm": verdict.planned_per_arm,
        "more_per_arm": verdict.more_per_arm,
        "horizon_day": horizon,
        "variants": [
            {
                "name": a.name,
                "weight": weights[a.name],
                "control": a.name == names[0],
                "sent": a.trials,
                "successes": a.successes,
                "rate": a.rate,
                "ci_low": a.ci_low,
                "ci_high": a.ci_high,
            }
            for a in verdict.arms
        ],
        "comparisons": [
            {
                "control": c.control,
                "challenger": c.challenger,
                "test": c.test,
                "p_value": c.p_value,
                "difference": c.difference,
                "diff_low": c.diff_low,
                "diff_high": c.diff_high,
                "alpha": c.alpha,
                "significant": c.significant,
            }
            for c in verdict.comparisons
        ],
    }
