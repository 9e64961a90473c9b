"""The dashboard's overview: what happened today and what waits for a person, in one call.

Today's counts (sends per channel, replies, bounces, complaints) and the last days' sends
and replies come from the daily rollups (``metrics_daily``), never from a scan of the
attempts or the events; a reply's current category is a fact of the replies table, read
over today's range of its index. What waits for a person is read from the few rows that
say so: open and overdue tasks, attempts whose outcome is unknown, paused LinkedIn
accounts, disabled mailboxes. The worker's liveness is the one ``/healthz`` reports.

Days are UTC days, as the rollups'. Nothing here reads the clock: ``now`` is passed in.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy.orm import Session

from aicmo.cam import repository as repo
from aicmo.cam.domain.channels import channel_names
from aicmo.cam.domain.reply_categories import ReplyCategory
from aicmo.cam.repository import attempts as attempts_repo
from aicmo.cam.repository import replies as replies_repo
from aicmo.cam.repository import tasks as tasks_repo
from aicmo.operator_services.channels.linkedin_accounts import list_linkedin_accounts
from aicmo.operator_services.channels.mailboxes import list_mailboxes
from aicmo.operator_services.engine.tick import LEASE
from aicmo.operator_services.ops.health import STALE_AFTER, health

__all__ = ["CHART_DAYS", "IN_DOUBT_LISTED", "get_overview"]

#: How many days the sends-and-replies series covers, today included.
CHART_DAYS = 14
#: Attempts in doubt listed one by one (all of them are counted).
IN_DOUBT_LISTED = 20


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def _today(db: Session, workspace_id: int, today: date) -> dict[str, Any]:
    rows = repo.metric_breakdown(
        db, workspace_id, since=today, until=today, campaign_id=None, by=("channel",)
    )
    by_channel = {str(r["channel"]): r for r in rows}

    def total(column: str) -> int:
        return sum(int(r[column]) for r in rows)

    return {
        "sent_by_channel": {
            name: int(by_channel[name]["sent"]) if name in by_channel else 0
            for name in channel_names()
        },
        "sent": total("sent"),
        "replied": total("replied"),
        "auto_replied": total("auto_replied"),
        "bounced": total("bounced_hard") + total("bounced_soft"),
        "bounced_hard": total("bounced_hard"),
        "complained": total("complained"),
        "unsubscribed": total("unsubscribed"),
    }


def _series(db: Session, workspace_id: int, today: date) -> list[dict[str, Any]]:
    since = today - timedelta(days=CHART_DAYS - 1)
    rows = repo.metric_breakdown(
        db, workspace_id, since=since, until=today, campaign_id=None, by=("day",)
    )
    by_day = {r["day"]: r for r in rows}
    out = []
    for offset in range(CHART_DAYS):
        day = since + timedelta(days=offset)
        row = by_day.get(day, {})
        out.append(
            {
                "day": day,
                "sent": int(row.get("sent", 0)),
                "replied": int(row.get("replied", 0)),
            }
        )
    return out


def _worker(db: Session, now: datetime, workspace_id: int) -> dict[str, Any]:
    """The workers are the installation's (shared by every workspace); what is due now
    is counted for this workspace only."""
    figures = health(db, now=now)
    ticks = [datetime.fromisoformat(w["last_tick_at"]) for w in figures["workers"]]
    last = max(ticks, default=None)
    if last is not None and last.tzinfo is None:
        last = last.replace(tzinfo=UTC)
    state = "ok" if figures["workers_alive"] else "stale"
    if not figures["workers"]:
        state = "none"
    return {
        "state": state,
        "alive": int(figures["workers_alive"]),
        "last_tick_at": last,
        "seconds_since_tick": figures["seconds_since_last_tick"],
        "stale_after_seconds": int(STALE_AFTER.total_seconds()),
        "due_now": repo.due_summary(db, now, workspace_id)[0],
    }


def get_overview(db: Session, workspace_id: int, now: datetime) -> dict[str, Any]:
    """Today's activity and what needs a person, for one workspace.

    Returns:
        ``today`` (the UTC date); ``counts`` (``sent_by_channel`` for every channel,
        ``sent``, ``replied``, ``auto_replied``, ``bounced`` (hard and soft),
        ``bounced_hard``, ``complained``, ``unsubscribed``, from the rollups);
        ``replies_by_category`` (every category, today's human replies by current
        category); ``tasks`` (``open``, ``overdue``); ``in_doubt`` (``unknown``,
        ``stuck_sending`` (SENDING longer than the worker's lease, ``lease_minutes``),
        ``attempts``: up to
        20 of them with ``id``, ``status``, ``channel``, ``recipient``, ``campaign_id``,
        ``error``, ``updated_at``); ``paused_linkedin_accounts`` (``name``, ``status``,
        ``reason``); ``disabled_mailboxes`` (``name``, ``from_address``) and
        ``email_waits`` (every SMTP mailbox is disabled: email is held); ``worker``
        (``state``: ok, stale or none; ``alive``, ``last_tick_at``,
        ``seconds_since_tick``, ``stale_after_seconds``, ``due_now``); ``daily`` (the last
        14 days, oldest first: ``day``, ``sent``, ``replied``).
    """
    today = now.astimezone(UTC).date()
    counts = _today(db, workspace_id, today)
    categories = replies_repo.reply_categories_since(db, workspace_id, _midnight(today))
    open_tasks, overdue = tasks_repo.workspace_task_counts(db, workspace_id, now)
    unknown, stuck, doubtful = attempts_repo.attempts_in_doubt(
        db, workspace_id, sending_before=now - LEASE, limit=IN_DOUBT_LISTED
    )
    accounts = [
        {"name": a["name"], "status": a["status"], "reason": a["status_reason"]}
        for a in list_linkedin_accounts(db, workspace_id=workspace_id)
        if a["status"] == "PAUSED"
    ]
    mailboxes = list_mailboxes(db, workspace_id=workspace_id)
    disabled = [
        {"name": m["name"], "from_address": m["from_address"]}
        for m in mailboxes
        if not m["enabled"]
    ]
    smtp = [m for m in mailboxes if m["smtp"] is not None]
    return {
        "today": today,
        "counts": counts,
        "replies_by_category": {c.value: categories.get(c.value, 0) for c in ReplyCategory},
        "tasks": {"open": open_tasks, "overdue": overdue},
        "in_doubt": {
            "unknown": unknown,
            "stuck_sending": stuck,
            "lease_minutes": int(LEASE.total_seconds() // 60),
            "attempts": [
                {
                    "id": a.id,
                    "status": a.status,
                    "channel": a.channel,
                    "recipient": a.recipient,
                    "campaign_id": a.campaign_id,
                    "error": a.error,
                    "updated_at": a.updated_at,
                }
                for a in doubtful
            ],
        },
        "paused_linkedin_accounts": accounts,
        "disabled_mailboxes": disabled,
        "email_waits": bool(smtp) and not any(m["enabled"] for m in smtp),
        "worker": _worker(db, now, workspace_id),
        "daily": _series(db, workspace_id, today),
    }
