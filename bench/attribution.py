"""Benchmark: the attribution report over a workspace with N leads (100k by default).

Each lead is in one three-step campaign (email, email, LinkedIn; variants A and B) and has
three sent attempts in November 2026, each with its MESSAGE_SENT event (the bulk of the
events table, which the report must not read). 10 % of the leads reply, half of those
replies are categorised interested, 2 % reach stage MEETING and 1 % are WON with a deal
value. Costs: EMAIL 30 a month plus 0.001 a send, LINKEDIN 1.50 a send.

    python bench/attribution.py [--leads 100000]

Prints, per database, the time of one report per model, the peak Python memory of one
report (tracemalloc, measured in a separate run), and checks that every outcome was
credited (the totals equal the outcome counts). PostgreSQL runs when
AICMO_TEST_DATABASE_URL is set (own schema, dropped after).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import tracemalloc
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from sqlalchemy import Engine, insert, text

from aicmo.cam.db_models import (
    CampaignDB,
    EnrollmentDB,
    EventDB,
    LeadDB,
    OutreachMessageDB,
)
from aicmo.cam.domain.attribution import AttributionModel
from aicmo.db import migrate
from aicmo.db.connect import make_engine, session_factory
from aicmo.operator_services.analytics import costs
from aicmo.operator_services.analytics.attribution import attribution_report
from aicmo.operator_services.crm.workspace import ensure_workspace_defaults
from pgschema import pg_schema

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
CHUNK = 5_000
CHANNELS = ("EMAIL", "EMAIL", "LINKEDIN")


def populate(engine: Engine, leads: int) -> dict[str, int]:
    """The leads, their enrollments, attempts and events; returns the outcome counts."""
    counts = {"reply": 0, "positive_reply": 0, "meeting": 0, "won": 0}
    with session_factory(engine)() as db:
        ensure_workspace_defaults(db)
        campaign = CampaignDB(workspace_id=1, name="bench", status="ACTIVE", settings={})
        db.add(campaign)
        db.flush()
        cid = campaign.id
        for start in range(0, leads, CHUNK):
            block = range(start, min(start + CHUNK, leads))
            lead_rows = []
            for i in block:
                won = i % 100 == 0
                email = f"p{i}@company{i % 5000}.example"
                lead_rows.append(
                    {
                        "workspace_id": 1,
                        "email": email,
                        "email_key": email,
                        "stage": "WON" if won else "CONTACTED",
                        "deal_value": Decimal(1000 + i % 500) if won else None,
                        "grade_reasons": [],
                        "custom_fields": {},
                        "created_at": T0,
                        "updated_at": T0,
                    }
                )
            ids = db.execute(insert(LeadDB).returning(LeadDB.id), lead_rows).scalars().all()
            enrollments = db.execute(
                insert(EnrollmentDB).returning(EnrollmentDB.id, EnrollmentDB.lead_id),
                [
                    {
                        "workspace_id": 1,
                        "campaign_id": cid,
                        "lead_id": lead_id,
                        "state": "COMPLETED",
                        "variant": "AB"[n % 2],
                    }
                    for n, lead_id in enumerate(ids)
                ],
            ).all()
            attempts, sent_events, outcome_events = [], [], []
            replies: list[tuple[int, datetime, bool]] = []
            for n, (enrollment_id, lead_id) in enumerate(enrollments):
                i = start + n
                first = T0 + timedelta(days=i % 7, minutes=i % 600)
                for step, channel in enumerate(CHANNELS):
                    at = first + timedelta(days=2 * step)
                    attempts.append(
                        {
                            "workspace_id": 1,
                            "lead_id": lead_id,
                            "campaign_id": cid,
                            "enrollment_id": enrollment_id,
                            "step_index": step,
                            "channel": channel,
                            "status": "SENT",
                            "transport": "bench",
                            "idempotency_key": f"bench:{enrollment_id}:{step}",
                            "sent_at": at,
                            "created_at": at,
                            "updated_at": at,
                        }
                    )
                    sent_events.append(
                        {
                            "workspace_id": 1,
                            "type": "MESSAGE_SENT",
                            "occurred_at": at,
                            "recorded_at": at,
                            "channel": channel,
                            "source": "bench",
                            "lead_id": lead_id,
                            "campaign_id": cid,
                            "detail": {},
                        }
                    )
                last = first + timedelta(days=4)
                if i % 10 == 0:
                    replies.append((lead_id, last + timedelta(days=1), i % 20 == 0))
                if i % 50 == 0:
                    outcome_events.append(_stage(lead_id, "MEETING", last + timedelta(days=3)))
                    counts["meeting"] += 1
                if i % 100 == 0:
                    outcome_events.append(_stage(lead_id, "WON", last + timedelta(days=10)))
                    counts["won"] += 1
            db.execute(insert(OutreachMessageDB), attempts)
            db.execute(insert(EventDB), sent_events)
            if replies:
                reply_ids = (
                    db.execute(
                        insert(EventDB).returning(EventDB.id, sort_by_parameter_order=True),
                        [
                            {
                                "workspace_id": 1,
                                "type": "REPLY_RECEIVED",
                                "occurred_at": at,
                                "recorded_at": at,
                                "channel": "EMAIL",
                                "source": "bench",
                                "lead_id": lead_id,
                                "campaign_id": cid,
                                "detail": {},
                            }
                            for lead_id, at, _ in replies
                        ],
                    )
                    .scalars()
                    .all()
                )
                counts["reply"] += len(replies)
                for reply_id, (lead_id, at, positive) in zip(reply_ids, replies, strict=True):
                    if positive:
                        counts["positive_reply"] += 1
                        outcome_events.append(
                            {
                                "workspace_id": 1,
                                "type": "REPLY_CATEGORIZED",
                                "occurred_at": at,
                                "recorded_at": at,
                                "source": "bench",
                                "lead_id": lead_id,
                                "detail": {
                                    "category": "interested",
                                    "previous": None,
                                    "rule": "bench",
                                    "reply_event_id": reply_id,
                                },
                            }
                        )
            if outcome_events:
                db.execute(insert(EventDB), outcome_events)
            db.commit()
        costs.set_cost(db, channel="EMAIL", monthly="30", per_action="0.001")
        costs.set_cost(db, channel="LINKEDIN", per_action="1.50")
    return counts


def _stage(lead_id: int, to: str, at: datetime) -> dict[str, object]:
    return {
        "workspace_id": 1,
        "type": "LEAD_STAGE_CHANGED",
        "occurred_at": at,
        "recorded_at": at,
        "source": "bench",
        "lead_id": lead_id,
        "detail": {"from": "ENGAGED", "to": to},
    }


def run_case(url: str, label: str, leads: int) -> None:
    engine = make_engine(url)
    try:
        migrate.upgrade(engine)
        t0 = time.perf_counter()
        expected = populate(engine, leads)
        if engine.dialect.name == "postgresql":
            with engine.begin() as conn:
                conn.execute(text("ANALYZE"))
        print(f"populated leads={leads} s={time.perf_counter() - t0:.1f} db={label}", flush=True)
        start, end = date(2026, 11, 1), date(2026, 11, 30)
        with session_factory(engine)() as db:
            for model in AttributionModel:
                t = time.perf_counter()
                report = attribution_report(db, model=model, date_from=start, date_to=end)
                seconds = time.perf_counter() - t
                totals = report["totals"]
                credited = {
                    "reply": totals["replies"],
                    "positive_reply": totals["positive_replies"],
                    "meeting": totals["meetings"],
                    "won": totals["won_deals"],
                }
                assert report["outcomes"] == expected, (report["outcomes"], expected)
                assert credited == expected, (credited, expected)
                print(
                    f"model={model.value} s={seconds:.2f} rows={len(report['rows'])} "
                    f"won_value={totals['won_value']} cost={totals['cost']} "
                    f"roi={totals['roi']} db={label}",
                    flush=True,
                )
            db.rollback()
            tracemalloc.start()
            attribution_report(db, model="linear", date_from=start, date_to=end)
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
            print(f"peak_python_mib={peak / 2**20:.1f} leads={leads} db={label}", flush=True)
    finally:
        engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--leads", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        run_case(f"sqlite:///{Path(tmp) / 'attribution.db'}", "sqlite", args.leads)
    base = os.environ.get("AICMO_TEST_DATABASE_URL")
    if not base:
        print("db=postgresql skipped (set AICMO_TEST_DATABASE_URL)")
        return
    with pg_schema(base) as url:
        run_case(url, "postgresql", args.leads)


if __name__ == "__main__":
    main()
