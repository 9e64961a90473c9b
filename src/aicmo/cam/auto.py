"""Orchestration for Python callers: what ``aicmo worker --once`` and ``aicmo campaign
start`` do, as functions returning the same figures.

Nothing is decided here: both call the functions the worker and the CLI call. Without a
session they use the settings' database (created and migrated on first use).
"""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from typing import Any

from sqlalchemy.orm import Session

from aicmo.bootstrap import open_session
from aicmo.operator_services import campaigns
from aicmo.operator_services.ops.health import record_stop
from aicmo.operator_services.uow import utcnow
from aicmo.worker import WorkerOptions, tick, worker_name

__all__ = ["run_once", "start_campaign"]


def _session(db: Session | None) -> AbstractContextManager[Session]:
    return open_session() if db is None else nullcontext(db)


def run_once(db: Session | None = None) -> dict[str, Any]:
    """One worker tick, as ``aicmo worker --once``: send what is due, read the mailboxes
    and LinkedIn replies, finish campaigns with nothing left; the heartbeat says the
    worker ran and stopped.

    Returns the tick's figures, as the worker logs them: ``processed``,
    ``recovered_unknown``, ``tasks_withdrawn``, ``mailboxes_polled``, ``linkedin_replies``,
    ``campaigns_finished``, ``ms`` and one ``n_<outcome>`` per outcome (``n_sent``, …).
    """
    name = worker_name()
    started = utcnow()
    with _session(db) as session:
        try:
            return tick(
                session,
                name,
                options=WorkerOptions(once=True),
                started_at=started,
                poll_linkedin_now=True,
            )
        finally:
            record_stop(session, name, now=utcnow())


def start_campaign(db: Session | None, name: str | int) -> dict[str, Any]:
    """Validate, enroll the audience and activate, as ``aicmo campaign start``; the next
    :func:`run_once` (or a running worker) sends. Returns the campaign with ``enrolled``.

    Raises:
        NotFoundError: no such campaign. ValidationError: the campaign has errors.
    """
    with _session(db) as session:
        return campaigns.start_campaign(session, name)
