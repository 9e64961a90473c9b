"""``RateLimiter``: the engine's rate limits, for Python callers who want to know before
they send (the seed's "Rate limiter").

It reads and records nothing: a send takes its slot when its attempt is written, under
the channel's lock (:mod:`aicmo.operator_services.channels.limits`), so an answer here is what the
engine would decide now, not a reservation.
"""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from aicmo.bootstrap import open_session
from aicmo.cam.domain.messages import ChannelType
from aicmo.operator_services.channels.limits import channel_room

__all__ = ["RateLimiter"]


class RateLimiter:
    """The channel windows (per hour, per day) and the per-lead rule (count per period,
    minimum gap) of the engine, read for one more send now.

    ``db``: a session to read with; by default each call opens one on the settings'
    database. A mailbox's or a LinkedIn account's own caps are not included.
    """

    def __init__(self, db: Session | None = None) -> None:
        self._db = db

    def _room(self, channel: str | ChannelType, lead_id: int | None) -> dict[str, Any]:
        session: AbstractContextManager[Session] = (
            open_session() if self._db is None else nullcontext(self._db)
        )
        with session as db:
            return channel_room(db, channel, lead_id)

    def can_send(self, channel: str | ChannelType, lead_id: int | None = None) -> bool:
        """Whether one more send on ``channel`` (to ``lead_id``) would pass now."""
        return bool(self._room(channel, lead_id)["can_send"])

    def remaining(
        self, channel: str | ChannelType, lead_id: int | None = None
    ) -> dict[str, int | None]:
        """Sends left now: ``per_hour``, ``per_day`` and ``per_lead`` (None without a lead
        or when the channel has no per-lead count)."""
        room = self._room(channel, lead_id)
        return {k: room[k] for k in ("per_hour", "per_day", "per_lead")}

    def next_slot(self, channel: str | ChannelType, lead_id: int | None = None) -> datetime | None:
        """When the next send may go: None while there is room now (or when a limit of 0
        means never: :meth:`can_send` tells them apart)."""
        slot: datetime | None = self._room(channel, lead_id)["next_slot"]
        return slot
