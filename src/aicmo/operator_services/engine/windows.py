"""Rate-window room for a batch's chunks, under the channel's lock: how many messages may
go now and from which mailbox, without counting a whole day of sends again per chunk.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from aicmo.cam import repository as repo
from aicmo.cam.db_models import OutreachMessageDB
from aicmo.cam.domain.messages import ChannelType
from aicmo.operator_services.channels.email import sending_mailboxes
from aicmo.operator_services.channels.limits import as_utc, lock_channel, window_counts
from aicmo.operator_services.engine.plan import Item


def _room(
    db: Session, mailbox_id: int | None, workspace_id: int, now: datetime
) -> tuple[int, int, int, datetime | None]:
    return window_counts(db, now, workspace_id=workspace_id, mailbox_id=mailbox_id)


Counts = tuple[int, int, int, datetime | None]  # hour, day, later, last: as window_counts


class Windows:
    """Upper bounds of the rate windows for a batch's chunks, so that a chunk need not
    count a whole day of sends again (the counts grow with the day's volume; a chunk of
    50 sends would read all of them twice).

    The first chunk counts every attempt of each scope (the channel, each mailbox) in
    full, whatever its status, under the channel's lock, and notes the highest attempt
    id then. A later chunk, under the lock again, reads only the attempts recorded since
    (id above that mark): a window at its time holds at most what the full count found
    then (in the window or after it) plus those. This holds because attempts of the
    channel are only added under its lock, with increasing ids, and never deleted, and
    their creation time never changes; counting every status makes the bound immune to
    any change of status. A scope whose bound does not leave room for the chunk is
    counted exactly, as before.
    """

    def __init__(self) -> None:
        self.at: datetime | None = None
        self.mark = 0
        self.base: dict[int | None, Counts] = {}  # None: the channel

    def bounds(
        self, db: Session, workspace_id: int, now: datetime, scopes: list[int | None]
    ) -> dict[int | None, Counts]:
        """Under the lock: an upper bound of each scope's counts at ``now``."""
        if self.at is None or now < self.at:  # the first chunk, or the clock went back
            m = OutreachMessageDB
            self.mark = int(db.scalar(select(func.max(m.id))) or 0)
            self.at = now
            self.base = {
                scope: window_counts(
                    db, now, workspace_id=workspace_id, mailbox_id=scope, any_status=True
                )
                for scope in scopes
            }
            return dict(self.base)
        added: dict[int | None, tuple[int, int, datetime | None]] = {}
        m = OutreachMessageDB
        # By id alone, filtered here: with the scope in the query the planner walks the
        # channel's window index (every send of the day) instead of the ids since the mark.
        for mailbox_id, ws, channel, created in db.execute(
            select(m.mailbox_id, m.workspace_id, m.channel, m.created_at).where(m.id > self.mark)
        ):
            if ws != workspace_id or channel != ChannelType.EMAIL.value:
                continue
            at = as_utc(created)
            keys: list[int | None] = [None] if mailbox_id is None else [None, int(mailbox_id)]
            for key in keys:
                was_n, was_later, was_last = added.get(key, (0, 0, None))
                added[key] = (was_n + 1, was_later + (at > now), _latest(was_last, at))
        out: dict[int | None, Counts] = {}
        for scope, (hour, day, later, last) in self.base.items():
            n, new_later, new_last = added.get(scope, (0, 0, None))
            out[scope] = (
                hour + later + n,
                day + later + n,
                later + new_later,
                _latest(last, new_last),
            )
        return out


def _latest(a: datetime | None, b: datetime | None) -> datetime | None:
    return b if a is None else a if b is None else max(a, b)


def assign(
    db: Session, items: list[Item], workspace_id: int, now: datetime, windows: Windows
) -> tuple[list[Item], list[Item]]:
    """Under the channel lock: how many may go now, and from which mailbox."""
    config = lock_channel(db, workspace_id, ChannelType.EMAIL)
    mailboxes = sending_mailboxes(db, workspace_id)
    if not mailboxes and repo.has_smtp_mailbox(db, workspace_id):
        # Every mailbox disabled: none goes (the one-by-one path reschedules each, with
        # the reason), and never to the outbox.
        return [], items
    scopes: list[int | None] = [None, *(mb.id for mb in mailboxes)]
    bounds = windows.bounds(db, workspace_id, now, scopes)
    need = len(items)

    def counts(scope: int | None, hourly: int, daily: int, exact: bool = False) -> Counts:
        bound = bounds.get(scope)
        if (
            bound is not None
            and not exact
            and not bound[2]
            and min(hourly - bound[0], daily - bound[1]) >= need
        ):
            return bound  # room for the whole chunk even at the upper bound
        return _room(db, scope, workspace_id, now)

    if config is None:
        channel_room = len(items)
    else:
        per_hour, per_day = config.rate_limit_per_hour, config.rate_limit_per_day
        hour, day, later, _ = counts(None, per_hour, per_day)
        if later or per_hour <= 0 or per_day <= 0:
            return [], items
        channel_room = min(per_hour - hour, per_day - day)
    if channel_room <= 0:
        return [], items
    go = items[:channel_room]
    rest = items[channel_room:]
    if not mailboxes:
        return go, rest  # no SMTP mailbox at all: the local outbox
    room: dict[int, int] = {}
    today: dict[int, int] = {}
    for mb in mailboxes:
        gap = timedelta(seconds=max(0, mb.min_gap_seconds or 0))
        # With a gap a mailbox sends one message per chunk at most: counted exactly.
        hour, day, later, last = counts(mb.id, mb.hourly_cap, mb.daily_cap, exact=bool(gap))
        free = 0 if later else min(mb.hourly_cap - hour, mb.daily_cap - day)
        if gap and free > 0:
            free = 1 if last is None or last + gap <= now else 0
        room[mb.id], today[mb.id] = max(0, free), day
    assigned: list[Item] = []
    by_id = {mb.id: mb for mb in mailboxes}
    for item in go:
        open_ = [i for i, r in room.items() if r > 0]
        if not open_:
            rest.append(item)
            continue
        best = min(open_, key=lambda i: (today[i], i))  # least used today first
        item.mailbox = by_id[best]
        item.mailbox_id = best
        room[best] -= 1
        today[best] += 1
        assigned.append(item)
    return assigned, rest
