"""The LinkedIn channel: a provider account (Unipile), or a task for a person.

Its own part of the attempt lifecycle (:mod:`.base` runs the rest): the account it sends
from and that account's caps, the profile lookup (which may name the lead under another
identity that is suppressed), and the two-call flow of a message to someone not yet
connected: a connection request first (its own attempt, keyed ``<key>:invite:<n>``), then
WAIT until it is accepted (looked at every :data:`ACCEPTANCE_POLL`, given up after
:data:`ACCEPTANCE_TIMEOUT`), then the message. Provider errors map to outcomes here: a
restricted account or a bad key pauses the account; limits reschedule the step.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

import aicmo.operator_services.channels.linkedin_accounts as accounts
from aicmo.cam.db_models import LeadDB, LinkedInAccountDB, OutreachMessageDB
from aicmo.cam.domain.channels import get_spec
from aicmo.cam.domain.events import EventType
from aicmo.cam.domain.messages import ChannelType, MessageStatus
from aicmo.cam.domain.ratelimit import Window, fits, next_send_slot
from aicmo.config import get_settings
from aicmo.errors import (
    AicmoError,
    ConfigurationError,
    OutcomeUnknownError,
    PermanentChannelError,
    RateLimitedError,
    TransientChannelError,
    ValidationError,
)
from aicmo.operator_services.channels.base import (
    AttemptRequest,
    AttemptResult,
    Channel,
    Receipt,
)
from aicmo.operator_services.channels.limits import COUNTED, DAY
from aicmo.operator_services.crm.suppression import blocking_suppression
from aicmo.operator_services.uow import unit_of_work
from aicmo.transports import unipile as U

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
_VERBS = {"message": "Message", "connect": "Connect with", "view_profile": "View the profile of"}


class LinkedInChannel(Channel):
    """LinkedIn: provider calls through the least-used active account, or operator tasks
    when the workspace has no account."""

    spec = get_spec(ChannelType.LINKEDIN)
    transport = "operator"

    def recipient(self, lead: LeadDB) -> str | None:
        """The profile URL (a bare provider id becomes one)."""
        if lead.linkedin_url:
            return lead.linkedin_url
        if lead.linkedin_id:
            return f"https://www.linkedin.com/in/{lead.linkedin_id}"
        return None

    def send(self, db: Session, req: AttemptRequest) -> AttemptResult:
        """One LinkedIn step for one lead: a task for a person, or the provider's calls.

        Raises RateLimitedError when a cap is reached (the step is rescheduled).
        """
        lead, now = req.lead, req.now
        action = req.action or "message"
        text = self.render(req.body, req, "body") or ""
        note = self.render(req.note, req, "note")
        if note is not None and len(note) > U.INVITATION_NOTE_MAX_CHARS:
            raise ValidationError(
                f"the connection note is {len(note)} characters once rendered; "
                f"LinkedIn allows {U.INVITATION_NOTE_MAX_CHARS}",
                field="note",
            )
        account = _conversation_account(db, req) or _pick_account(db, lead.workspace_id, now)
        if account is None:
            return self._operator_task(db, req, text, note, action)
        client = accounts.provider_factory(account, get_settings())
        on_account: dict[str, Any] = {
            "transport": account.provider,
            "linkedin_account_id": account.id,
        }
        try:
            profile = client.get_profile(
                U.linkedin_identifier(lead.linkedin_id or lead.linkedin_url or "")
            )
        except AicmoError as err:
            transient = isinstance(err, TransientChannelError) and not isinstance(
                err, U.AccountRestrictedError | U.ProviderAuthError | U.InvitationLimitError
            )
            if transient and not isinstance(err, U.ProviderRateLimitedError):
                # Only a lookup failed: nothing was sent, the step's key stays unused.
                raise RateLimitedError(
                    f"LinkedIn provider unavailable: {err.message}",
                    retry_at=now + timedelta(hours=1),
                ) from err
            error, wait = self._provider_error(db, account, err, now)
            if wait is not None:
                raise wait from err
            return self.refuse(
                db, req, error, message_type="linkedin_view", body=None, **on_account
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
                return self.refuse(
                    db,
                    req,
                    f"linkedin {hit['value']} is suppressed ({hit['reason']})",
                    status=MessageStatus.SUPPRESSED,
                    message_type="linkedin_message",
                    body=text,
                    **on_account,
                )
        if lead.linkedin_id != profile.provider_id:
            with unit_of_work(db):
                fresh = db.get(LeadDB, lead.id)
                assert fresh is not None
                fresh.linkedin_id = profile.provider_id
        if action == "view_profile":
            with unit_of_work(db):
                row = self.new_row(
                    req,
                    MessageStatus.SENT,
                    message_type="linkedin_view",
                    body=None,
                    sent_at=now,
                    details={"provider_id": profile.provider_id},
                    provider_message_id=f"profile viewed: {profile.provider_id}",
                    **on_account,
                )
                db.add(row)
                db.flush()
                self.event(db, row, EventType.MESSAGE_ATTEMPTED, now)
                self.event(db, row, EventType.MESSAGE_SENT, now, "profile viewed")
            return AttemptResult(row)
        if action == "connect":
            return self._invite(db, req, _On(account, client, profile), note, req.key, final=True)
        if profile.is_connected:
            return self._message(db, req, _On(account, client, profile), text)
        # Not connected yet: a connection request first, then the message once accepted.
        prefix = f"{req.key}:invite"
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
                return self.refuse(
                    db,
                    req,
                    "permanent: the connection request of "
                    f"{first.created_at:%Y-%m-%d} was not accepted within "
                    f"{ACCEPTANCE_TIMEOUT.days} days",
                    message_type="linkedin_message",
                    body=text,
                    **on_account,
                )
            return AttemptResult(pending[0] if pending else first, "WAIT", now + ACCEPTANCE_POLL)
        invite_key = f"{prefix}:{len(invites)}"
        if profile.pending_invitation:
            # Invited outside this step (by hand, or another tool): wait for the answer.
            refused = self.refuse(
                db,
                _rekeyed(req, invite_key),
                "temporary: a connection request is already pending for this profile",
                message_type="linkedin_invite",
                body=None,
                **on_account,
            )
            return AttemptResult(refused.row, "WAIT", now + ACCEPTANCE_POLL)
        return self._invite(db, req, _On(account, client, profile), note, invite_key, final=False)

    def _operator_task(
        self, db: Session, req: AttemptRequest, text: str, note: str | None, action: str
    ) -> AttemptResult:
        lead = req.lead
        who = " ".join(p for p in (lead.first_name, lead.last_name) if p) or f"lead #{lead.id}"
        at = f" ({lead.company})" if lead.company else ""
        instructions = text
        if action == "message":
            instructions = (
                f"{text}\n\n(If you are not connected yet, send a connection request"
                + (f' with this note: "{note}"' if note else "")
                + "; mark the task done once the message is sent.)"
            )
        elif action == "connect":
            instructions = note or ""
        return self.hand_to_person(
            db,
            req,
            kind=action,
            title=f"LinkedIn: {_VERBS[action]} {who}{at}",
            instructions=instructions,
            url=None,
            reason=OPERATOR_REASON,
            message_type=f"linkedin_{action}",
            body=text,
        )

    def _begin_on(
        self,
        db: Session,
        req: AttemptRequest,
        account: LinkedInAccountDB,
        *,
        message_type: str,
        body: str | None,
    ) -> OutreachMessageDB:
        """SENDING under the channel lock, after the account's own caps are checked."""

        def caps() -> dict[str, Any]:
            _account_caps(db, account, message_type, req.now)
            return {}

        return self.begin(
            db,
            req,
            reserve=caps,
            message_type=message_type,
            body=body,
            transport=account.provider,
            linkedin_account_id=account.id,
        )

    def _invite(
        self,
        db: Session,
        req: AttemptRequest,
        on: _On,
        note: str | None,
        key: str,
        *,
        final: bool,
    ) -> AttemptResult:
        account, client, profile = on.account, on.client, on.profile
        note = note or None
        now = req.now
        row = self._begin_on(
            db, _rekeyed(req, key), account, message_type="linkedin_invite", body=note
        )
        try:
            invitation = client.send_invitation(profile.provider_id, note)
        except U.AlreadyInvitedError as err:
            self.finish_failed(db, row, f"temporary: {err.message}", now)
            return AttemptResult(row, "WAIT", now + ACCEPTANCE_POLL)
        except AicmoError as err:
            return self._failed_call(db, row, account, err, now)
        receipt = Receipt(
            f"invitation {invitation}",
            details={"provider_id": profile.provider_id, "invitation_id": invitation},
        )
        events = (
            (EventType.CONNECTION_REQUESTED, None),
            (EventType.MESSAGE_SENT, "connection request sent"),
        )
        done = self.settle_sent(db, row, receipt, now, events=events)
        return done if final else AttemptResult(done.row, "WAIT", now + ACCEPTANCE_POLL)

    def _message(self, db: Session, req: AttemptRequest, on: _On, text: str) -> AttemptResult:
        account, client, profile = on.account, on.client, on.profile
        now = req.now
        row = self._begin_on(db, req, account, message_type="linkedin_message", body=text)
        try:
            sent = client.start_chat(profile.provider_id, text)
        except AicmoError as err:
            return self._failed_call(db, row, account, err, now)
        accepted = db.scalar(
            select(OutreachMessageDB.id).where(
                OutreachMessageDB.idempotency_key.like(f"{req.key}:invite%"),
                OutreachMessageDB.status == MessageStatus.SENT.value,
            )
        )
        events: tuple[tuple[EventType, str | None], ...] = (
            (EventType.MESSAGE_SENT, "LinkedIn message sent"),
        )
        if accepted is not None:
            events = ((EventType.CONNECTION_ACCEPTED, None), *events)
        receipt = Receipt(
            sent.message_id[:500] if sent.message_id else None,
            details={
                "provider_id": profile.provider_id,
                "chat_id": sent.chat_id,
                "message_id": sent.message_id,
            },
        )
        return self.settle_sent(db, row, receipt, now, events=events)

    def _failed_call(
        self,
        db: Session,
        row: OutreachMessageDB,
        account: LinkedInAccountDB,
        err: AicmoError,
        now: datetime,
    ) -> AttemptResult:
        """A provider call that raised: UNKNOWN when it may have gone, else the mapped
        failure; a paused account or a limit also reschedules the step (raised)."""
        if isinstance(err, OutcomeUnknownError):
            return self.settle_failure(db, row, err, now)
        error, wait = self._provider_error(db, account, err, now)
        self.finish_failed(db, row, error, now)
        if wait is not None:
            raise wait from err
        return AttemptResult(row)

    def _provider_error(
        self, db: Session, account: LinkedInAccountDB, err: AicmoError, now: datetime
    ) -> tuple[str, RateLimitedError | None]:
        """The attempt's error for a provider error, and the wait to raise when the step
        must be rescheduled rather than fail (a restricted account or a refused key also
        pauses the account)."""
        if isinstance(err, U.AccountRestrictedError | U.ProviderAuthError):
            accounts.pause_account(db, account, f"{type(err).__name__}: {err.message}", now)
            return f"temporary: account paused: {err.message}", RateLimitedError(
                f"LinkedIn account {account.name} paused: {err.message}",
                retry_at=now + PAUSED_RETRY,
            )
        if isinstance(err, U.InvitationLimitError | U.ProviderRateLimitedError):
            retry_at = getattr(err, "retry_at", None) or now + DAY
            return f"temporary: {err.message}", RateLimitedError(err.message, retry_at=retry_at)
        if isinstance(err, PermanentChannelError):
            return f"permanent: {err.message}", None
        if isinstance(err, TransientChannelError | ConfigurationError):
            return f"temporary: {err.message}", None
        return f"permanent: {err.message}", None


@dataclass(frozen=True, slots=True)
class _On:
    """The account a call goes out on, its provider client, and the profile it targets."""

    account: LinkedInAccountDB
    client: accounts.LinkedInProvider
    profile: U.LinkedInProfile


def _rekeyed(req: AttemptRequest, key: str) -> AttemptRequest:
    """The same request under another idempotency key (a step's connection request)."""
    return replace(req, key=key)


def _conversation_account(db: Session, req: AttemptRequest) -> LinkedInAccountDB | None:
    """The account an answer goes out on: the one the conversation is on, while it is
    enabled and active (else any account, as for a first message)."""
    if req.linkedin_account_id is None:
        return None
    account = db.get(LinkedInAccountDB, req.linkedin_account_id)
    if (
        account is None
        or account.workspace_id != req.lead.workspace_id
        or not account.enabled
        or account.status != "ACTIVE"
    ):
        return None
    return account


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
