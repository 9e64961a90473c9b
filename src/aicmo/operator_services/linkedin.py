"""The LinkedIn channel: operator tasks by default, a provider account when configured.

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
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import func, select
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
from aicmo.cam.domain.messages import ChannelType, LeadStage, MessageStatus
from aicmo.cam.domain.ratelimit import Window, fits, next_send_slot
from aicmo.config import Settings, get_settings
from aicmo.crypto import decrypt_secret, encrypt_secret
from aicmo.errors import (
    AicmoError,
    ConfigurationError,
    ConflictError,
    NotFoundError,
    OutcomeUnknownError,
    PermanentChannelError,
    RateLimitedError,
    TransientChannelError,
    ValidationError,
)
from aicmo.operator_services.events import attempt_event, regrade_if_lead
from aicmo.operator_services.limits import (
    COUNTED,
    DAY,
    begin_send_transaction,
    check_channel_limits,
)
from aicmo.operator_services.suppression import blocking_suppression
from aicmo.operator_services.tasks import open_task
from aicmo.operator_services.uow import unit_of_work, utcnow
from aicmo.transports import unipile as U
from aicmo.transports.rendering import RenderContext, render

WEEK = timedelta(days=7)
#: How often a pending connection request is looked at again.
ACCEPTANCE_POLL = timedelta(hours=6)
#: After this, an unanswered request counts as declined and the step falls back.
ACCEPTANCE_TIMEOUT = timedelta(days=14)
#: How long a step waits when every account is paused.
PAUSED_RETRY = timedelta(hours=6)
OPERATOR_REASON = (
    "LinkedIn steps are done by a person: no LinkedIn provider account is configured "
    "(aicmo linkedin add)"
)


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
        taken = db.scalar(
            select(LinkedInAccountDB.id).where(
                LinkedInAccountDB.workspace_id == workspace_id, LinkedInAccountDB.name == clean
            )
        )
        if taken is not None:
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


def _pause(db: Session, account: LinkedInAccountDB, reason: str, now: datetime) -> None:
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


# --- sending --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LinkedInResult:
    """The attempt on record and what it means for the step.

    ``outcome`` overrides what the attempt's status alone would say: TASK (a person
    does it), WAIT (a connection request is pending; look again at ``retry_at``).
    """

    row: OutreachMessageDB
    outcome: str | None = None
    retry_at: datetime | None = None


def _render(text: str | None, lead: LeadDB, key: str, field: str) -> str | None:
    if text is None:
        return None
    from aicmo.operator_services.email_sending import lead_context

    context = RenderContext(lead=lead_context(lead), sender=_sender())
    return render(text, context, seed=key, field=field)


def _sender() -> dict[str, str]:
    settings = get_settings()
    return {"name": settings.sender_name, "email": settings.sender_email or ""}


def _profile_url(lead: LeadDB) -> str | None:
    if lead.linkedin_url:
        return lead.linkedin_url
    if lead.linkedin_id:
        return f"https://www.linkedin.com/in/{lead.linkedin_id}"
    return None


def _new_attempt(
    lead: LeadDB,
    *,
    key: str,
    status: MessageStatus,
    message_type: str,
    body: str | None,
    now: datetime,
    transport: str,
    campaign_id: int | None,
    step_index: int | None,
    enrollment_id: int | None,
    account_id: int | None = None,
) -> OutreachMessageDB:
    return OutreachMessageDB(
        workspace_id=lead.workspace_id,
        lead_id=lead.id,
        campaign_id=campaign_id,
        enrollment_id=enrollment_id,
        linkedin_account_id=account_id,
        step_index=step_index,
        channel=ChannelType.LINKEDIN.value,
        message_type=message_type,
        status=status.value,
        recipient=_profile_url(lead),
        body=body,
        transport=transport,
        idempotency_key=key,
        scheduled_at=now,
        created_at=now,
        updated_at=now,
    )


def _record_failed(
    db: Session, lead: LeadDB, *, key: str, error: str, now: datetime, **attempt: Any
) -> OutreachMessageDB:
    with unit_of_work(db):
        row = _new_attempt(lead, key=key, status=MessageStatus.FAILED, now=now, **attempt)
        row.error = error[:2000]
        db.add(row)
        db.flush()
        attempt_event(db, row, EventType.MESSAGE_ATTEMPTED, now)
        attempt_event(db, row, EventType.MESSAGE_FAILED, now, error[:500])
    return row


def send_linkedin_attempt(
    db: Session,
    lead: LeadDB,
    *,
    body: str,
    note: str | None,
    action: str | None,
    key: str,
    now: datetime,
    campaign_id: int | None = None,
    step_index: int | None = None,
    enrollment_id: int | None = None,
) -> LinkedInResult:
    """One LinkedIn step for one lead: a task for a person, or the provider's calls.

    The caller has checked suppression, that the lead has a profile and that ``key`` is
    new. Raises RateLimitedError when a cap is reached (the step is rescheduled).
    """
    action = action or "message"
    text = _render(body, lead, key, "body") or ""
    rendered_note = _render(note, lead, key, "note")
    if rendered_note is not None and len(rendered_note) > U.INVITATION_NOTE_MAX_CHARS:
        raise ValidationError(
            f"the connection note is {len(rendered_note)} characters once rendered; "
            f"LinkedIn allows {U.INVITATION_NOTE_MAX_CHARS}",
            field="note",
        )
    common: dict[str, Any] = {
        "campaign_id": campaign_id,
        "step_index": step_index,
        "enrollment_id": enrollment_id,
    }
    account = _pick_account(db, lead.workspace_id, now)
    if account is None:
        return LinkedInResult(
            _operator_task(db, lead, text, rendered_note, action, key, now, common), "TASK"
        )
    settings = get_settings()
    client = provider_factory(account, settings)
    ident = lead.linkedin_id or lead.linkedin_url or ""
    try:
        profile = client.get_profile(U.linkedin_identifier(ident))
    except AicmoError as err:
        transient = isinstance(err, TransientChannelError) and not isinstance(
            err, U.AccountRestrictedError | U.ProviderAuthError | U.InvitationLimitError
        )
        if transient and not isinstance(err, U.ProviderRateLimitedError):
            # Only a lookup failed: nothing was sent, the step's key stays unused.
            raise RateLimitedError(
                f"LinkedIn provider unavailable: {err.message}", retry_at=now + timedelta(hours=1)
            ) from err
        return _provider_failure(
            db, lead, account, err, key=key, now=now, message_type="linkedin_view", **common
        )
    # The lead may be known by a provider-id URL while the suppression list names the
    # profile's public id (or the other way round): both keys are checked.
    for other in profile.identity_keys:
        if other == lead.linkedin_key or not other.startswith("in:"):
            continue
        hit = blocking_suppression(
            db,
            email_key=None,
            linkedin_key=other,
            channel=ChannelType.LINKEDIN,
            workspace_id=lead.workspace_id,
        )
        if hit is not None:
            with unit_of_work(db):
                row = _new_attempt(
                    lead,
                    key=key,
                    status=MessageStatus.SUPPRESSED,
                    message_type="linkedin_message",
                    body=text,
                    now=now,
                    transport=account.provider,
                    account_id=account.id,
                    **common,
                )
                row.error = f"linkedin {hit['value']} is suppressed ({hit['reason']})"
                db.add(row)
                db.flush()
                attempt_event(db, row, EventType.MESSAGE_ATTEMPTED, now)
                attempt_event(db, row, EventType.MESSAGE_FAILED, now, row.error)
            return LinkedInResult(row)
    if lead.linkedin_id != profile.provider_id:
        with unit_of_work(db):
            fresh = db.get(LeadDB, lead.id)
            assert fresh is not None
            fresh.linkedin_id = profile.provider_id
    if action == "view_profile":
        with unit_of_work(db):
            row = _new_attempt(
                lead,
                key=key,
                status=MessageStatus.SENT,
                message_type="linkedin_view",
                body=None,
                now=now,
                transport=account.provider,
                account_id=account.id,
                **common,
            )
            row.sent_at = now
            row.details = {"provider_id": profile.provider_id}
            row.provider_message_id = f"profile viewed: {profile.provider_id}"
            db.add(row)
            db.flush()
            attempt_event(db, row, EventType.MESSAGE_ATTEMPTED, now)
            attempt_event(db, row, EventType.MESSAGE_SENT, now, "profile viewed")
        return LinkedInResult(row)
    if action == "connect":
        return _invite(
            db, lead, account, client, profile, rendered_note or None, key, now, common, final=True
        )
    if profile.is_connected:
        return _message(db, lead, account, client, profile, text, key, now, common)
    # Not connected yet: a connection request first, then the message once accepted.
    prefix = f"{key}:invite"
    invites = list(
        db.scalars(
            select(OutreachMessageDB)
            .where(OutreachMessageDB.idempotency_key.like(f"{prefix}%"))
            .order_by(OutreachMessageDB.id)
        )
    )
    pending = [r for r in invites if r.status in COUNTED]
    if invites and (pending or profile.pending_invitation):
        # The wait is counted from the first request of this step, whatever became of it.
        first = invites[0]
        if first.created_at + ACCEPTANCE_TIMEOUT <= now:
            return LinkedInResult(
                _record_failed(
                    db,
                    lead,
                    key=key,
                    error=(
                        "permanent: the connection request of "
                        f"{first.created_at:%Y-%m-%d} was not accepted within "
                        f"{ACCEPTANCE_TIMEOUT.days} days"
                    ),
                    now=now,
                    message_type="linkedin_message",
                    body=text,
                    transport=account.provider,
                    account_id=account.id,
                    **common,
                )
            )
        return LinkedInResult(pending[0] if pending else first, "WAIT", now + ACCEPTANCE_POLL)
    if profile.pending_invitation:
        # Invited outside this step (by hand, or another tool): wait for the answer.
        row = _record_failed(
            db,
            lead,
            key=f"{prefix}:{len(invites)}",
            error="temporary: a connection request is already pending for this profile",
            now=now,
            message_type="linkedin_invite",
            body=None,
            transport=account.provider,
            account_id=account.id,
            **common,
        )
        return LinkedInResult(row, "WAIT", now + ACCEPTANCE_POLL)
    result = _invite(
        db,
        lead,
        account,
        client,
        profile,
        rendered_note or None,
        f"{prefix}:{len(invites)}",
        now,
        common,
        final=False,
    )
    return result


def _pick_account(db: Session, workspace_id: int, now: datetime) -> LinkedInAccountDB | None:
    """An active account, or None when the workspace has none (→ operator tasks).

    Raises RateLimitedError when accounts exist but every one is paused: the step waits
    for a person to look at the account rather than silently turning into tasks.
    """
    rows = list(
        db.scalars(
            select(LinkedInAccountDB)
            .where(LinkedInAccountDB.workspace_id == workspace_id, LinkedInAccountDB.enabled)
            .order_by(LinkedInAccountDB.id)
        )
    )
    if not rows:
        return None
    active = [r for r in rows if r.status == "ACTIVE"]
    if not active:
        reasons = "; ".join(f"{r.name}: {r.status_reason}" for r in rows)
        raise RateLimitedError(
            f"every LinkedIn account is paused ({reasons}); "
            "fix it, then `aicmo linkedin resume NAME`",
            retry_at=now + PAUSED_RETRY,
        )
    if len(active) == 1:
        return active[0]
    used = dict(
        db.execute(
            select(OutreachMessageDB.linkedin_account_id, func.count())
            .where(
                OutreachMessageDB.linkedin_account_id.in_([r.id for r in active]),
                OutreachMessageDB.created_at > now - DAY,
            )
            .group_by(OutreachMessageDB.linkedin_account_id)
        ).all()
    )
    return min(active, key=lambda r: (used.get(r.id, 0), r.id))


def _operator_task(
    db: Session,
    lead: LeadDB,
    text: str,
    note: str | None,
    action: str,
    key: str,
    now: datetime,
    common: dict[str, Any],
) -> OutreachMessageDB:
    db.rollback()
    with unit_of_work(db):
        begin_send_transaction(db)
        # A task is a planned touch: it takes its slot in the channel's windows now.
        check_channel_limits(db, lead.workspace_id, ChannelType.LINKEDIN, now)
        row = _new_attempt(
            lead,
            key=key,
            status=MessageStatus.QUEUED,
            message_type=f"linkedin_{action}",
            body=text,
            now=now,
            transport="operator",
            **common,
        )
        db.add(row)
        db.flush()
        attempt_event(db, row, EventType.MESSAGE_ATTEMPTED, now, "handed to a person")
        who = " ".join(p for p in (lead.first_name, lead.last_name) if p) or f"lead #{lead.id}"
        at = f" ({lead.company})" if lead.company else ""
        verb = {
            "message": "Message",
            "connect": "Connect with",
            "view_profile": "View the profile of",
        }[action]
        instructions = text
        if action == "message":
            instructions = (
                f"{text}\n\n(If you are not connected yet, send a connection request"
                + (f' with this note: "{note}"' if note else "")
                + "; mark the task done once the message is sent.)"
            )
        elif action == "connect":
            instructions = note or ""
        open_task(
            db,
            row,
            kind=action,
            title=f"LinkedIn: {verb} {who}{at}",
            body=instructions,
            url=row.recipient,
            reason=OPERATOR_REASON,
            now=now,
        )
    return row


def _account_caps(
    db: Session, account: LinkedInAccountDB, message_type: str, now: datetime
) -> None:
    """Raise RateLimitedError when the account's own caps are reached (under the lock)."""
    sent = list(
        db.scalars(
            select(OutreachMessageDB.created_at).where(
                OutreachMessageDB.linkedin_account_id == account.id,
                OutreachMessageDB.message_type == message_type,
                OutreachMessageDB.status.in_(COUNTED),
                OutreachMessageDB.created_at > now - WEEK,
            )
        )
    )
    if message_type == "linkedin_invite":
        caps = [(DAY, account.invites_per_day), (WEEK, account.invites_per_week)]
        what = f"{account.invites_per_day}/day, {account.invites_per_week}/week invitations"
    else:
        caps = [(DAY, account.messages_per_day)]
        what = f"{account.messages_per_day}/day messages"
    if any(limit <= 0 for _, limit in caps):
        raise RateLimitedError(
            f"LinkedIn account {account.name}: {what} (a cap is 0)", retry_at=now + DAY
        )
    windows = [Window(length, limit) for length, limit in caps]
    if not fits(sent, windows, now):
        slot = next_send_slot(sent, windows, now)
        raise RateLimitedError(
            f"LinkedIn account {account.name}: {what} reached; next slot {slot:%Y-%m-%d %H:%M} UTC",
            retry_at=slot,
        )


def _sending_row(
    db: Session,
    lead: LeadDB,
    account: LinkedInAccountDB,
    *,
    key: str,
    message_type: str,
    body: str | None,
    now: datetime,
    common: dict[str, Any],
) -> OutreachMessageDB:
    """Commit the SENDING attempt under the channel lock, after every cap is checked."""
    db.rollback()
    with unit_of_work(db):
        begin_send_transaction(db)
        check_channel_limits(db, lead.workspace_id, ChannelType.LINKEDIN, now)
        _account_caps(db, account, message_type, now)
        row = _new_attempt(
            lead,
            key=key,
            status=MessageStatus.SENDING,
            message_type=message_type,
            body=body,
            now=now,
            transport=account.provider,
            account_id=account.id,
            **common,
        )
        db.add(row)
        db.flush()
        attempt_event(db, row, EventType.MESSAGE_ATTEMPTED, now)
    return row


def _invite(
    db: Session,
    lead: LeadDB,
    account: LinkedInAccountDB,
    client: LinkedInProvider,
    profile: U.LinkedInProfile,
    note: str | None,
    key: str,
    now: datetime,
    common: dict[str, Any],
    *,
    final: bool,
) -> LinkedInResult:
    row = _sending_row(
        db,
        lead,
        account,
        key=key,
        message_type="linkedin_invite",
        body=note,
        now=now,
        common=common,
    )
    try:
        invitation = client.send_invitation(profile.provider_id, note)
    except U.AlreadyInvitedError as err:
        _finish_failed(db, row, f"temporary: {err.message}", now)
        return LinkedInResult(row, "WAIT", now + ACCEPTANCE_POLL)
    except AicmoError as err:
        return _provider_failure(db, lead, account, err, row=row, now=now)
    with unit_of_work(db):
        row.status = MessageStatus.SENT.value
        row.sent_at = row.updated_at = now
        row.provider_message_id = f"invitation {invitation}"[:500]
        row.details = {"provider_id": profile.provider_id, "invitation_id": invitation}
        attempt_event(db, row, EventType.CONNECTION_REQUESTED, now)
        attempt_event(db, row, EventType.MESSAGE_SENT, now, "connection request sent")
        _mark_contacted(db, row)
    if final:
        return LinkedInResult(row)
    return LinkedInResult(row, "WAIT", now + ACCEPTANCE_POLL)


def _message(
    db: Session,
    lead: LeadDB,
    account: LinkedInAccountDB,
    client: LinkedInProvider,
    profile: U.LinkedInProfile,
    text: str,
    key: str,
    now: datetime,
    common: dict[str, Any],
) -> LinkedInResult:
    row = _sending_row(
        db,
        lead,
        account,
        key=key,
        message_type="linkedin_message",
        body=text,
        now=now,
        common=common,
    )
    try:
        sent = client.start_chat(profile.provider_id, text)
    except AicmoError as err:
        return _provider_failure(db, lead, account, err, row=row, now=now)
    with unit_of_work(db):
        row.status = MessageStatus.SENT.value
        row.sent_at = row.updated_at = now
        row.provider_message_id = sent.message_id[:500] if sent.message_id else None
        row.details = {
            "provider_id": profile.provider_id,
            "chat_id": sent.chat_id,
            "message_id": sent.message_id,
        }
        accepted = db.scalar(
            select(OutreachMessageDB.id).where(
                OutreachMessageDB.idempotency_key.like(f"{key}:invite%"),
                OutreachMessageDB.status == MessageStatus.SENT.value,
            )
        )
        if accepted is not None:
            attempt_event(db, row, EventType.CONNECTION_ACCEPTED, now)
        attempt_event(db, row, EventType.MESSAGE_SENT, now, "LinkedIn message sent")
        _mark_contacted(db, row)
    return LinkedInResult(row)


def _mark_contacted(db: Session, row: OutreachMessageDB) -> None:
    lead = db.get(LeadDB, row.lead_id) if row.lead_id else None
    if lead is not None and lead.stage == LeadStage.NEW.value:
        lead.stage = LeadStage.CONTACTED.value


def _finish_failed(db: Session, row: OutreachMessageDB, error: str, now: datetime) -> None:
    with unit_of_work(db):
        row.status = MessageStatus.FAILED.value
        row.error = error[:2000]
        row.updated_at = now
        attempt_event(db, row, EventType.MESSAGE_FAILED, now, error[:500])


def _provider_failure(
    db: Session,
    lead: LeadDB,
    account: LinkedInAccountDB,
    err: AicmoError,
    *,
    now: datetime,
    row: OutreachMessageDB | None = None,
    key: str | None = None,
    message_type: str = "linkedin_message",
    **common: Any,
) -> LinkedInResult:
    """Map a provider error to the attempt's outcome (and the account's state)."""
    if isinstance(err, U.AccountRestrictedError | U.ProviderAuthError):
        _pause(db, account, f"{type(err).__name__}: {err.message}", now)
        if row is not None:
            _finish_failed(db, row, f"temporary: account paused: {err.message}", now)
        raise RateLimitedError(
            f"LinkedIn account {account.name} paused: {err.message}", retry_at=now + PAUSED_RETRY
        ) from err
    if isinstance(err, U.InvitationLimitError | U.ProviderRateLimitedError):
        if row is not None:
            _finish_failed(db, row, f"temporary: {err.message}", now)
        retry_at = getattr(err, "retry_at", None) or now + DAY
        raise RateLimitedError(err.message, retry_at=retry_at) from err
    if isinstance(err, OutcomeUnknownError):
        assert row is not None  # only calls that send can leave the outcome unknown
        with unit_of_work(db):
            row.status = MessageStatus.UNKNOWN.value
            row.error = f"outcome unknown: {err.message}"[:2000]
            row.updated_at = now
            attempt_event(db, row, EventType.MESSAGE_OUTCOME_UNKNOWN, now, err.message[:500])
        return LinkedInResult(row)
    if isinstance(err, PermanentChannelError):
        error = f"permanent: {err.message}"
    elif isinstance(err, TransientChannelError | ConfigurationError):
        error = f"temporary: {err.message}"
    else:
        error = f"permanent: {err.message}"
    if row is not None:
        _finish_failed(db, row, error, now)
        return LinkedInResult(row)
    assert key is not None
    failed = _record_failed(
        db,
        lead,
        key=key,
        error=error,
        now=now,
        message_type=message_type,
        body=None,
        transport=account.provider,
        account_id=account.id,
        **common,
    )
    return LinkedInResult(failed)


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
                _pause(db, account, f"{type(err).__name__}: {err.message}", now)
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
        seen = db.scalar(
            select(InboundMessageDB.id).where(
                InboundMessageDB.workspace_id == account.workspace_id,
                InboundMessageDB.message_key == key,
            )
        )
        if seen is not None:
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
        db.add(
            InboundMessageDB(
                workspace_id=account.workspace_id,
                message_key=key,
                kind="REPLY" if lead is not None else "UNMATCHED",
                received_at=msg.sent_at,
                lead_id=lead.id if lead is not None else None,
                attempt_id=attempt.id if attempt is not None else None,
                text=msg.text[:20_000] if msg.text else None,
            )
        )
        if lead is None:
            return False
        if attempt is not None:
            attempt.status = MessageStatus.REPLIED.value
            attempt.replied_at = msg.sent_at
        if lead.stage in (LeadStage.NEW.value, LeadStage.CONTACTED.value):
            old, lead.stage = lead.stage, LeadStage.ENGAGED.value
            repo.add_event(
                db,
                account.workspace_id,
                OutreachEvent(
                    type=EventType.LEAD_STAGE_CHANGED,
                    occurred_at=now,
                    detail={"from": old, "to": lead.stage, "why": "replied on LinkedIn"},
                ),
                lead_id=lead.id,
            )
        repo.add_event(
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
            lead_id=lead.id,
            campaign_id=attempt.campaign_id if attempt is not None else None,
            message_id=attempt.id if attempt is not None else None,
        )
        regrade_if_lead(db, lead, EventType.REPLY_RECEIVED, now)
    return True
