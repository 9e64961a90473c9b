"""Channels: how a message reaches a lead (email, LinkedIn, the contact form of a site).

Each channel is one service class over the same door (the service layer's
``send_outreach_message``): suppression, rate limits, idempotency and the audit trail
are the same for all of them. A new channel is one module here, one sender in
``aicmo.operator_services.outreach.CHANNEL_SENDERS``.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any, ClassVar

from sqlalchemy.orm import Session

from aicmo.cam.domain.messages import ChannelType
from aicmo.cam.outreach.rate_limiter import RateLimiter

SessionFactory = Callable[[], AbstractContextManager[Session]]


class OutreachServiceBase:
    """One channel's face for Python callers (the seed's service classes).

    ``session`` is a context-manager factory; by default the settings' database.
    """

    channel: ClassVar[ChannelType]

    def __init__(self, session: SessionFactory | None = None) -> None:
        if session is None:
            from aicmo.app import open_session

            session = open_session
        self._session = session

    def send(
        self, lead_id: int, body: str, subject: str | None = None, **options: Any
    ) -> dict[str, Any]:
        """Send (or hand to a person) one message to one lead on this channel; see
        :func:`aicmo.operator_services.outreach.send_outreach_message`."""
        from aicmo.operator_services.outreach import send_outreach_message

        with self._session() as db:
            return send_outreach_message(
                db, lead_id, body, subject, channel=self.channel, **options
            )

    def history(self, lead_id: int | None = None, limit: int = 100) -> list[dict[str, Any]]:
        """This channel's attempts, newest first."""
        from aicmo.operator_services.outreach import get_outreach_history

        with self._session() as db:
            return get_outreach_history(db, lead_id=lead_id, channel=self.channel, limit=limit)


__all__ = ["OutreachServiceBase", "RateLimiter", "SessionFactory"]
