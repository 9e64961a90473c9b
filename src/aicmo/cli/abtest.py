"""``aicmo campaign ab``: a campaign's A/B results, one table and one verdict per step."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

import typer
from rich.table import Table

from aicmo.cli.common import CampaignArg, cell, console, db_session, esc
from aicmo.cli.main import campaign_app
from aicmo.errors import ValidationError
from aicmo.operator_services.analytics.abtest import METRICS, variant_results


class Metric(StrEnum):
    positive_replied = "positive_replied"
    replied = "replied"
    meetings = "meetings"


def _pct(rate: float) -> str:
    return f"{rate * 100:.1f}%"


@campaign_app.command("ab")
def campaign_ab(
    name: CampaignArg,
    step: Annotated[
        int | None,
        typer.Option("--step", min=1, help="Only this step (1 = the first); default: every step"),
    ] = None,
    metric: Annotated[
        Metric | None,
        typer.Option(
            "--metric",
            help="What counts as a success for a lead (default: the campaign's"
            " settings.ab_test.metric, else positive_replied)",
        ),
    ] = None,
) -> None:
    """A/B results: per variant the leads sent, the successes, the rate with its 95 %
    interval, then the test used and the verdict (fixed horizon: no verdict before the
    planned sample; see docs/ab-testing.md)."""
    with db_session() as db:
        result = variant_results(db, name, metric=metric.value if metric else None)
    # The service counts steps from 0; this command from 1, like `campaign status`.
    tested = [s["step"] + 1 for s in result["steps"]]
    if step is not None:
        if step not in tested:
            listed = ", ".join(map(str, tested)) or "none"
            raise ValidationError(
                f"step {step} has no variants (steps with variants: {listed})", field="step"
            )
        result["steps"] = [s for s in result["steps"] if s["step"] + 1 == step]
    if not result["steps"]:
        console.print(
            f"{esc(result['campaign'])}: no step has variants; add `variants:` to a step"
            " of the campaign file to run an A/B test."
        )
        return
    plan = result["plan"]
    console.print(
        f"{esc(result['campaign'])}: {METRICS[result['metric']]} per lead sent"
        f" (plan: baseline {_pct(plan['baseline_rate'])}, smallest effect"
        f" {plan['min_effect'] * 100:.1f} points, alpha {plan['alpha']}, power {plan['power']})"
    )
    for s in result["steps"]:
        _print_step(s)
    if result["auto_winner"]:
        console.print("New enrollments go to a step's winner once it has one (auto_winner).")


def _print_step(s: dict[str, Any]) -> None:
    table = Table(title=f"Step {s['step'] + 1}", title_justify="left")
    for column in ("variant", "weight", "sent", "successes", "rate", "95% CI"):
        table.add_column(column, justify="left" if column == "variant" else "right")
    for v in s["variants"]:
        label = f"{v['name']} (control)" if v["control"] else v["name"]
        table.add_row(
            cell(label, "bold" if v["name"] == s["winner"] else ""),
            cell(f"{v['weight']:g}"),
            cell(v["sent"]),
            cell(v["successes"]),
            cell(_pct(v["rate"])),
            cell(f"{_pct(v['ci_low'])} - {_pct(v['ci_high'])}"),
        )
    console.print(table)
    for c in s["comparisons"]:
        test = "Fisher's exact test" if c["test"] == "fisher" else "two-proportion z-test"
        console.print(
            f"  {esc(c['challenger'])} vs {esc(c['control'])}: {test},"
            f" p = {c['p_value']:.4g} (significant below {c['alpha']:.4g})"
        )
    style = {"winner": "green", "no_difference": "yellow"}.get(s["status"], "dim")
    console.print(f"  [{style}]{esc(s['verdict'])}[/]")
