"""The attribution report: which campaign, step, channel and variant earned the period's
replies, meetings and won deals, what they cost, and the return on that cost.

The outcomes of each lead come from its audit trail and are credited to the touches before
them by the pure rules of ``aicmo.cam.domain.attribution``; costs come from the rates of
``analytics.costs``, shared by sends (``aicmo.cam.domain.costs``). The workspace's leads
are read a keyset chunk at a time (their outcome events, then the touches of those that
have an outcome in the period), so memory follows the chunk, not the history. Outcomes
with no touch in the lookback window are listed as unattributed, never dropped.

Days are UTC days; both ends of the period are included.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from sqlalchemy.orm import Session

from aicmo.cam.db_models import DEFAULT_WORKSPACE_ID
from aicmo.cam.domain.attribution import (
    COUNT_QUANTUM,
    MONEY_QUANTUM,
    AttributionModel,
    LeadEvent,
    Outcome,
    OutcomeKind,
    Touch,
    TouchKey,
    credit,
    lead_outcomes,
    parse_model,
)
from aicmo.cam.domain.costs import CostScope, scope_cost, share_cost
from aicmo.cam.domain.events import EventType
from aicmo.cam.repository import attribution as attribution_repo
from aicmo.config import get_settings
from aicmo.errors import NotFoundError, ValidationError
from aicmo.operator_services.analytics.costs import cost_rates_for

__all__ = ["DEFAULT_CHUNK", "METRICS", "attribution_report"]

#: Leads read per keyset chunk.
DEFAULT_CHUNK = 1000
#: Unattributed outcomes listed one by one (all of them are counted in the totals).
UNATTRIBUTED_LISTED = 1000
#: The longest lookback accepted, in days.
MAX_LOOKBACK_DAYS = 3650
_OUTCOME_TYPES = (
    EventType.REPLY_RECEIVED.value,
    EventType.REPLY_CATEGORIZED.value,
    EventType.LEAD_STAGE_CHANGED.value,
)
#: The credited counters of a report row, by the outcome they count.
METRICS = {
    OutcomeKind.REPLY: "replies",
    OutcomeKind.POSITIVE_REPLY: "positive_replies",
    OutcomeKind.MEETING: "meetings",
    OutcomeKind.WON: "won_deals",
}
_RATIO = Decimal("0.0001")


@dataclass(slots=True)
class _Row:
    sends: int = 0
    credited: dict[str, Decimal] = field(default_factory=lambda: defaultdict(Decimal))
    won_value: Decimal = Decimal(0)
    cost: Decimal = Decimal(0)


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def _lookback(days: int | None) -> timedelta:
    if days is None:
        return timedelta(days=get_settings().attribution_lookback_days)
    if isinstance(days, bool) or not isinstance(days, int) or not 0 < days <= MAX_LOOKBACK_DAYS:
        raise ValidationError(
            f"the lookback must be 1 to {MAX_LOOKBACK_DAYS} days, got {days!r}",
            field="lookback_days",
        )
    return timedelta(days=days)


def _lead_chunks(db: Session, workspace_id: int, size: int) -> Iterator[list[Any]]:
    after = 0
    while True:
        chunk = list(attribution_repo.lead_chunk(db, workspace_id, after_id=after, limit=size))
        if not chunk:
            return
        yield chunk
        after = int(chunk[-1][0])


def _outcomes_in_period(
    db: Session, workspace_id: int, chunk: Sequence[Any], start: datetime, end: datetime
) -> dict[int, list[Outcome]]:
    """The chunk's leads that have an outcome in [start, end), with those outcomes."""
    events: dict[int, list[LeadEvent]] = defaultdict(list)
    rows = attribution_repo.lead_outcome_events(
        db, workspace_id, [int(r[0]) for r in chunk], _OUTCOME_TYPES
    )
    for id_, lead_id, type_, at, detail in rows:
        if lead_id is None:  # not possible with the IN filter; keeps the types honest
            continue
        events[int(lead_id)].append(LeadEvent(int(id_), str(type_), at, detail or {}))
    out: dict[int, list[Outcome]] = {}
    for lead_id, stage, deal_value in chunk:
        if int(lead_id) not in events:
            continue
        found = lead_outcomes(events[int(lead_id)], stage=stage, deal_value=deal_value)
        inside = [o for o in found if start <= o.at < end]
        if inside:
            out[int(lead_id)] = inside
    return out


def _touches(
    db: Session, workspace_id: int, lead_ids: list[int], since: datetime, until: datetime
) -> dict[int, list[Touch]]:
    out: dict[int, list[Touch]] = defaultdict(list)
    rows = attribution_repo.lead_touches(db, workspace_id, lead_ids, since=since, until=until)
    for lead_id, campaign_id, step_index, channel, variant, sent_at in rows:
        if lead_id is None or sent_at is None:  # filtered out by the query
            continue
        out[int(lead_id)].append(Touch(campaign_id, step_index, str(channel), variant, sent_at))
    return out


def _add_costs(
    db: Session,
    workspace_id: int,
    rows: dict[TouchKey, _Row],
    date_from: date,
    date_to: date,
) -> tuple[Decimal, str | None]:
    """Sends and shared costs onto ``rows``; the cost no send could carry, and the currency."""
    counts = attribution_repo.send_counts(
        db, workspace_id, start=_day_start(date_from), end=_day_start(date_to + timedelta(days=1))
    )
    by_scope: dict[tuple[CostScope, str, int], dict[TouchKey, int]] = defaultdict(
        lambda: defaultdict(int)
    )
    for campaign_id, step_index, channel, variant, mailbox_id, account_id, n in counts:
        key = TouchKey(campaign_id, step_index, str(channel), variant)
        rows.setdefault(key, _Row()).sends += int(n)
        by_scope[(CostScope.CHANNEL, str(channel), 0)][key] += int(n)
        if mailbox_id is not None:
            by_scope[(CostScope.MAILBOX, str(channel), int(mailbox_id))][key] += int(n)
        if account_id is not None:
            by_scope[(CostScope.LINKEDIN_ACCOUNT, str(channel), int(account_id))][key] += int(n)
    unallocated = Decimal(0)
    rates = cost_rates_for(db, workspace_id=workspace_id)
    for rate in rates:
        sends = by_scope.get((rate.scope, rate.channel, rate.target_id), {})
        cost = scope_cost(rate, sum(sends.values()), date_from, date_to)
        shares = share_cost(cost, sends)
        if not shares:
            unallocated += cost
        for key, part in shares.items():
            rows[key].cost += part
    return unallocated, (rates[0].currency if rates else None)


def _credit(
    rows: dict[TouchKey, _Row],
    touches: list[Touch],
    outcome: Outcome,
    model: AttributionModel,
    lookback: timedelta,
    campaign_id: int | None,
) -> bool:
    """Credit one outcome onto ``rows`` (only ``campaign_id``'s touches when given): the
    count to 0.0001 and, for a won deal, its value to the cent; False when no touch is in
    the window (the outcome is unattributed)."""
    counted = Outcome(outcome.kind, Decimal(1), outcome.at, outcome.ref)
    shares = credit(touches, counted, model, lookback=lookback, quantum=COUNT_QUANTUM)
    if not shares:
        return False
    mine = [c for c in shares if campaign_id is None or c.touch.campaign_id == campaign_id]
    for c in mine:
        rows.setdefault(c.touch.key, _Row()).credited[METRICS[outcome.kind]] += c.amount
    if outcome.kind is OutcomeKind.WON:
        for c in credit(touches, outcome, model, lookback=lookback, quantum=MONEY_QUANTUM):
            if campaign_id is None or c.touch.campaign_id == campaign_id:
                rows.setdefault(c.touch.key, _Row()).won_value += c.amount
    return True


def _per(cost: Decimal, count: Decimal) -> Decimal | None:
    if not count:
        return None
    return (cost / count).quantize(MONEY_QUANTUM, rounding=ROUND_HALF_EVEN)


def _roi(value: Decimal, cost: Decimal) -> Decimal | None:
    if not cost:
        return None
    return ((value - cost) / cost).quantize(_RATIO, rounding=ROUND_HALF_EVEN)


def _figures(row: _Row) -> dict[str, Any]:
    counts = {name: row.credited.get(name, Decimal(0)) for name in METRICS.values()}
    return {
        "sends": row.sends,
        **counts,
        "won_value": row.won_value,
        "cost": row.cost,
        "cost_per_positive_reply": _per(row.cost, counts["positive_replies"]),
        "cost_per_meeting": _per(row.cost, counts["meetings"]),
        "cost_per_won_deal": _per(row.cost, counts["won_deals"]),
        "roi": _roi(row.won_value, row.cost),
    }


def attribution_report(
    db: Session,
    *,
    model: AttributionModel | str,
    date_from: date,
    date_to: date,
    campaign: str | None = None,
    workspace_id: int = DEFAULT_WORKSPACE_ID,
    lookback_days: int | None = None,
    chunk_size: int = DEFAULT_CHUNK,
) -> dict[str, Any]:
    """Credited outcomes, cost and ROI per campaign, step, channel and variant.

    Outcomes dated in the period (UTC days, both ends included) are credited to the
    touches at or before them within the lookback; costs are the period's, shared by sends.
    Counts are credited to 0.0001 and money to the cent, so each outcome adds up to
    exactly its value over the rows. With ``campaign``, only that campaign's rows (its
    credits and its share of the costs) are reported; the unattributed outcomes are the
    workspace's (they belong to no campaign).

    Returns:
        ``model``, ``from``, ``to``, ``lookback_days``, ``campaign``, ``currency`` (None
        while no cost is set), ``rows`` (one per campaign, step, channel and variant with
        ``sends``, ``replies``, ``positive_replies``, ``meetings``, ``won_deals``,
        ``won_value``, ``cost``, ``cost_per_positive_reply``, ``cost_per_meeting``,
        ``cost_per_won_deal`` and ``roi`` = (won value − cost) / cost, None when the cost
        is 0), ``totals`` (the same over the rows, plus ``unallocated_cost``: the cost of
        scopes with no send in the period, counted in the total cost when no campaign is
        chosen), ``unattributed`` (outcomes no touch earned: counts and value per kind, and
        up to 1000 listed) and ``outcomes`` (how many of each kind the period had).

    Raises:
        ValidationError: an unknown model, a period that ends before it starts, or a bad
            lookback. NotFoundError: no campaign of that name.
    """
    chosen = parse_model(model)
    if date_to < date_from:
        raise ValidationError(
            f"the period ends ({date_to}) before it starts ({date_from})", field="to"
        )
    lookback = _lookback(lookback_days)
    campaign_id: int | None = None
    if campaign is not None:
        campaign_id = attribution_repo.campaign_id_by_name(db, workspace_id, campaign)
        if campaign_id is None:
            raise NotFoundError(
                f"no campaign named {campaign!r} (`aicmo campaign list` shows them)"
            )
    start, end = _day_start(date_from), _day_start(date_to + timedelta(days=1))
    rows: dict[TouchKey, _Row] = {}
    outcomes: dict[str, int] = {kind.value: 0 for kind in OutcomeKind}
    missed: dict[str, dict[str, Any]] = {
        kind.value: {"count": 0, "value": Decimal(0)} for kind in OutcomeKind
    }
    listed: list[dict[str, Any]] = []
    for chunk in _lead_chunks(db, workspace_id, max(1, chunk_size)):
        found = _outcomes_in_period(db, workspace_id, chunk, start, end)
        if not found:
            continue
        touches = _touches(db, workspace_id, sorted(found), start - lookback, end)
        for lead_id, lead_outcome_list in found.items():
            for outcome in lead_outcome_list:
                outcomes[outcome.kind.value] += 1
                if _credit(rows, touches.get(lead_id, []), outcome, chosen, lookback, campaign_id):
                    continue
                missed[outcome.kind.value]["count"] += 1
                missed[outcome.kind.value]["value"] += outcome.value
                if len(listed) < UNATTRIBUTED_LISTED:
                    listed.append(
                        {
                            "lead_id": lead_id,
                            "kind": outcome.kind.value,
                            "at": outcome.at,
                            "value": outcome.value,
                            "event_id": outcome.ref,
                        }
                    )
    unallocated, currency = _add_costs(db, workspace_id, rows, date_from, date_to)
    if campaign_id is not None:
        rows = {k: v for k, v in rows.items() if k.campaign_id == campaign_id}
    names = attribution_repo.campaign_names(
        db, workspace_id, {k.campaign_id for k in rows if k.campaign_id is not None}
    )
    ordered = sorted(
        rows.items(),
        key=lambda kv: (
            names.get(kv[0].campaign_id or 0, ""),
            kv[0].campaign_id or 0,
            -1 if kv[0].step_index is None else kv[0].step_index,
            kv[0].channel,
            kv[0].variant or "",
        ),
    )
    total = _Row()
    for _, row in ordered:
        total.sends += row.sends
        total.won_value += row.won_value
        total.cost += row.cost
        for name, amount in row.credited.items():
            total.credited[name] += amount
    if campaign_id is None:
        total.cost += unallocated
    return {
        "model": chosen.value,
        "from": date_from,
        "to": date_to,
        "lookback_days": lookback.days,
        "campaign": campaign,
        "currency": currency,
        "rows": [
            {
                "campaign_id": key.campaign_id,
                "campaign": names.get(key.campaign_id) if key.campaign_id is not None else None,
                "step_index": key.step_index,
                "channel": key.channel,
                "variant": key.variant,
                **_figures(row),
            }
            for key, row in ordered
        ],
        "totals": {**_figures(total), "unallocated_cost": unallocated},
        "outcomes": outcomes,
        "unattributed": {
            "by_kind": missed,
            "listed": listed,
            "complete": sum(m["count"] for m in missed.values()) <= len(listed),
        },
    }
