"""The seed's channel classes: faces for Python callers, at the paths the seed names.

Each is a thin face over the service layer's one door (``send_outreach_message``), where
suppression, rate limits, idempotency and the audit trail are the same for every channel.
The channels themselves live in :mod:`aicmo.operator_services.channels`; a new channel is
added there (see docs/architecture.md, "Adding a channel"), not here.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any, ClassVar

from sqlalchemy.orm import Session

from aicmo.bootstrap import open_session
from aicmo.cam.domain.messages import ChannelType
from aicmo.cam.outreach.rate_limiter import RateLimiter
from aicmo.operator_services.outreach import get_outreach_history, send_outreach_message

SessionFactory = Callable[[], AbstractContextManager[Session]]


class OutreachServiceBase:
    """One channel's face for Python callers (the seed's service classes).

    ``session`` is a context-manager factory; by default the settings' database.
    """

    channel: ClassVar[ChannelType]

    def __init__(self, session: SessionFactory | None = None) -> None:
        self._session = session or open_session

    def send(
        self, lead_id: int, body: str, subject: str | None = None, **options: Any
    ) -> dict[str, Any]:
        """Send (or hand to a person) one message to one lead on this channel; see
        :func:`aicmo.operator_services.outreach.send_outreach_message`."""
        with self._session() as db:
            return send_outreach_message(
                db, lead_id, body, subject, channel=self.channel, **options
            )

    def history(self, lead_id: int | None = None, limit: int = 100) -> list[dict[str, Any]]:
        """This channel's attempts, newest first."""
        with self._session() as db:
            return get_outreach_history(db, lead_id=lead_id, channel=self.channel, limit=limit)


__all__ = ["OutreachServiceBase", "RateLimiter", "SessionFactory"]
