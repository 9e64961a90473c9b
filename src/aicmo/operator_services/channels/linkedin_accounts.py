"""LinkedIn provider accounts and the replies read through them (sending is the channel's:
:mod:`aicmo.operator_services.channels.linkedin`).

LinkedIn's public API does not let ordinary apps message members, so a step is either
handed to a person (a task with the rendered text and the profile URL), or sent through
a provider that holds the member's session (Unipile). The provider path goes
connection request → wait for acceptance (looked at again every few hours, up to two
weeks) → message; replies are read back and stop the sequence like an email reply.

Every provider call that may reach LinkedIn is preceded by a committed SENDING attempt
(invariant 1); account caps (invitations per day and week, messages per day) are counted
under the channel's lock like every other limit (invariant 3). An account the provider
reports restricted or disconnected is paused with the reason, and an event says so.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from aicmo.cam import repository as repo
from aicmo.cam.db_models import (
    DEFAULT_WORKSPACE_ID,
    InboundMessageDB,
    LeadDB,
    LinkedInAccountDB,
    OutreachMessageDB,
)
from aicmo.cam.domain import leads as L
from aicmo.cam.domain.events import EventType, OutreachEvent
from aicmo.cam.domain.messages import ChannelType, MessageStatus
from aicmo.cam.repository import costs as cost_repo
from aicmo.config import Settings, get_settings
from aicmo.crypto import decrypt_secret, encrypt_secret
from aicmo.errors import (
    AicmoError,
    ConflictError,
    NotFoundError,
    ValidationError,
)
from aicmo.operator_services.crm.replies import (
    ReplyAttribution,
    categorize_new_reply,
    mark_replied,
    record_reply_event,
)
from aicmo.operator_services.uow import unit_of_work, utcnow
from aicmo.transports import unipile as U


class LinkedInProvider(Protocol):
    """What the channel needs from a provider (``aicmo.transports.unipile.UnipileClient``)."""

    def get_profile(self, identifier: str) -> U.LinkedInProfile: ...

    def send_invitation(self, provider_id: str, note: str | None = None) -> str: ...

    def start_chat(self, provider_id: str, text: str) -> U.SentMessage: ...

    def list_messages(self, *, after: datetime | None = None) -> Iterator[U.ProviderMessage]: ...


ProviderFactory = Callable[[LinkedInAccountDB, Settings], LinkedInProvider]


def unipile_for(account: LinkedInAccountDB, settings: Settings) -> LinkedInProvider:
    """The real adapter for a stored account (the key is decrypted only here)."""
    return U.UnipileClient(
        U.UnipileConfig(
            base_url=account.base_url,
            api_key=decrypt_secret(account.api_key, settings),
            account_id=account.account_ref,
        )
    )


#: Tests and embedders may swap the factory (e.g. to pass an HTTP client of their own).
provider_factory: ProviderFactory = unipile_for


# --- accounts -------------------------------------------------------------------------------


def account_to_dict(row: LinkedInAccountDB) -> dict[str, Any]:
    """Never includes the API key."""
    return {
        "id": row.id,
        "name": row.name,
        "provider": row.provider,
        "base_url": row.base_url,
        "account_ref": row.account_ref,
        "enabled": row.enabled,
        "status": row.status,
        "status_reason": row.status_reason,
        "invites_per_day": row.invites_per_day,
        "invites_per_week": row.invites_per_week,
        "messages_per_day": row.messages_per_day,
        "polled_until": row.polled_until,
    }


def add_linkedin_account(
    db: Session,
    name: str,
    *,
    base_url: str,
    account_ref: str,
    api_key: str,
    invites_per_day: int = U.DEFAULT_LIMITS.invitations_per_day,
    invites_per_week: int = U.DEFAULT_LIMITS.invitations_per_week,
    messages_per_day: int = U.DEFAULT_LIMITS.messages_per_day,
    workspace_id: int = DEFAULT_WORKSPACE_ID,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Store a provider account (Unipile DSN, account id, API key encrypted at rest).

    Raises:
        ValidationError: a bad field (named). ConflictError: the name is taken.
    """
    now = now or utcnow()
    clean = L.check_single_line("name", (name or "").strip(), max_len=100)
    if not clean:
        raise ValidationError("an account needs a name", field="name")
    url = L.check_single_line("base_url", (base_url or "").strip().rstrip("/"), max_len=500)
    if not url.startswith("https://") and not (
        url.startswith("http://127.") and get_settings().allow_loopback
    ):
        raise ValidationError(
            f"base_url must be the provider's https URL (your Unipile DSN), got {base_url!r}: "
            "the API key must not travel in clear text",
            field="base_url",
        )
    ref = L.check_single_line("account_ref", (account_ref or "").strip(), max_len=200)
    if not ref:
        raise ValidationError("the provider's account id is required", field="account_ref")
    if not api_key or not api_key.strip():
        raise ValidationError("the API key is empty", field="api_key")
    for field, value in (
        ("invites_per_day", invites_per_day),
        ("invites_per_week", invites_per_week),
        ("messages_per_day", messages_per_day),
    ):
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 1000:
            raise ValidationError(f"{field} must be between 0 and 1000", field=field)
    with unit_of_work(db):
        if cost_repo.linkedin_account_id_by_name(db, workspace_id, clean) is not None:
            raise ConflictError(f"a LinkedIn account named {clean!r} exists")
        row = LinkedInAccountDB(
            workspace_id=workspace_id,
            name=clean,
            provider="unipile",
            base_url=url,
            account_ref=ref,
            api_key=encrypt_secret(api_key.strip()),
            invites_per_day=invites_per_day,
            invites_per_week=invites_per_week,
            messages_per_day=messages_per_day,
            status="ACTIVE",
            created_at=now,
            updated_at=now,
        )
        db.add(row)
        db.flush()
        result = account_to_dict(row)
    return result


def list_linkedin_accounts(
    db: Session, *, workspace_id: int = DEFAULT_WORKSPACE_ID
) -> list[dict[str, Any]]:
    rows = db.scalars(
        select(LinkedInAccountDB)
        .where(LinkedInAccountDB.workspace_id == workspace_id)
        .order_by(LinkedInAccountDB.id)
    )
    return [account_to_dict(r) for r in rows]


def resume_linkedin_account(
    db: Session, name: str, *, workspace_id: int = DEFAULT_WORKSPACE_ID
) -> dict[str, Any]:
    """The operator has dealt with the restriction: the account sends again."""
    with unit_of_work(db):
        row = db.scalar(
            select(LinkedInAccountDB).where(
                LinkedInAccountDB.workspace_id == workspace_id, LinkedInAccountDB.name == name
            )
        )
        if row is None:
            raise NotFoundError(f"no LinkedIn account named {name!r}")
        row.status, row.status_reason = "ACTIVE", None
        result = account_to_dict(row)
    return result


def pause_account(db: Session, account: LinkedInAccountDB, reason: str, now: datetime) -> None:
    with unit_of_work(db):
        row = db.get(LinkedInAccountDB, account.id)
        assert row is not None
        row.status, row.status_reason, row.updated_at = "PAUSED", reason[:2000], now
        repo.add_event(
            db,
            row.workspace_id,
            OutreachEvent(
                type=EventType.ACCOUNT_PAUSED,
                occurred_at=now,
                channel=ChannelType.LINKEDIN,
                source=row.provider,
                reason=reason[:500],
                detail={"account": row.name},
            ),
        )


# --- replies --------------------------------------------------------------------------------


def poll_linkedin(
    db: Session, *, now: datetime | None = None, workspace_id: int = DEFAULT_WORKSPACE_ID
) -> dict[str, Any]:
    """Read new messages of every active account; a lead's reply stops its sequences.

    Each provider message is applied once (its id is kept like an email's Message-ID).
    """
    now = now or utcnow()
    settings = get_settings()
    totals: dict[str, int] = {"accounts": 0, "read": 0, "replies": 0, "unmatched": 0}
    errors: list[str] = []
    accounts = list(
        db.scalars(
            select(LinkedInAccountDB).where(
                LinkedInAccountDB.workspace_id == workspace_id,
                LinkedInAccountDB.enabled,
                LinkedInAccountDB.status == "ACTIVE",
            )
        )
    )
    for account in accounts:
        totals["accounts"] += 1
        client = provider_factory(account, settings)
        newest = account.polled_until
        try:
            messages = list(client.list_messages(after=account.polled_until))
        except AicmoError as err:
            if isinstance(err, U.AccountRestrictedError | U.ProviderAuthError):
                pause_account(db, account, f"{type(err).__name__}: {err.message}", now)
            errors.append(f"{account.name}: {err.message}")
            continue
        for msg in messages:
            totals["read"] += 1
            newest = max(newest, msg.sent_at) if newest else msg.sent_at
            if msg.from_us or msg.is_event:  # ours, or a reaction / system notice
                continue
            if _apply_reply(db, account, msg, now):
                totals["replies"] += 1
            else:
                totals["unmatched"] += 1
        with unit_of_work(db):
            row = db.get(LinkedInAccountDB, account.id)
            assert row is not None
            row.polled_until = newest
    return {**totals, "errors": errors}


def _apply_reply(
    db: Session, account: LinkedInAccountDB, msg: U.ProviderMessage, now: datetime
) -> bool:
    """Record one inbound LinkedIn message; True when it was matched to a lead."""
    key = f"linkedin:{account.provider}:{msg.id}"
    with unit_of_work(db):
        if repo.inbound_seen(db, account.workspace_id, key) is not None:
            return False
        lead = db.scalar(
            select(LeadDB).where(
                LeadDB.workspace_id == account.workspace_id,
                LeadDB.linkedin_id == msg.sender_provider_id,
            )
        )
        attempt = None
        if lead is not None:
            attempt = db.scalar(
                select(OutreachMessageDB)
                .where(
                    OutreachMessageDB.lead_id == lead.id,
                    OutreachMessageDB.channel == ChannelType.LINKEDIN.value,
                    OutreachMessageDB.status.in_(
                        [MessageStatus.SENT.value, MessageStatus.DELIVERED.value]
                    ),
                )
                .order_by(OutreachMessageDB.id.desc())
                .limit(1)
            )
        inbound = InboundMessageDB(
            workspace_id=account.workspace_id,
            message_key=key,
            kind="REPLY" if lead is not None else "UNMATCHED",
            received_at=msg.sent_at,
            lead_id=lead.id if lead is not None else None,
            attempt_id=attempt.id if attempt is not None else None,
            text=msg.text[:20_000] if msg.text else None,
        )
        db.add(inbound)
        if lead is None:
            return False
        db.flush()
        mark_replied(db, attempt, lead, replied_at=msg.sent_at, now=now, why="replied on LinkedIn")
        where = ReplyAttribution.of(attempt)
        reply_event_id = record_reply_event(
            db,
            account.workspace_id,
            OutreachEvent(
                type=EventType.REPLY_RECEIVED,
                occurred_at=msg.sent_at,
                channel=ChannelType.LINKEDIN,
                source=account.provider,
                reason="LinkedIn reply",
                detail={"chat_id": msg.chat_id, "provider_message_id": msg.id},
            ),
            lead,
            where,
        )
        # Categorised in the same transaction; this also regrades the lead.
        categorize_new_reply(
            db,
            account.workspace_id,
            reply_event_id=reply_event_id,
            lead=lead,
            channel=ChannelType.LINKEDIN,
            where=where,
            received_at=msg.sent_at,
            text=msg.text,
            sender=_sender_name(lead),
            inbound_message_id=inbound.id,
            linkedin_account_id=account.id,
            now=now,
        )
    return True


def _sender_name(lead: LeadDB) -> str | None:
    """Who wrote a LinkedIn message, as the inbox shows it (the lead's name or profile)."""
    name = " ".join(p for p in (lead.first_name, lead.last_name) if p)
    return name or lead.linkedin_url
