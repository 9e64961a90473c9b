"""A campaign report: an ordered list of sections, each built from one service dict.

A :class:`Section` says what a person reads (a description, tables, charts, or why there
is nothing to show) and what a spreadsheet reads (tidy :class:`Fact` rows: section, day,
step, channel, metric, value). The renderers (HTML, PDF, CSV) know sections, never where
the numbers came from, so a new part of the report is one service function that returns
a dict, one function here that turns that dict into a :class:`Section`, and one line in
:data:`SECTIONS`::

    SectionSource("variants", scoped(get_variant_results), variants_section),

Nothing here reads the clock: ``now`` is passed in.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from math import nan
from typing import Any, Literal

from sqlalchemy.orm import Session

from aicmo.cam.db_models import DEFAULT_WORKSPACE_ID
from aicmo.cam.domain.attribution import AttributionModel, parse_model
from aicmo.cam.domain.rates import KEY_COUNTS, KEY_RATES
from aicmo.operator_services.analytics.abtest import variant_results
from aicmo.operator_services.analytics.attribution import attribution_report
from aicmo.operator_services.analytics.performance import (
    find_campaign,
    get_campaign_summary,
    get_channel_comparison,
    get_daily_rates,
    get_step_funnel,
)

Cell = str | int | float


@dataclass(frozen=True, slots=True)
class Table:
    """Rows of cells under column headings; numbers stay numbers."""

    columns: tuple[str, ...]
    rows: tuple[tuple[Cell, ...], ...]


@dataclass(frozen=True, slots=True)
class Series:
    """One set of values of a chart, one value per category."""

    name: str
    values: tuple[float, ...]


@dataclass(frozen=True, slots=True)
class Chart:
    """A bar or line chart: categories along the x axis, one or more series."""

    key: str
    title: str
    kind: Literal["bar", "line"]
    categories: tuple[str, ...]
    series: tuple[Series, ...]
    #: The y axis: ``"%"`` (a rate) or a unit such as ``"messages"``.
    unit: str


@dataclass(frozen=True, slots=True)
class Fact:
    """One number of the report, as a tidy row (the CSV has one line per fact)."""

    metric: str
    value: float | int
    day: date | None = None
    step: str = ""
    channel: str = ""


@dataclass(frozen=True, slots=True)
class Section:
    """One part of the report. ``empty`` says why there is nothing to show (then the
    section has no table and no chart)."""

    key: str
    title: str
    description: str
    tables: tuple[Table, ...] = ()
    charts: tuple[Chart, ...] = ()
    facts: tuple[Fact, ...] = ()
    empty: str | None = None


@dataclass(frozen=True, slots=True)
class Scope:
    """What a report is about: one campaign of one workspace, two days included."""

    workspace_id: int
    campaign_id: int
    campaign_name: str
    since: date
    until: date
    #: How the attribution section splits each outcome between the touches before it.
    model: AttributionModel = AttributionModel.LINEAR


@dataclass(frozen=True, slots=True)
class Report:
    campaign: dict[str, Any]
    since: date
    until: date
    generated_at: datetime
    sections: tuple[Section, ...]
    #: False when no counter moved in the period: the report says so instead of charting
    #: zeros.
    has_data: bool = field(default=True)


@dataclass(frozen=True, slots=True)
class SectionSource:
    """One line of :data:`SECTIONS`: a key, the service call, the builder."""

    key: str
    fetch: Callable[[Session, Scope], dict[str, Any]]
    build: Callable[[dict[str, Any], Scope], Section]


ServiceFunction = Callable[..., dict[str, Any]]


def scoped(function: ServiceFunction) -> Callable[[Session, Scope], dict[str, Any]]:
    """Call a service function of the shape ``f(db, campaign_id, since, until, *,
    workspace_id)`` for a report's scope."""

    def fetch(db: Session, scope: Scope) -> dict[str, Any]:
        return function(
            db, scope.campaign_id, scope.since, scope.until, workspace_id=scope.workspace_id
        )

    return fetch


def _no_data(scope: Scope) -> str:
    return (
        f"No activity was recorded for this campaign from {scope.since.isoformat()} "
        f"to {scope.until.isoformat()}."
    )


def _pct(value: float) -> str:
    return f"{value:.2f} %"


# --- the sections: one function each ----------------------------------------------------


def summary_section(data: dict[str, Any], scope: Scope) -> Section:
    """The campaign's totals and key rates over the period."""
    title = "Summary"
    description = (
        "Totals over the period. Rates are percentages of the messages sent (accepted by "
        "the mail server, the LinkedIn provider or the contact form; tasks done by hand "
        "count once done). Bounces count hard and soft bounces."
    )
    figures = data["figures"]
    rates_by_part = {r.part: r for r in KEY_RATES}
    rows: list[tuple[Cell, ...]] = []
    facts: list[Fact] = []
    for name, label in KEY_COUNTS:
        rate = rates_by_part.get(name)
        rows.append((label, int(figures[name]), _pct(figures[rate.name]) if rate else ""))
        facts.append(Fact(name, int(figures[name])))
        if rate is not None:
            facts.append(Fact(rate.name, float(figures[rate.name])))
    if not data["has_data"]:
        # The zeros are true (nothing was sent): the CSV keeps them, the page says why.
        return Section("summary", title, description, facts=tuple(facts), empty=_no_data(scope))
    table = Table(("Measure", "Count", "Rate of sent"), tuple(rows))
    return Section("summary", title, description, tables=(table,), facts=tuple(facts))


_FUNNEL = (
    ("attempted", "Attempted"),
    ("sent", "Sent"),
    ("delivered", "Delivered"),
    ("replied", "Replied"),
    ("positive_replied", "Positive"),
    ("meetings", "Meetings"),
)


def funnel_section(data: dict[str, Any], scope: Scope) -> Section:
    """Per step: attempted, sent, delivered, replied, positive replies, meetings."""
    title = "Funnel per step"
    description = (
        "What each step of the sequence did in the period. A reply counts for the step "
        "whose message it answers."
    )
    steps = data["steps"]
    if not any(step[name] for step in steps for name, _ in _FUNNEL):
        return Section("funnel", title, description, empty=_no_data(scope))
    rows = tuple(
        (
            step["label"],
            *(int(step[name]) for name, _ in _FUNNEL),
            _pct(step["reply_rate"]),
        )
        for step in steps
    )
    table = Table(("Step", *(label for _, label in _FUNNEL), "Reply rate"), rows)
    chart = Chart(
        key="funnel",
        title="Funnel per step",
        kind="bar",
        categories=tuple(step["label"] for step in steps),
        series=tuple(
            Series(label, tuple(float(step[name]) for step in steps))
            for name, label in _FUNNEL
            if name != "attempted"
        ),
        unit="messages",
    )
    facts = tuple(
        Fact(name, step[name], step=step["label"])
        for step in steps
        for name in (*(n for n, _ in _FUNNEL), "reply_rate", "positive_reply_rate")
    )
    return Section("funnel", title, description, (table,), (chart,), facts)


#: The rates a day or a channel is compared on (side by side or day by day).
_COMPARED_RATES = ("delivery_rate", "reply_rate", "positive_reply_rate", "bounce_rate")
#: Their labels for people, as column headers and series names.
_COMPARED_LABELS = tuple(r.label for n in _COMPARED_RATES for r in KEY_RATES if r.name == n)


def _rate_series(
    items: Sequence[dict[str, Any]], *, gap_unsent: bool = False
) -> tuple[Series, ...]:
    """One series per compared rate over ``items`` (days or channels); with
    ``gap_unsent`` an item that sent nothing has no rate: a gap in the line, not a drop to
    zero."""
    return tuple(
        Series(label, tuple(nan if gap_unsent and not i["sent"] else float(i[name]) for i in items))
        for name, label in zip(_COMPARED_RATES, _COMPARED_LABELS, strict=True)
    )


def daily_section(data: dict[str, Any], scope: Scope) -> Section:
    """The key rates day by day, and what was sent each day."""
    title = "Rates over time"
    description = (
        "Each day's rates: that day's deliveries, replies and bounces over that day's "
        "sends (an answer to an earlier day's message counts on the day it arrived)."
    )
    days = data["days"]
    if not any(day["sent"] or day["replied"] or day["delivered"] for day in days):
        return Section("daily", title, description, empty=_no_data(scope))
    categories = tuple(day["day"].isoformat() for day in days)
    rates_chart = Chart(
        key="daily-rates",
        title="Rates per day",
        kind="line",
        categories=categories,
        series=_rate_series(days, gap_unsent=True),
        unit="%",
    )
    sent_chart = Chart(
        key="daily-sent",
        title="Messages sent per day",
        kind="bar",
        categories=categories,
        series=(Series("Sent", tuple(float(day["sent"]) for day in days)),),
        unit="messages",
    )
    rows = tuple(
        (
            day["day"].isoformat(),
            int(day["sent"]),
            int(day["delivered"]),
            int(day["replied"]),
            *(_pct(day[name]) for name in _COMPARED_RATES),
        )
        for day in days
        if day["sent"] or day["replied"] or day["delivered"] or day["bounced"]
    )
    table = Table(("Day", "Sent", "Delivered", "Replies", *_COMPARED_LABELS), rows)
    facts = tuple(
        Fact(name, day[name], day=day["day"])
        for day in days
        for name in ("sent", "delivered", "replied", "positive_replied")
        + (_COMPARED_RATES if day["sent"] else ())
    )
    return Section("daily", title, description, (table,), (rates_chart, sent_chart), facts)


def channels_section(data: dict[str, Any], scope: Scope) -> Section:
    """The channels side by side: volume and the key rates."""
    title = "Channels compared"
    description = (
        "Each channel's sends and rates. LinkedIn and contact-form messages are not "
        "'delivered' by a server's receipt, so their delivery rate stays at 0."
    )
    channels = data["channels"]
    if not channels:
        return Section("channels", title, description, empty=_no_data(scope))
    names = tuple(str(c["channel"]) for c in channels)
    chart = Chart(
        key="channels",
        title="Rates per channel",
        kind="bar",
        categories=names,
        series=_rate_series(channels),
        unit="%",
    )
    rows: tuple[tuple[Cell, ...], ...] = tuple(
        (
            str(c["channel"]),
            int(c["sent"]),
            int(c["replied"]),
            int(c["positive_replied"]),
            int(c["meetings"]),
            *(_pct(c[name]) for name in _COMPARED_RATES),
        )
        for c in channels
    )
    table = Table(
        (
            "Channel",
            "Sent",
            "Replies",
            "Positive",
            "Meetings",
            *_COMPARED_LABELS,
        ),
        rows,
    )
    facts = tuple(
        Fact(name, c[name], channel=str(c["channel"]))
        for c in channels
        for name in (
            "sent",
            "replied",
            "positive_replied",
            "meetings",
            "bounced",
            "complained",
            "unsubscribed",
            *_COMPARED_RATES,
        )
    )
    return Section("channels", title, description, (table,), (chart,), facts)


_METRIC_LABELS = {
    "positive_replied": "positive replies",
    "replied": "replies",
    "meetings": "meetings",
}


def _variants(db: Session, scope: Scope) -> dict[str, Any]:
    return variant_results(db, scope.campaign_id, workspace_id=scope.workspace_id)


def variants_section(data: dict[str, Any], scope: Scope) -> Section:
    """Each tested step's variants, their intervals and the stated test's verdict."""
    metric = _METRIC_LABELS.get(str(data["metric"]), str(data["metric"]))
    title = "A/B tests"
    description = (
        f"Each tested step's variants: the leads it was sent to, their {metric}, the rate "
        "with its 95 % interval (Wilson), and the verdict of the stated test (Fisher's "
        "exact test below five expected per cell, otherwise the pooled two-proportion "
        "z-test) at the sample planned up front (a fixed horizon: looking early does not "
        "make a false winner more likely). Over the whole test, not only this period."
    )
    if not data["steps"]:
        return Section(
            "variants", title, description, empty="No step of this campaign has variants."
        )
    tables: list[Table] = []
    charts: list[Chart] = []
    facts: list[Fact] = []
    for step in data["steps"]:
        label = f"Step {int(step['step']) + 1}"
        variants = step["variants"]
        tables.append(Table(("Step", "Verdict"), ((label, str(step["verdict"])),)))
        tables.append(
            Table(
                ("Variant", "Weight", "Sent", metric.capitalize(), "Rate", "95 % interval"),
                tuple(
                    (
                        str(v["name"]),
                        int(v["weight"]),
                        int(v["sent"]),
                        int(v["successes"]),
                        _pct(100 * float(v["rate"])),
                        f"{100 * float(v['ci_low']):.2f} – {100 * float(v['ci_high']):.2f} %",
                    )
                    for v in variants
                ),
            )
        )
        charts.append(
            Chart(
                key=f"variants-{int(step['step'])}",
                title=f"{label}: {metric} per variant",
                kind="bar",
                categories=tuple(str(v["name"]) for v in variants),
                series=(Series("Rate", tuple(100 * float(v["rate"]) for v in variants)),),
                unit="%",
            )
        )
        for v in variants:
            for name in ("sent", "successes", "rate"):
                facts.append(Fact(f"variant_{v['name']}_{name}", v[name], step=label))
        for c in step["comparisons"]:
            if c["p_value"] is None:
                continue
            facts.append(
                Fact(f"p_value_{c['challenger']}_vs_{c['control']}", c["p_value"], step=label)
            )
    return Section("variants", title, description, tuple(tables), tuple(charts), tuple(facts))


def _attribution(db: Session, scope: Scope) -> dict[str, Any]:
    return attribution_report(
        db,
        model=scope.model,
        date_from=scope.since,
        date_to=scope.until,
        campaign=scope.campaign_name,
        workspace_id=scope.workspace_id,
    )


def _money(value: Any) -> str:
    return "–" if value is None else str(value)


def attribution_section(data: dict[str, Any], scope: Scope) -> Section:
    """Outcomes credited to the campaign's steps and channels, their cost and ROI."""
    model = str(data["model"]).replace("_", " ")
    currency = data.get("currency") or ""
    title = "Attribution and ROI"
    description = (
        f"Outcomes of the period credited to the touches before them ({model} model, "
        f"touches up to {data['lookback_days']} days before). Cost is the period's share of "
        "the configured channel, mailbox and account costs (`aicmo costs`); ROI is (won "
        "value − cost) / cost."
    )
    rows = data["rows"]
    if not rows:
        return Section("attribution", title, description, empty=_no_data(scope))
    totals = data["totals"]
    table = Table(
        (
            "Step",
            "Channel",
            "Variant",
            "Replies",
            "Positive",
            "Meetings",
            "Won",
            f"Won value {currency}".strip(),
            f"Cost {currency}".strip(),
            "Cost / positive",
            "ROI",
        ),
        tuple(
            (
                "–" if r["step_index"] is None else f"Step {int(r['step_index']) + 1}",
                str(r["channel"]),
                str(r["variant"] or "–"),
                float(r["replies"]),
                float(r["positive_replies"]),
                float(r["meetings"]),
                float(r["won_deals"]),
                _money(r["won_value"]),
                _money(r["cost"]),
                _money(r["cost_per_positive_reply"]),
                _money(r["roi"]),
            )
            for r in rows
        ),
    )
    channels: dict[str, float] = {}
    for r in rows:
        channels[str(r["channel"])] = channels.get(str(r["channel"]), 0.0) + float(
            r["positive_replies"]
        )
    chart = Chart(
        key="attribution",
        title=f"Positive replies credited per channel ({model})",
        kind="bar",
        categories=tuple(channels),
        series=(Series("Positive replies", tuple(channels.values())),),
        unit="replies",
    )
    facts = tuple(
        Fact(name, float(totals[name]) if totals.get(name) is not None else nan)
        for name in ("replies", "positive_replies", "meetings", "won_deals", "won_value", "cost")
        if name in totals
    ) + ((Fact("roi", float(totals["roi"])),) if totals.get("roi") is not None else ())
    return Section("attribution", title, description, (table,), (chart,), facts)


#: The report, top to bottom. A new section: a service function, a builder, a line here.
SECTIONS: tuple[SectionSource, ...] = (
    SectionSource("summary", scoped(get_campaign_summary), summary_section),
    SectionSource("funnel", scoped(get_step_funnel), funnel_section),
    SectionSource("daily", scoped(get_daily_rates), daily_section),
    SectionSource("channels", scoped(get_channel_comparison), channels_section),
    SectionSource("variants", _variants, variants_section),
    SectionSource("attribution", _attribution, attribution_section),
)


def build_report(
    db: Session,
    campaign: str | int,
    since: date,
    until: date,
    *,
    now: datetime,
    workspace_id: int = DEFAULT_WORKSPACE_ID,
    sections: tuple[SectionSource, ...] = SECTIONS,
    model: AttributionModel | str = AttributionModel.LINEAR,
) -> Report:
    """The report of one campaign over ``since``..``until`` (both included).

    Raises:
        NotFoundError: no such campaign in the workspace.
    """
    found = find_campaign(db, campaign, workspace_id=workspace_id)
    scope = Scope(workspace_id, found["id"], found["name"], since, until, parse_model(model))
    built = tuple(source.build(source.fetch(db, scope), scope) for source in sections)
    return Report(
        campaign={"id": found["id"], "name": found["name"], "status": found["status"]},
        since=since,
        until=until,
        generated_at=now,
        sections=built,
        has_data=any(section.empty is None for section in built),
    )
