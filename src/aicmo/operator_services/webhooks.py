"""Webhooks out: register endpoints, deliver the outbox, show and replay deliveries.

An endpoint is an HTTPS URL of one workspace that receives the events it subscribed to
(public names, ``cam.domain.webhooks``). A database trigger writes one delivery row per
(endpoint, event) in the transaction of the event itself, so no event of a subscribed
type is missed and none is lost when a process dies. :func:`deliver_due` (each worker
tick) claims due rows with a lease, posts them signed (Standard Webhooks) through the
SSRF guard with short timeouts and a few at a time, logs every attempt, and retries with
exponential backoff and jitter for about a day. A 2xx recorded ends a delivery for good;
an endpoint that has failed for :data:`~aicmo.cam.domain.webhooks.DISABLE_AFTER` in a row
is disabled, with an event that says so.

Delivery is at least once: a worker killed after the receiver got a request but before the
2xx was recorded sends it again when the lease runs out; the ``webhook-id`` header (the
same on every attempt) is what a receiver dedupes by.
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
import secrets
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

import httpx
from sqlalchemy.orm import Session

from aicmo.cam import repository as repo
from aicmo.cam.db_models import (
    EventDB,
    WebhookAttemptDB,
    WebhookDeliveryDB,
    WebhookEndpointDB,
    WorkspaceDB,
)
from aicmo.cam.domain import webhooks as W
from aicmo.cam.domain.events import EventType, OutreachEvent
from aicmo.cam.repository import webhooks as webhook_repo
from aicmo.config import get_settings
from aicmo.crypto import decrypt_secret, encrypt_secret
from aicmo.errors import AicmoError, ConfigurationError, NotFoundError, ValidationError
from aicmo.operator_services.uow import unit_of_work, utcnow, write_unit
from aicmo.transports.netguard import Resolver
from aicmo.transports.safe_http import FetchError, SafeHttpClient

log = logging.getLogger("aicmo.webhooks")

#: Deliveries one tick claims at most.
BATCH: Final = 50
#: Requests in flight at once, per worker loop.
CONCURRENCY: Final = 4
#: A claim outlives the slowest attempt (connect 5 s + answer 10 s) many times over.
LEASE: Final = timedelta(seconds=60)
#: Per request: connect and read timeouts, and the whole answer.
TIMEOUT: Final = 5.0
DEADLINE: Final = 10.0
#: How long the secret a rotation replaced keeps signing beside the new one.
ROTATION_GRACE: Final = timedelta(hours=24)
#: Endpoints per workspace.
MAX_ENDPOINTS: Final = 50
USER_AGENT: Final = "aicmo-webhooks/1"
INTERRUPTED: Final = "interrupted: the sender stopped before an answer was recorded"

_LOOPBACK_HOSTS: Final = frozenset({"localhost", "127.0.0.1", "::1", "[::1]"})


# --- endpoints -------------------------------------------------------------------------------


def endpoint_to_dict(
    row: WebhookEndpointDB, counts: dict[str, int] | None = None
) -> dict[str, Any]:
    """An endpoint as lists show it: never the secret."""
    out: dict[str, Any] = {
        "id": row.id,
        "url": row.url,
        "description": row.description,
        "events": list(row.events or []),
        "enabled": row.disabled_at is None,
        "created_at": row.created_at,
        "failing_since": row.failing_since,
        "last_success_at": row.last_success_at,
        "disabled_at": row.disabled_at,
        "disabled_reason": row.disabled_reason,
    }
    if counts is not None:
        out["deliveries"] = counts
    return out


def _client(resolver: Resolver | None, transport: httpx.BaseTransport | None) -> SafeHttpClient:
    return SafeHttpClient(
        allow_loopback=get_settings().allow_loopback,
        resolver=resolver,
        transport=transport,
        user_agent=USER_AGENT,
        max_bytes=1_000_000,
        max_redirects=0,
        timeout=TIMEOUT,
        deadline=DEADLINE,
        respect_robots=False,
    )


def check_webhook_url(url: str, *, resolver: Resolver | None = None) -> str:
    """The URL, stripped, if aicmo may post to it: https (http only to loopback while
    loopback is allowed, for tests), and every address its host resolves to public.

    Raises :class:`ValidationError` (field ``url``) saying why not; connects to nothing.
    """
    url = (url or "").strip()
    if not url or len(url) > 2000:
        raise ValidationError(
            "give the endpoint's https URL (at most 2000 characters)", field="url"
        )
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as err:
        raise ValidationError(f"not a valid URL: {err}", field="url") from None
    loopback = parsed.host.lower() in _LOOPBACK_HOSTS or parsed.host.startswith("127.")
    if parsed.scheme != "https" and not (
        parsed.scheme == "http" and loopback and get_settings().allow_loopback
    ):
        raise ValidationError("a webhook URL must use https", field="url")
    with _client(resolver, None) as client:
        try:
            client.check_url(url)
        except FetchError as err:
            raise ValidationError(
                f"the URL's host does not resolve: {err.message}", field="url"
            ) from err
    return url


def _new_secret() -> str:
    return W.format_secret(secrets.token_bytes(W.SECRET_BYTES))


def register_webhook(
    db: Session,
    url: str,
    events: str | Sequence[str],
    *,
    workspace_id: int,
    description: str | None = None,
    resolver: Resolver | None = None,
) -> dict[str, Any]:
    """Register an endpoint for the named events; the result holds its ``secret``, shown
    this once (it is stored encrypted).

    Raises :class:`ValidationError` for a refused URL (SSRF guard: https, public addresses
    only) or an unknown event name.
    """
    names = W.parse_event_names(events)
    url = check_webhook_url(url, resolver=resolver)
    if len(webhook_repo.workspace_endpoints(db, workspace_id)) >= MAX_ENDPOINTS:
        raise ValidationError(
            f"a workspace has at most {MAX_ENDPOINTS} webhook endpoints", field="url"
        )
    secret = _new_secret()
    with unit_of_work(db):
        row = WebhookEndpointDB(
            workspace_id=workspace_id,
            url=url,
            description=(description or "").strip()[:500] or None,
            events=names,
            secret=encrypt_secret(secret),
            created_at=utcnow(),
        )
        db.add(row)
        db.flush()
        webhook_repo.replace_subscriptions(db, row, W.subscriptions(names))
    return {**endpoint_to_dict(row), "secret": secret}


def list_webhooks(db: Session, *, workspace_id: int) -> list[dict[str, Any]]:
    """The workspace's endpoints, with their deliveries counted by status."""
    rows = webhook_repo.workspace_endpoints(db, workspace_id)
    counts = webhook_repo.delivery_counts(db, [r.id for r in rows])
    return [endpoint_to_dict(r, counts.get(r.id, {})) for r in rows]


def _endpoint(db: Session, workspace_id: int, endpoint_id: int) -> WebhookEndpointDB:
    row = webhook_repo.workspace_endpoint(db, workspace_id, endpoint_id)
    if row is None:
        raise NotFoundError(f"no webhook endpoint #{endpoint_id} in this workspace")
    return row


def get_webhook(db: Session, endpoint_id: int, *, workspace_id: int) -> dict[str, Any]:
    return endpoint_to_dict(_endpoint(db, workspace_id, endpoint_id))


def delete_webhook(db: Session, endpoint_id: int, *, workspace_id: int) -> dict[str, Any]:
    """Remove an endpoint with its outbox and log; nothing more is sent to it."""
    with unit_of_work(db):
        row = _endpoint(db, workspace_id, endpoint_id)
        out = endpoint_to_dict(row)
        db.delete(row)
    return out


def rotate_secret(
    db: Session, endpoint_id: int, *, workspace_id: int, now: datetime | None = None
) -> dict[str, Any]:
    """A new signing secret, shown this once. The previous one keeps signing beside it for
    :data:`ROTATION_GRACE` (the header then carries two signatures), so a receiver can
    switch without losing a delivery."""
    now = now or utcnow()
    secret = _new_secret()
    with unit_of_work(db):
        row = _endpoint(db, workspace_id, endpoint_id)
        row.previous_secret = row.secret
        row.previous_secret_until = now + ROTATION_GRACE
        row.secret = encrypt_secret(secret)
    return {**endpoint_to_dict(row), "secret": secret}


def enable_webhook(db: Session, endpoint_id: int, *, workspace_id: int) -> dict[str, Any]:
    """Enable an endpoint again (new events are queued for it from now; skipped deliveries
    can be replayed one by one)."""
    with unit_of_work(db):
        row = _endpoint(db, workspace_id, endpoint_id)
        row.disabled_at = None
        row.disabled_reason = None
        row.failing_since = None
    return endpoint_to_dict(row)


def disable_webhook(
    db: Session,
    endpoint_id: int,
    *,
    workspace_id: int,
    actor: str | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Stop sending to an endpoint, keeping its log (an admin's choice, said so on the
    audit trail); pending deliveries are skipped and can be replayed after it is enabled
    again. Disabling a disabled endpoint changes nothing."""
    now = now or utcnow()
    with unit_of_work(db):
        row = _endpoint(db, workspace_id, endpoint_id)
        if row.disabled_at is None:
            reason = "disabled by an admin; enable it again to receive events"
            _mark_disabled(db, row, reason, now=now, actor=actor)
    return endpoint_to_dict(row)


def _mark_disabled(
    db: Session,
    endpoint: WebhookEndpointDB,
    reason: str,
    *,
    now: datetime,
    actor: str | None = None,
) -> None:
    """Disable an endpoint inside the caller's transaction, by an admin or automatically:
    its pending deliveries are skipped and the WEBHOOK_DISABLED event says why."""
    endpoint.disabled_at = now
    endpoint.disabled_reason = reason
    skipped = webhook_repo.skip_pending_deliveries(db, endpoint.id, reason="endpoint disabled")
    repo.add_event(
        db,
        endpoint.workspace_id,
        OutreachEvent(
            type=EventType.WEBHOOK_DISABLED,
            occurred_at=now,
            source="webhooks",
            reason=reason,
            detail={"endpoint_id": endpoint.id, "url": endpoint.url, "skipped": skipped},
        ),
        actor=actor,
    )


# --- deliveries ------------------------------------------------------------------------------


def _namespace(workspace: WorkspaceDB) -> str:
    return hashlib.sha256(f"webhooks:{workspace.hash_salt}".encode()).hexdigest()[:10]


def _attempt_to_dict(row: WebhookAttemptDB) -> dict[str, Any]:
    return {
        "id": row.id,
        "started_at": row.started_at,
        "finished_at": row.finished_at,
        "status_code": row.status_code,
        "duration_ms": row.duration_ms,
        "error": row.error,
        "response": row.response_excerpt,
    }


def _delivery_to_dict(
    row: WebhookDeliveryDB, event: EventDB, namespace: str, attempts: list[WebhookAttemptDB]
) -> dict[str, Any]:
    return {
        "id": row.id,
        "endpoint_id": row.endpoint_id,
        "event_id": row.event_id,
        "webhook_id": W.message_id(row.event_id, namespace),
        "type": W.public_name(event.type, event.channel),
        "status": row.status,
        "attempts": row.attempts,
        "next_attempt_at": row.next_attempt_at if row.status == W.DeliveryStatus.PENDING else None,
        "last_status_code": row.last_status_code,
        "last_error": row.last_error,
        "delivered_at": row.delivered_at,
        "created_at": row.created_at,
        "log": [_attempt_to_dict(a) for a in attempts],
    }


def list_deliveries(
    db: Session,
    endpoint_id: int,
    *,
    workspace_id: int,
    limit: int = 50,
    before_id: int | None = None,
    status: str | None = None,
) -> list[dict[str, Any]]:
    """An endpoint's deliveries, newest first, each with its attempt log."""
    _endpoint(db, workspace_id, endpoint_id)
    if status is not None:
        status = status.strip().upper()
        if status not in W.DeliveryStatus.__members__:
            raise ValidationError(
                f"status is one of {', '.join(W.DeliveryStatus.__members__)}", field="status"
            )
    rows = webhook_repo.endpoint_deliveries(
        db, workspace_id, endpoint_id, limit=limit, before_id=before_id, status=status
    )
    workspace = repo.get_workspace(db, workspace_id)
    assert workspace is not None
    namespace = _namespace(workspace)
    logs = webhook_repo.delivery_attempts(db, [d.id for d, _ in rows])
    return [_delivery_to_dict(d, e, namespace, logs.get(d.id, [])) for d, e in rows]


def replay_delivery(
    db: Session,
    endpoint_id: int,
    delivery_id: int,
    *,
    workspace_id: int,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Send a delivery again at the next tick, with a fresh retry budget, whatever its
    status (a delivered one too: the operator asked). Same ``webhook-id``: a receiver that
    already has it can tell."""
    now = now or utcnow()
    with unit_of_work(db):
        endpoint = _endpoint(db, workspace_id, endpoint_id)
        if endpoint.disabled_at is not None:
            raise ValidationError(
                "the endpoint is disabled; enable it first (`aicmo webhook enable`)",
                field="endpoint",
            )
        row = webhook_repo.endpoint_delivery(db, workspace_id, endpoint_id, delivery_id)
        if row is None:
            raise NotFoundError(f"no delivery #{delivery_id} for webhook endpoint #{endpoint_id}")
        if row.status == W.DeliveryStatus.PENDING and row.claimed_until and row.claimed_until > now:
            raise ValidationError("the delivery is being attempted right now", field="delivery")
        row.status = W.DeliveryStatus.PENDING.value
        row.attempts = 0
        row.next_attempt_at = now
        row.claimed_by = None
        row.claimed_until = None
    out = list_deliveries(
        db, endpoint_id, workspace_id=workspace_id, before_id=delivery_id + 1, limit=1
    )
    return out[0]


# --- the sender ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Job:
    """What one attempt sends: prepared from the rows, sent without the database."""

    delivery_id: int
    attempt_id: int
    url: str
    msg_id: str
    body: bytes
    secrets: tuple[str, ...]
    #: Why it cannot be sent at all (its secret cannot be decrypted): a failed attempt.
    problem: str | None = None


@dataclass(frozen=True)
class _Result:
    status_code: int | None
    duration_ms: int
    error: str | None
    excerpt: str | None


def _secrets(endpoint: WebhookEndpointDB, now: datetime) -> tuple[str, ...]:
    out = [decrypt_secret(endpoint.secret)]
    if (
        endpoint.previous_secret
        and endpoint.previous_secret_until
        and endpoint.previous_secret_until > now
    ):
        out.append(decrypt_secret(endpoint.previous_secret))
    return tuple(out)


def _event_dict(event: EventDB) -> dict[str, Any]:
    return {
        "type": event.type,
        "channel": event.channel,
        "lead_id": event.lead_id,
        "campaign_id": event.campaign_id,
        "message_id": event.message_id,
        "recipient": event.recipient,
        "reason": event.reason,
        "source": event.source,
        "detail": event.detail,
    }


def _claim(db: Session, *, now: datetime, worker: str, batch: int, lease: timedelta) -> list[_Job]:
    """Claim due deliveries, log their attempts as started, and prepare what to send."""
    due = webhook_repo.any_due_delivery(db, now=now)
    db.commit()  # end the read (as write_unit would): the write lock only when there is work
    if not due:
        return []
    with write_unit(db):
        ids = webhook_repo.claim_due_deliveries(
            db, now=now, worker=worker, batch=batch, lease=lease
        )
        if not ids:
            return []
        webhook_repo.close_interrupted_attempts(db, ids, now=now, error=INTERRUPTED)
        bundles = webhook_repo.claimed_deliveries(db, ids)
        attempts = webhook_repo.start_attempts(db, [b[0] for b in bundles], now=now, worker=worker)
        leads = webhook_repo.lead_summaries(
            db, [e.lead_id for _, _, e, _ in bundles if e.lead_id is not None]
        )
        jobs: list[_Job] = []
        for delivery, endpoint, event, workspace in bundles:
            msg_id = W.message_id(event.id, _namespace(workspace))
            name = W.public_name(event.type, event.channel) or event.type
            lead = None
            if event.lead_id is not None and event.type != EventType.LEAD_ERASED:
                lead = leads.get(event.lead_id)
            body = W.payload(
                msg_id=msg_id,
                name=name,
                occurred_at=event.occurred_at,
                workspace=workspace.slug,
                event=_event_dict(event),
                lead=lead,
            )
            try:
                keys, problem = _secrets(endpoint, now), None
            except ConfigurationError as err:  # this endpoint's only: the others still go
                keys, problem = (), err.message
            jobs.append(
                _Job(
                    delivery_id=delivery.id,
                    attempt_id=attempts[delivery.id],
                    url=endpoint.url,
                    msg_id=msg_id,
                    body=json.dumps(body, default=str, separators=(",", ":")).encode(),
                    secrets=keys,
                    problem=problem,
                )
            )
    return jobs


def _send(
    job: _Job,
    *,
    clock: Callable[[], datetime],
    resolver: Resolver | None,
    transport: httpx.BaseTransport | None,
) -> _Result:
    """One POST through the SSRF guard (resolved and checked now, no redirect followed)."""
    if job.problem is not None:
        return _Result(None, 0, job.problem, None)
    timestamp = int(clock().timestamp())
    headers = {
        "webhook-id": job.msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": W.signature_header(job.secrets, job.msg_id, timestamp, job.body),
    }
    started = time.perf_counter()
    try:
        with _client(resolver, transport) as client:
            response = client.post_bytes(
                job.url, job.body, content_type="application/json", headers=headers
            )
    except AicmoError as err:
        ms = round((time.perf_counter() - started) * 1000)
        return _Result(None, ms, err.message[:1000], None)
    ms = round((time.perf_counter() - started) * 1000)
    error = None
    if not W.is_success(response.status_code):
        error = f"HTTP {response.status_code}"
        if 300 <= response.status_code < 400:
            error += " (redirects are not followed)"
    return _Result(response.status_code, ms, error, response.text[:500] or None)


def _record(
    db: Session,
    job: _Job,
    result: _Result,
    *,
    worker: str,
    now: datetime,
    jitter: Callable[[], float],
    disable_after: timedelta,
) -> str:
    """Write one attempt's outcome; returns ``delivered``, ``retry``, ``failed``, ``lost``
    (the claim had passed to another worker: only the log is written) or ``disabled``."""
    with write_unit(db):
        attempt = webhook_repo.attempt_row(db, job.attempt_id)
        if attempt is not None:
            attempt.finished_at = now
            attempt.status_code = result.status_code
            attempt.duration_ms = result.duration_ms
            attempt.error = result.error
            attempt.response_excerpt = result.excerpt
        delivery = webhook_repo.delivery_for_update(db, job.delivery_id)
        if delivery is None or delivery.claimed_by != worker:
            return "lost"
        endpoint = db.get(WebhookEndpointDB, delivery.endpoint_id)
        assert endpoint is not None
        delivery.claimed_by = None
        delivery.claimed_until = None
        delivery.last_status_code = result.status_code
        delivery.last_error = result.error
        if W.is_success(result.status_code):
            delivery.status = W.DeliveryStatus.SUCCEEDED.value
            delivery.delivered_at = now
            endpoint.failing_since = None
            endpoint.last_success_at = now
            return "delivered"
        endpoint.failing_since = endpoint.failing_since or now
        retry_at = W.next_retry(delivery.attempts, now, jitter())
        if retry_at is None:
            delivery.status = W.DeliveryStatus.FAILED.value
            outcome = "failed"
        else:
            delivery.next_attempt_at = retry_at
            outcome = "retry"
        if endpoint.disabled_at is None and W.should_disable(
            endpoint.failing_since, now, disable_after
        ):
            _disable(db, endpoint, now=now, last_error=result.error)
            outcome = "disabled"
        return outcome


def _disable(
    db: Session, endpoint: WebhookEndpointDB, *, now: datetime, last_error: str | None
) -> None:
    assert endpoint.failing_since is not None
    days = (now - endpoint.failing_since).total_seconds() / 86400
    reason = (
        f"disabled automatically: no successful delivery for {days:.1f} days "
        f"(failing since {endpoint.failing_since:%Y-%m-%d %H:%M} UTC; last error: "
        f"{last_error or 'none'}); enable it again once the receiver works"
    )
    _mark_disabled(db, endpoint, reason, now=now)
    log.warning(
        "webhook endpoint disabled",
        extra={"fields": {"endpoint": endpoint.id, "url": endpoint.url, "reason": reason}},
    )


def deliver_due(
    db: Session,
    *,
    worker: str,
    now: datetime | None = None,
    batch: int = BATCH,
    concurrency: int = CONCURRENCY,
    lease: timedelta = LEASE,
    clock: Callable[[], datetime] = utcnow,
    resolver: Resolver | None = None,
    transport: httpx.BaseTransport | None = None,
    jitter: Callable[[], float] = random.random,
    disable_after: timedelta = W.DISABLE_AFTER,
) -> dict[str, int]:
    """Send up to ``batch`` due deliveries, ``concurrency`` at a time; counts by outcome.

    The claim (with the attempts logged as started) is committed before any request, and
    each outcome is committed as it is known, so a worker that dies leaves at most its
    claimed deliveries to be sent again once the lease runs out (at least once).
    """
    jobs = _claim(db, now=now or clock(), worker=worker, batch=batch, lease=lease)
    counts: dict[str, int] = {}
    if not jobs:
        return counts

    def send(job: _Job) -> _Result:
        return _send(job, clock=clock, resolver=resolver, transport=transport)

    with ThreadPoolExecutor(max_workers=max(1, min(concurrency, len(jobs)))) as pool:
        futures = [(job, pool.submit(send, job)) for job in jobs]
        for job, future in futures:
            try:
                result = future.result()
            except Exception as err:
                result = _Result(None, 0, f"error: {type(err).__name__}: {err}"[:1000], None)
            outcome = _record(
                db,
                job,
                result,
                worker=worker,
                now=clock(),
                jitter=jitter,
                disable_after=disable_after,
            )
            counts[outcome] = counts.get(outcome, 0) + 1
    return counts
