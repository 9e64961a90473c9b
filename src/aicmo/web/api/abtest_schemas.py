"""Response bodies of ``GET /api/v1/campaigns/{id}/variants``: a campaign's A/B results
(mirrors :func:`aicmo.operator_services.analytics.abtest.variant_results`)."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, Field

ABMetric = Literal["positive_replied", "replied", "meetings"]


class ABPlan(BaseModel):
    """The fixed horizon's inputs (campaign ``settings.ab_test``, defaults otherwise)."""

    baseline_rate: float
    min_effect: float = Field(description="Smallest absolute lift worth finding (0.02 = 2 points)")
    alpha: float
    power: float


class VariantFigures(BaseModel):
    name: str
    weight: float
    control: bool = Field(description="The first variant: the others are compared with it")
    sent: int = Field(description="Leads this variant of the step was sent to")
    successes: int
    rate: float
    ci_low: float = Field(description="Wilson 95 % interval of the rate")
    ci_high: float


class VariantComparison(BaseModel):
    control: str
    challenger: str
    test: Literal["fisher", "z"] = Field(
        description="Fisher's exact test when any expected cell is below 5, else the pooled"
        " two-proportion z-test"
    )
    p_value: float
    difference: float = Field(description="rate(challenger) - rate(control)")
    diff_low: float = Field(description="Newcombe interval of the difference")
    diff_high: float
    alpha: float = Field(description="Level of this comparison (alpha split over challengers)")
    significant: bool


class StepVariants(BaseModel):
    step: int = Field(description="0-based step index")
    status: Literal["winner", "no_difference", "not_enough_data", "no_test"]
    verdict: str
    winner: str | None
    planned_per_arm: int
    more_per_arm: int
    horizon_day: date | None = Field(
        description="The day every arm reached the planned sample: the counts are as of it"
    )
    variants: list[VariantFigures]
    comparisons: list[VariantComparison]


class CampaignVariants(BaseModel):
    campaign_id: int
    campaign: str
    metric: ABMetric
    denominator: Literal["sent"]
    auto_winner: bool = Field(
        description="New enrollments go to a step's winner once it has one (settings.ab_test)"
    )
    plan: ABPlan
    steps: list[StepVariants] = Field(description="Empty when no step has variants")
