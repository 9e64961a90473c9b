"""Rows the inbound tests start from: a lead we already wrote to."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from aicmo.cam.db_models import OutreachMessageDB


def add_sent_email(
    db: Session, lead_id: int, email: str, rfc_message_id: str | None, *, at: datetime
) -> int:
    """One SENT email attempt (SMTP) to the lead, carrying the given Message-ID."""
    row = OutreachMessageDB(
        workspace_id=1,
        lead_id=lead_id,
        channel="EMAIL",
        status="SENT",
        recipient=email,
        subject="Hello",
        body="Hi",
        transport="smtp",
        rfc_message_id=rfc_message_id,
        idempotency_key=f"test:{lead_id}:{rfc_message_id}",
        sent_at=at,
        created_at=at,
        updated_at=at,
    )
    db.add(row)
    db.commit()
    return row.id
