"""Messages read from mailboxes and provider webhooks (inbound_messages).

uq_inbound_messages_key (workspace_id, message_key) makes processing idempotent: the
lookup below is the "seen it already?" check before a message is applied.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import ScalarResult, func, or_, select, update
from sqlalchemy.orm import Session

from aicmo.cam.db_models import InboundMessageDB


def inbound_seen(db: Session, workspace_id: int, message_key: str, *also: str) -> int | None:
    """The id of the message recorded under this key (or one of ``also``: the key an
    erasure left in its place), or None (uq_inbound_messages_key)."""
    keys = list(dict.fromkeys((message_key, *also)))
    return db.scalar(
        select(InboundMessageDB.id)
        .where(
            InboundMessageDB.workspace_id == workspace_id,
            InboundMessageDB.message_key.in_(keys)
            if len(keys) > 1
            else InboundMessageDB.message_key == message_key,
        )
        .limit(1)
    )


def lead_inbound_messages(
    db: Session, workspace_id: int, lead_id: int
) -> ScalarResult[InboundMessageDB]:
    """Every message matched to one lead, oldest first (ix_inbound_messages_lead)."""
    return db.scalars(
        select(InboundMessageDB)
        .where(InboundMessageDB.workspace_id == workspace_id, InboundMessageDB.lead_id == lead_id)
        .order_by(InboundMessageDB.id)
    )


def blank_lead_inbound(
    db: Session,
    workspace_id: int,
    *,
    lead_id: int,
    email: str | None,
    email_key: str | None,
    rekey: Callable[[str], str],
) -> int:
    """Erasure: blank sender, subject and text of the lead's messages, and (when the lead
    has an email) of any message whose lowered sender is its key; each message's key
    becomes ``rekey(key)`` (a Message-ID names the sender's domain). How many.

    The OR on a lowered address has no index: a scan of the workspace's messages, once
    per erasure; then one UPDATE per message by primary key."""
    inbound_filter = [InboundMessageDB.lead_id == lead_id]
    if email:
        inbound_filter.append(func.lower(InboundMessageDB.from_address) == email_key)
    rows = db.execute(
        select(InboundMessageDB.id, InboundMessageDB.message_key).where(
            InboundMessageDB.workspace_id == workspace_id, or_(*inbound_filter)
        )
    ).all()
    for row_id, key in rows:
        db.execute(
            update(InboundMessageDB)
            .where(InboundMessageDB.id == row_id)
            .values(from_address=None, subject=None, text=None, message_key=rekey(key))
        )
    return len(rows)
