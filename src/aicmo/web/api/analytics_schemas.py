"""The bodies of ``/api/v1/costs`` and ``/api/v1/analytics/attribution``.

Money and credited counts are decimals, written as strings in JSON (``"333.34"``,
``"0.3333"``): exact, where a float would not add up.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

from aicmo.web.api.schemas import _In


class Cost(BaseModel):
    """What one channel, mailbox or LinkedIn account costs."""

    scope: str = Field(description="CHANNEL, MAILBOX or LINKEDIN_ACCOUNT")
    channel: str
    name: str = Field(description="The channel, mailbox or account name")
    monthly: Decimal
    per_action: Decimal = Field(description="Price per send")
    currency: str = Field(description="ISO 4217; one currency per workspace")
    updated_at: datetime


class CostIn(_In):
    """Name exactly one of ``channel``, ``mailbox`` or ``linkedin_account``; an amount left
    out keeps its value (0 for a new rate)."""

    channel: str | None = Field(default=None, max_length=40)
    mailbox: str | None = Field(default=None, max_length=100)
    linkedin_account: str | None = Field(default=None, max_length=100)
    monthly: Decimal | None = Field(default=None, ge=0, le=Decimal("999999999999"))
    per_action: Decimal | None = Field(default=None, ge=0, le=Decimal("999999999999"))
    currency: str | None = Field(default=None, min_length=3, max_length=3)


class AttributionFigures(BaseModel):
    sends: int
    replies: Decimal = Field(description="Credited replies (to 0.0001)")
    positive_replies: Decimal
    meetings: Decimal
    won_deals: Decimal
    won_value: Decimal = Field(description="Credited deal value (to the cent)")
    cost: Decimal
    cost_per_positive_reply: Decimal | None
    cost_per_meeting: Decimal | None
    cost_per_won_deal: Decimal | None
    roi: Decimal | None = Field(description="(won value - cost) / cost; null when the cost is 0")


class AttributionRow(AttributionFigures):
    campaign_id: int | None = Field(description="null: sends outside any campaign")
    campaign: str | None
    step_index: int | None = Field(description="The step, from 0")
    channel: str
    variant: str | None


class AttributionTotals(AttributionFigures):
    unallocated_cost: Decimal = Field(
        description="Cost of scopes with no send in the period (in ``cost`` when no campaign"
        " is chosen)"
    )


class UnattributedCount(BaseModel):
    count: int
    value: Decimal


class UnattributedOutcome(BaseModel):
    lead_id: int
    kind: str
    at: datetime
    value: Decimal
    event_id: int | None


class Unattributed(BaseModel):
    """Outcomes no touch in the lookback earned: counted, and listed (up to 1000)."""

    by_kind: dict[str, UnattributedCount]
    listed: list[UnattributedOutcome]
    complete: bool = Field(description="false when more were counted than listed")


class AttributionReport(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    model: str
    from_: date = Field(alias="from")
    to: date
    lookback_days: int
    campaign: str | None
    currency: str | None
    rows: list[AttributionRow]
    totals: AttributionTotals
    outcomes: dict[str, int] = Field(description="How many of each kind the period had")
    unattributed: Unattributed
