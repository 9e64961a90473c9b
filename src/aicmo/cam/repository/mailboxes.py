"""Sender mailboxes (mailboxes): a handful of rows per workspace.

Lookups by name use uq_mailboxes_name (workspace_id, name); the listings read the
workspace's range of it. The table is small enough that nothing else needs an index.
"""

from __future__ import annotations

from sqlalchemy import ScalarResult, case, func, select
from sqlalchemy.orm import Session

from aicmo.cam.db_models import MailboxDB


def has_smtp_mailbox(db: Session, workspace_id: int) -> bool:
    """Whether the workspace has an SMTP mailbox at all, enabled or not (its range of
    uq_mailboxes_name): with none, email goes to the local outbox; with only disabled
    ones, it waits."""
    found = db.scalar(
        select(MailboxDB.id)
        .where(MailboxDB.workspace_id == workspace_id, MailboxDB.smtp_host.is_not(None))
        .limit(1)
    )
    return found is not None


def workspaces_with_every_mailbox_disabled(db: Session) -> list[int]:
    """Workspaces whose SMTP mailboxes are all disabled: their email waits (a scan of a
    table of a handful of rows per workspace)."""
    enabled = func.sum(case((MailboxDB.enabled.is_(True), 1), else_=0))
    stmt = (
        select(MailboxDB.workspace_id)
        .where(MailboxDB.smtp_host.is_not(None))
        .group_by(MailboxDB.workspace_id)
        .having(enabled == 0)
        .order_by(MailboxDB.workspace_id)
    )
    return [int(ws) for ws in db.scalars(stmt)]


def mailbox_id_by_name(db: Session, workspace_id: int, name: str) -> int | None:
    """The id of the mailbox with this name (uq_mailboxes_name)."""
    return db.scalar(
        select(MailboxDB.id).where(MailboxDB.workspace_id == workspace_id, MailboxDB.name == name)
    )


def workspace_mailboxes(db: Session, workspace_id: int) -> ScalarResult[MailboxDB]:
    """Every mailbox of the workspace, by id (uq_mailboxes_name range)."""
    stmt = select(MailboxDB).where(MailboxDB.workspace_id == workspace_id).order_by(MailboxDB.id)
    return db.scalars(stmt)


def mailbox_by_ref(
    db: Session, workspace_id: int, *, mailbox_id: int | None = None, name: str | None = None
) -> MailboxDB | None:
    """A mailbox by id (primary key) or else by name (uq_mailboxes_name)."""
    stmt = select(MailboxDB).where(MailboxDB.workspace_id == workspace_id)
    if mailbox_id is not None:
        stmt = stmt.where(MailboxDB.id == mailbox_id)
    else:
        stmt = stmt.where(MailboxDB.name == name)
    return db.scalar(stmt)


def pollable_mailbox_ids(db: Session, workspace_id: int) -> list[int]:
    """Ids of the enabled mailboxes with an IMAP server (uq_mailboxes_name range)."""
    return list(
        db.scalars(
            select(MailboxDB.id).where(
                MailboxDB.workspace_id == workspace_id,
                MailboxDB.enabled.is_(True),
                MailboxDB.imap_host.is_not(None),
            )
        )
    )


def mailbox_addresses(db: Session, workspace_id: int) -> set[str]:
    """The From addresses of the workspace's mailboxes (uq_mailboxes_name range)."""
    return set(
        db.scalars(select(MailboxDB.from_address).where(MailboxDB.workspace_id == workspace_id))
    )
