"""An email of the batched path built from its SENDING row's rendered text: envelope,
unsubscribe link and header, DKIM signature; with the transport that will send it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from aicmo.cam.outreach.email_message import (
    EmailContent,
    EmailEnvelope,
    build_email,
    dkim_sign,
)
from aicmo.cam.unsubscribe import UnsubscribeClaim, make_token, unsubscribe_url
from aicmo.config import get_settings
from aicmo.crypto import decrypt_secret
from aicmo.errors import AicmoError, ChannelError, ConfigurationError
from aicmo.operator_services.email_sending import transport_for
from aicmo.operator_services.engine.plan import Item
from aicmo.transports.base import Transport


@dataclass(frozen=True, slots=True)
class _Envelope:
    """What building one message needs, copied out of the rows."""

    content: EmailContent
    envelope: EmailEnvelope
    rfc_id: str
    link: str
    mailto: str
    dkim: tuple[str, str, bytes] | None


def _build(env: _Envelope, now: datetime, postal: str | None) -> bytes:
    message = build_email(
        env.content,
        env.envelope,
        message_id=env.rfc_id,
        date=now,
        unsubscribe_https=env.link,
        unsubscribe_mailto=env.mailto,
        postal_address=postal,
    )
    if env.dkim is not None:
        domain, selector, pem = env.dkim
        message = dkim_sign(message, selector=selector, domain=domain, private_key_pem=pem)
    return message


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
        address = mb.from_address if mb else settings.sender_email
        dkim = None
        if mb is not None and mb.dkim_key and mb.dkim_domain and mb.dkim_selector:
            if mb.id not in dkim_keys:
                dkim_keys[mb.id] = decrypt_secret(mb.dkim_key, settings).encode()
            dkim = (mb.dkim_domain, mb.dkim_selector, dkim_keys[mb.id])
        env = _Envelope(
            content=EmailContent(subject=item.rendered_subject, text=item.rendered_body, html=None),
            envelope=EmailEnvelope(
                from_name=(mb.from_name or "") if mb else settings.sender_name,
                from_address=address,
                to_name=" ".join(p for p in (lead.first_name, lead.last_name) if p) or None,
                to_address=lead.email,
                reply_to=mb.reply_to if mb else None,
            ),
            rfc_id=item.rfc_id,
            link=unsubscribe_url(
                settings.public_url,
                make_token(secret, UnsubscribeClaim(workspace_id, item.row_id)),
            ),
            mailto=f"mailto:{(mb.reply_to if mb else None) or address}?subject=unsubscribe",
            dkim=dkim,
        )
        message: bytes | AicmoError
        try:
            message = _build(env, now, postal)
        except (ChannelError, ConfigurationError) as err:
            message = err
        outgoing.append(
            Outgoing(
                transport_for(mb, settings), message, address, lead.email, f"{namespace}:{item.key}"
            )
        )
    return outgoing
