"""Rate limits that hold across every worker and process (invariant 3).

The check and the SENDING row that uses the slot are written in one transaction that
holds the channel's lock: ``SELECT … FOR UPDATE`` on the channel's config row on
PostgreSQL, ``BEGIN IMMEDIATE`` (the database's single write lock) on SQLite. Two workers
can therefore never both see room for the last send of a window. The arithmetic is the
pure ``aicmo.cam.domain.ratelimit``; a window counts every message that went or may have
gone (SENDING, UNKNOWN and all sent states), by the time its attempt was recorded.
"""

from __future__ import annotations

import functools
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from aicmo.cam.db_models import (
    DEFAULT_WORKSPACE_ID,
    ChannelConfigDB,
    MailboxDB,
    OutreachMessageDB,
)
from aicmo.cam.domain.attempts import TouchLimit
from aicmo.cam.domain.messages import SENT_STATUSES, ChannelType, MessageStatus
from aicmo.cam.domain.ratelimit import Window, count_in_window, fits, next_send_slot
from aicmo.errors import RateLimitedError
from aicmo.operator_services.channels import get_channel_config, parse_channel
from aicmo.operator_services.uow import utcnow

#: Attempts that occupy a slot: sent, possibly sent, or handed to a person to send
#: (QUEUED: an open operator task).
COUNTED = sorted(
    {s.value for s in SENT_STATUSES}
    | {MessageStatus.SENDING.value, MessageStatus.UNKNOWN.value, MessageStatus.QUEUED.value}
)
HOUR, DAY = timedelta(hours=1), timedelta(days=1)


def begin_send_transaction(db: Session) -> None:
    """Start the caller's transaction holding SQLite's write lock from its first statement
    (the session must have no transaction open; on PostgreSQL this does nothing)."""
    if db.get_bind().dialect.name == "sqlite":
        db.connection(execution_options={"sqlite_begin": "IMMEDIATE"})


def lock_channel(db: Session, workspace_id: int, channel: str) -> ChannelConfigDB | None:
    """The channel's config row, locked until the transaction ends (PostgreSQL)."""
    stmt = select(ChannelConfigDB).where(
        ChannelConfigDB.workspace_id == workspace_id, ChannelConfigDB.channel == str(channel)
    )
    if db.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    return db.scalar(stmt)


def recent_sends(
    db: Session,
    workspace_id: int,
    channel: str,
    since: datetime,
    *,
    mailbox_id: int | None = None,
) -> list[datetime]:
    """When each counted attempt since ``since`` was recorded: of the channel
    (ix_outreach_messages_channel), or of one mailbox (ix_outreach_messages_mailbox_created;
    a mailbox belongs to one workspace and sends email only, so nothing else is filtered
    and the planner cannot wander off to the channel index and scan every mailbox's rows).
    """
    if mailbox_id is not None:
        stmt = select(OutreachMessageDB.created_at).where(
            OutreachMessageDB.mailbox_id == mailbox_id,
            OutreachMessageDB.created_at > since,
            OutreachMessageDB.status.in_(COUNTED),
        )
    else:
        stmt = select(OutreachMessageDB.created_at).where(
            OutreachMessageDB.workspace_id == workspace_id,
            OutreachMessageDB.channel == str(channel),
            OutreachMessageDB.created_at > since,
            OutreachMessageDB.status.in_(COUNTED),
        )
    return list(db.scalars(stmt))


def _check(sent: list[datetime], per_hour: int, per_day: int, now: datetime, what: str) -> None:
    if per_hour <= 0 or per_day <= 0:
        raise RateLimitedError(f"{what}: a limit is 0, nothing may be sent", retry_at=None)
    windows = [Window(HOUR, per_hour), Window(DAY, per_day)]
    if not fits(sent, windows, now):
        slot = next_send_slot(sent, windows, now)
        raise RateLimitedError(
            f"{what}: {per_hour}/hour, {per_day}/day reached; next slot {slot:%Y-%m-%d %H:%M} UTC",
            retry_at=slot,
        )


def window_counts(
    db: Session,
    now: datetime,
    *,
    workspace_id: int,
    channel: str = ChannelType.EMAIL,
    mailbox_id: int | None = None,
    any_status: bool = False,
) -> tuple[int, int, int, datetime | None]:
    """Counted attempts of a channel (or of one mailbox) in the last hour, the last day,
    recorded after ``now``, and the latest one: enough to decide most sends without
    fetching rows (ix_outreach_messages_channel / ix_outreach_messages_mailbox_created).

    Windows are ``(now - length, now]``, as in :func:`aicmo.cam.domain.ratelimit.fits`;
    anything recorded after ``now`` (a clock behind another worker's) sends the caller
    to the exact arithmetic. ``any_status`` counts every attempt, counted or not (an
    upper bound that no later change of status can break).
    """
    params: dict[str, Any] = {"hour_start": now - HOUR, "now": now, "day_start": now - DAY}
    if mailbox_id is not None:
        params["mailbox_id"] = mailbox_id
    else:
        params.update(workspace_id=workspace_id, channel=str(channel))
    query = _window_counts_query(mailbox_id is not None, any_status)
    hour, day, later, last = db.execute(query, params).one()
    return int(hour), int(day), int(later), as_utc(last) if last is not None else None


@functools.lru_cache(maxsize=4)
def _window_counts_query(per_mailbox: bool, any_status: bool = False) -> Any:
    """The counting query of :func:`window_counts`, built once (it runs for every chunk
    of sends, twice)."""
    m = OutreachMessageDB
    if per_mailbox:
        scope = [m.mailbox_id == bindparam("mailbox_id")]
    else:
        scope = [m.workspace_id == bindparam("workspace_id"), m.channel == bindparam("channel")]
    now: Any = bindparam("now")
    return select(
        func.count().filter(m.created_at > bindparam("hour_start"), m.created_at <= now),
        func.count().filter(m.created_at <= now),
        func.count().filter(m.created_at > now),
        func.max(m.created_at),
    ).where(
        *scope,
        m.created_at > bindparam("day_start"),
        *([] if any_status else [m.status.in_(COUNTED)]),
    )


def check_channel_limits(db: Session, workspace_id: int, channel: str, now: datetime) -> None:
    """Raise RateLimitedError when one more send on the channel would break a window.

    Call inside the transaction that records the attempt, after ``lock_channel``.
    """
    config = lock_channel(db, workspace_id, channel)
    if config is None:
        return
    # Fast path: counts, no rows fetched, while both windows have room (most sends).
    hour, day, later, _ = window_counts(db, now, workspace_id=workspace_id, channel=channel)
    if not later and hour < config.rate_limit_per_hour and day < config.rate_limit_per_day:
        return
    sent = recent_sends(db, workspace_id, channel, now - DAY)
    _check(sent, config.rate_limit_per_hour, config.rate_limit_per_day, now, f"{channel} limit")


def channel_room(
    db: Session,
    channel: str | ChannelType,
    lead_id: int | None = None,
    *,
    workspace_id: int = DEFAULT_WORKSPACE_ID,
    now: datetime | None = None,
) -> dict[str, Any]:
    """What the engine's checks say about one more send on ``channel`` (to ``lead_id``)
    at ``now``, without taking a slot: the same windows and the same per-lead rule as
    :func:`check_channel_limits` and the engine's lead check, read without the lock.

    Returns ``per_hour``, ``per_day`` and ``per_lead`` (sends left in each window now;
    ``per_lead`` is None without a lead or when the channel has no per-lead count),
    ``can_send`` and ``next_slot`` (None when a send may go now, or never will: a limit
    of 0). A mailbox's or a LinkedIn account's own caps are not part of it.

    Raises:
        ValidationError: unknown channel.
    """
    ch = parse_channel(channel)
    now = now or utcnow()
    config = get_channel_config(db, ch, workspace_id=workspace_id)
    per_hour, per_day = config["rate_limit_per_hour"], config["rate_limit_per_day"]
    blocked: list[datetime | None] = []
    hour, day, later, _ = window_counts(db, now, workspace_id=workspace_id, channel=ch)
    if later or hour >= per_hour or day >= per_day:
        try:
            _check(recent_sends(db, workspace_id, ch, now - DAY), per_hour, per_day, now, str(ch))
        except RateLimitedError as err:
            blocked.append(err.retry_at)
    per_lead: int | None = None
    if lead_id is not None:
        touch = TouchLimit.of(config)
        touches = lead_touches(db, workspace_id, lead_id, touch.since(now))
        slot = touch.next_slot(touches, now)
        if slot is not None:
            blocked.append(slot)
        if touch.windows:
            window = touch.windows[0]
            per_lead = max(0, window.limit - count_in_window(touches, window, now))
    # Both rules must allow the send: the later slot, none if one never will.
    slots = [s for s in blocked if s is not None]
    return {
        "channel": str(ch),
        "lead_id": lead_id,
        "per_hour": max(0, per_hour - hour),
        "per_day": max(0, per_day - day),
        "per_lead": per_lead,
        "can_send": not blocked,
        "next_slot": max(slots) if slots and len(slots) == len(blocked) else None,
        "at": now,
    }


def lead_touches(db: Session, workspace_id: int, lead_id: int, since: datetime) -> list[datetime]:
    """When each counted attempt to the lead since ``since`` was recorded, on any channel
    and in any campaign (ix_outreach_messages_lead: workspace_id, lead_id, created_at)."""
    return list(
        db.scalars(
            select(OutreachMessageDB.created_at).where(
                OutreachMessageDB.workspace_id == workspace_id,
                OutreachMessageDB.lead_id == lead_id,
                OutreachMessageDB.status.in_(COUNTED),
                OutreachMessageDB.created_at > since,
            )
        )
    )


def mailbox_next_slot(db: Session, mailbox: MailboxDB, now: datetime) -> datetime | None:
    """When the mailbox may send next under its caps and minimum gap (``now`` if it may
    now; None if a cap is 0). Call under the channel lock."""
    if mailbox.hourly_cap <= 0 or mailbox.daily_cap <= 0:
        return None
    gap = timedelta(seconds=max(0, mailbox.min_gap_seconds or 0))
    # Fast path: counts and the latest send, no rows fetched.
    hour, day, later, last = window_counts(
        db, now, workspace_id=mailbox.workspace_id, mailbox_id=mailbox.id
    )
    if (
        not later
        and hour < mailbox.hourly_cap
        and day < mailbox.daily_cap
        and (last is None or not gap or last + gap <= now)
    ):
        return now
    sent = recent_sends(
        db, mailbox.workspace_id, ChannelType.EMAIL, now - DAY, mailbox_id=mailbox.id
    )
    windows = [Window(HOUR, mailbox.hourly_cap), Window(DAY, mailbox.daily_cap)]
    if fits(sent, windows, now, min_gap=gap):
        return now
    return next_send_slot(sent, windows, now, min_gap=gap)


def mailbox_has_room(db: Session, mailbox: MailboxDB, now: datetime) -> bool:
    """Whether the mailbox's own caps and gap allow one more send now (under the lock)."""
    return mailbox_next_slot(db, mailbox, now) == now


def as_utc(at: datetime) -> datetime:
    """MAX() keeps the column's UTC type; a naive value from a driver is read as UTC."""
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def sends_today(db: Session, mailbox_id: int, now: datetime) -> int:
    """How many counted attempts the mailbox made in the last 24 h (a count, no rows)."""
    return int(
        db.scalar(
            select(func.count()).where(
                OutreachMessageDB.mailbox_id == mailbox_id,
                OutreachMessageDB.created_at > now - DAY,
                OutreachMessageDB.status.in_(COUNTED),
            )
        )
        or 0
    )
