"""The batched path's emails, built from their SENDING rows' rendered text by the email
channel's one builder (:func:`~aicmo.operator_services.channels.email.compose_email`),
each with the transport that will send it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from aicmo.cam.unsubscribe_token import UnsubscribeClaim, make_token, unsubscribe_url
from aicmo.config import get_settings
from aicmo.errors import AicmoError, ChannelError, ConfigurationError
from aicmo.operator_services.channels.email import (
    compose_email,
    display_name,
    sender_of,
    transport_for,
)
from aicmo.operator_services.engine.plan import Item
from aicmo.transports.base import Transport


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One message as the sender thread needs it: no ORM row, no session."""

    transport: Transport
    message: bytes | AicmoError  # the error when the message could not be built
    mail_from: str
    rcpt: str
    key: str


def prepare(db: Session, ready: list[Item], now: datetime) -> list[Outgoing]:
    """The chunk's messages built, with their transports (in this thread: it reads rows)."""
    if not ready:
        return []
    settings = get_settings()
    workspace_id = ready[0].enrollment.workspace_id
    namespace = ready[0].batch.namespace
    secret = settings.get_secret_key()
    postal = settings.sender_postal_address
    dkim_keys: dict[int, bytes] = {}
    outgoing: list[Outgoing] = []
    for item in ready:
        mb, lead = item.mailbox, item.lead
        assert item.row_id is not None and lead.email is not None
        sender = sender_of(mb, settings, dkim_keys)
        token = make_token(secret, UnsubscribeClaim(workspace_id, item.row_id))
        message: bytes | AicmoError
        try:
            message = compose_email(
                sender,
                to_name=display_name(lead.first_name, lead.last_name),
                to_address=lead.email,
                subject=item.rendered_subject,
                text=item.rendered_body,
                html=None,
                rfc_id=item.rfc_id,
                unsubscribe_link=unsubscribe_url(settings.public_url, token),
                now=now,
                postal_address=postal,
            )
        except (ChannelError, ConfigurationError) as err:
            message = err
        outgoing.append(
            Outgoing(
                transport_for(mb, settings),
                message,
                sender.address,
                lead.email,
                f"{namespace}:{item.key}",
            )
        )
    return outgoing
