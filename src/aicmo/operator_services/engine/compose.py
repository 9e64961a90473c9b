"""The batched path's emails, built from their SENDING rows' rendered text by the email
channel's one builder (:func:`~aicmo.operator_services.channels.email.compose_email`),
each with the transport that will send it; and the same build tried once before the rows
are written (:func:`check_buildable`), so that one lead whose data cannot make an email
fails alone instead of stalling its chunk.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy.orm import Session

from aicmo.cam.unsubscribe_token import UnsubscribeClaim, make_token, unsubscribe_url
from aicmo.config import Settings, get_settings
from aicmo.errors import (
    AicmoError,
    ChannelError,
    ConfigurationError,
    PermanentChannelError,
    ValidationError,
)
from aicmo.operator_services.channels.email import (
    Sender,
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
            message = _build(item, sender, unsubscribe_url(settings.public_url, token), now, postal)
        except (ChannelError, ConfigurationError) as err:
            message = err
        except ValidationError as err:
            # check_buildable let it through, so this should not happen; if it does, this
            # lead fails alone (a ValidationError would stop the sender thread, leaving the
            # rest of the chunk SENDING, then UNKNOWN).
            message = PermanentChannelError(f"the message could not be built: {err.message}")
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


def check_buildable(
    item: Item, now: datetime, settings: Settings, dkim_keys: dict[int, bytes]
) -> None:
    """Build the rendered item's message once, unsigned and with a stand-in unsubscribe
    link, before its attempt is written SENDING.

    The real message needs the attempt's id (its unsubscribe token), so it is built after
    the SENDING rows are committed; a lead whose data cannot make a valid email (a line
    break from a custom field in the subject: header injection) would then fail the whole
    chunk with every attempt committed SENDING and nothing sent, and all of them would
    wait for the operator as "outcome unknown". Only the token differs between this build
    and the real one.

    Raises:
        ValidationError: what the builder refuses, with the field it names.
    """
    sender = replace(sender_of(item.mailbox, settings, dkim_keys), dkim=None)
    link = _stand_in_link(
        settings.public_url, settings.get_secret_key(), item.enrollment.workspace_id
    )
    _build(item, sender, link, now, settings.sender_postal_address)


@functools.lru_cache(maxsize=8)
def _stand_in_link(public_url: str, secret: str, workspace_id: int) -> str:
    """An unsubscribe link of the real shape for an attempt that has no id yet (made once:
    a token costs as much as a fifth of a build)."""
    return unsubscribe_url(public_url, make_token(secret, UnsubscribeClaim(workspace_id, 0)))


def _build(item: Item, sender: Sender, link: str, now: datetime, postal: str | None) -> bytes:
    lead = item.lead
    assert lead.email is not None
    return compose_email(
        sender,
        to_name=display_name(lead.first_name, lead.last_name),
        to_address=lead.email,
        subject=item.rendered_subject,
        text=item.rendered_body,
        html=None,
        rfc_id=item.rfc_id,
        unsubscribe_link=link,
        now=now,
        postal_address=postal,
    )
