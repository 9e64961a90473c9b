"""``LinkedInOutreachService``: a provider account (Unipile), or tasks for a person."""

from __future__ import annotations

from typing import Any

from aicmo.cam.domain.messages import ChannelType
from aicmo.cam.outreach import OutreachServiceBase
from aicmo.operator_services.channels.linkedin_accounts import poll_linkedin
from aicmo.operator_services.channels.tasks import (
    cancel_stale_tasks,
    complete_task,
    list_tasks,
    skip_task,
)


class LinkedInOutreachService(OutreachServiceBase):
    """LinkedIn: with no provider account configured, each step becomes an operator task
    (connect / message / view profile) that a person completes here, on the CLI or later
    in the dashboard; the sequence continues from the time of completion."""

    channel = ChannelType.LINKEDIN

    def open_tasks(self, *, overdue: bool = False) -> list[dict[str, Any]]:
        with self._session() as db:
            cancel_stale_tasks(db)
            return [
                t
                for t in list_tasks(db, overdue=overdue)
                if t["channel"] == ChannelType.LINKEDIN.value
            ]

    def complete_task(self, task_id: int, note: str | None = None) -> dict[str, Any]:
        with self._session() as db:
            return complete_task(db, task_id, note=note)

    def skip_task(self, task_id: int, reason: str) -> dict[str, Any]:
        with self._session() as db:
            return skip_task(db, task_id, reason=reason)

    def poll_replies(self) -> dict[str, Any]:
        """Read new messages of the provider accounts; replies stop sequences."""
        with self._session() as db:
            return poll_linkedin(db)
