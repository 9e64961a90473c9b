"""The overview's figures on a real database (SQLite, and PostgreSQL when configured): one
call gathers today's counts from the rollups, the reply categories, the tasks, the
attempts in doubt, the paused accounts and disabled mailboxes, and nothing of another
workspace."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from aicmo.operator_services import accounts
from aicmo.operator_services.analytics.overview import CHART_DAYS, get_overview
from tests.overview_history import seed_today

NOW = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)


def test_one_call_gathers_today_and_what_waits(db: Session) -> None:
    seed_today(db, NOW)
    o = get_overview(db, 1, NOW)
    assert o["today"] == NOW.date()
    counts = o["counts"]
    assert counts["sent_by_channel"] == {"EMAIL": 4, "LINKEDIN": 0, "CONTACT_FORM": 0}
    assert (counts["sent"], counts["replied"], counts["bounced"], counts["complained"]) == (
        4,
        2,
        1,
        1,
    )
    assert o["replies_by_category"]["interested"] == 1
    assert o["replies_by_category"]["not_interested"] == 1
    assert sum(o["replies_by_category"].values()) == 2
    assert o["tasks"] == {"open": 1, "overdue": 1}
    doubt = o["in_doubt"]
    assert (doubt["unknown"], doubt["stuck_sending"]) == (0, 1)
    assert [a["status"] for a in doubt["attempts"]] == ["SENDING"]
    assert [a["name"] for a in o["paused_linkedin_accounts"]] == ["Sales seat"]
    assert [m["name"] for m in o["disabled_mailboxes"]] == ["Old relay"]
    assert o["email_waits"] is True
    assert o["worker"]["state"] == "stale" and o["worker"]["alive"] == 0
    daily = {d["day"]: (d["sent"], d["replied"]) for d in o["daily"]}
    assert len(daily) == CHART_DAYS
    assert daily[NOW.date()] == (4, 2)
    assert daily[(NOW - timedelta(days=3)).date()] == (1, 0)
    # A SENDING attempt younger than the worker's lease is still being sent, not in doubt.
    assert get_overview(db, 1, NOW - timedelta(minutes=27))["in_doubt"]["stuck_sending"] == 0
    # Tomorrow: today's counts start again; the task is still open and overdue.
    later = get_overview(db, 1, NOW + timedelta(days=1))
    assert later["counts"]["sent"] == 0 and later["tasks"] == {"open": 1, "overdue": 1}


def test_another_workspace_has_none_of_it(db: Session) -> None:
    seed_today(db, NOW)
    other = accounts.create_workspace(db, "other-client")
    o = get_overview(db, other["id"], NOW)
    assert o["counts"]["sent"] == 0 and sum(o["replies_by_category"].values()) == 0
    assert o["tasks"] == {"open": 0, "overdue": 0}
    assert o["in_doubt"]["stuck_sending"] == 0
    assert o["paused_linkedin_accounts"] == [] and o["disabled_mailboxes"] == []
    assert o["worker"]["state"] == "stale"  # the workers are shared
