"""The seed's ``ChannelSequencer``: a thin face over the service layer.

``ChannelSequencer()`` with no arguments uses the settings' database (created and
migrated on first use) and the default transports; pass a session factory to use another.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

from sqlalchemy.orm import Session

from aicmo.bootstrap import open_session
from aicmo.cam.domain.messages import OutreachMessage
from aicmo.operator_services.engine.sequencing import execute_sequence


class ChannelSequencer:
    """Email → LinkedIn → Contact form, falling back when a channel cannot be used."""

    def __init__(
        self, session: Callable[[], AbstractContextManager[Session]] | None = None
    ) -> None:
        self._session = session or open_session

    def execute_sequence(
        self,
        message: OutreachMessage,
        recipient_email: str | None = None,
        recipient_linkedin_id: str | None = None,
        form_url: str | None = None,
    ) -> dict[str, Any]:
        """Send ``message`` on its channel, or the next usable one; see
        :func:`aicmo.operator_services.engine.sequencing.execute_sequence` for the result."""
        with self._session() as db:
            return execute_sequence(
                db,
                message,
                recipient_email=recipient_email,
                recipient_linkedin_id=recipient_linkedin_id,
                form_url=form_url,
            )
