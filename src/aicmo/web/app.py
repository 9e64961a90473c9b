"""FastAPI app: thin routes over the service layer.

REST API: ``/api/v1/…`` (``aicmo.web.api``), with an API key.

Webhooks: ``POST /webhooks/sendgrid`` (SendGrid Event Webhook, ECDSA-signed; enabled by
AICMO_SENDGRID_WEBHOOK_PUBLIC_KEY) and ``POST /webhooks/ses`` (Amazon SES through SNS,
RSA-signed; enabled by AICMO_SES_TOPIC_ARNS). A bad signature gets 403, a malformed body
400; retried deliveries change nothing.

Unsubscribe: ``POST /u/{token}`` is the RFC 8058 one-click endpoint (mail providers post
``List-Unsubscribe=One-Click``) and the target of the button on the page; ``GET /u/{token}``
shows that page. A GET alone never unsubscribes: corporate link scanners open every
link in a message, and would otherwise unsubscribe people who never asked.

Request bodies are capped per route (:data:`BODY_LIMITS`, by
:class:`~aicmo.web.body_limit.BodyLimitMiddleware`): 413 past the cap, read no further.
What can be checked without the body (the unsubscribe token, SendGrid's signature headers
and their freshness, the SNS topic header) is checked before the body is read.
"""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator, Callable
from functools import lru_cache
from html import escape
from typing import Any

import httpx
from fastapi import Depends, FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import HTMLResponse, JSONResponse
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from aicmo.bootstrap import engine_for, ensure_ready
from aicmo.cam.inbound.webhooks import (
    WebhookSignatureError,
    parse_sendgrid,
    parse_ses_sns,
    sendgrid_signature_headers,
)
from aicmo.config import Settings, get_settings
from aicmo.db.connect import session_factory
from aicmo.errors import AicmoError, ValidationError
from aicmo.operator_services.inbound.processing import process_webhook_events
from aicmo.operator_services.inbound.unsubscribe import (
    describe_token,
    token_address,
    unsubscribe_by_token,
)
from aicmo.operator_services.ops.health import health
from aicmo.operator_services.uow import utcnow
from aicmo.web import api, pages
from aicmo.web.api.leads import MAX_IMPORT_BYTES
from aicmo.web.body_limit import BodyLimitMiddleware
from aicmo.web.concurrency import ConcurrencyLimit, narrow_lane, pool_capacity
from aicmo.web.headers import SecurityHeaders
from aicmo.web.loop_reads import LoopReader

#: The most bytes a request body may have, by path prefix (docs/hardening.md has the
#: sources). Unsubscribe: a one-click POST is ``List-Unsubscribe=One-Click`` (26 bytes),
#: the page's button posts nothing. SendGrid posts a batch once it reaches 768 KB, so a
#: batch is a little over that: 2 MiB leaves room for the event that crosses the line and
#: large custom arguments. SNS: an HTTP(S) subscription carries a message of at most
#: 256 KiB, escaped inside a JSON envelope (quotes and backslashes double): 1 MiB.
BODY_LIMITS: dict[str, int] = {
    "/u/": 4 * 1024,
    "/webhooks/sendgrid": 2 * 1024 * 1024,
    "/webhooks/ses": 1024 * 1024,
    # The API's JSON bodies: a campaign with 50 steps of long templates is under 1 MiB.
    "/api/": 1024 * 1024,
    # A CSV upload streams to a temporary file, never into memory.
    "/api/v1/leads/import": MAX_IMPORT_BYTES,
    # The dashboard's forms: the import page uploads a CSV like the API; the campaign
    # builder posts templates (as the API's JSON); a reply or a note is a letter at most.
    "/import": MAX_IMPORT_BYTES,
    "/campaigns": 1024 * 1024,
    "/inbox": 256 * 1024,
    "/leads": 256 * 1024,
    "/settings": 256 * 1024,
    "/tasks": 64 * 1024,
    "/login": 16 * 1024,
    "/logout": 16 * 1024,
}
#: Every other path (/healthz and the rest take no body).
DEFAULT_BODY_LIMIT = 4 * 1024
#: The header SNS names the topic in, checked before the body is read.
SNS_TOPIC_HEADER = "x-amz-sns-topic-arn"


def _body_doc(media_type: str, schema: dict[str, Any], limit: int) -> dict[str, Any]:
    """The OpenAPI request body of a route that reads its raw bytes itself (its signature
    covers them), so that the schema says what it takes, and how much."""
    return {
        "requestBody": {
            "required": False,
            "description": f"At most {limit} bytes (413 past that).",
            "content": {media_type: {"schema": schema}},
        }
    }


_ONE_CLICK_BODY = _body_doc(
    "application/x-www-form-urlencoded",
    {"type": "object", "properties": {"List-Unsubscribe": {"type": "string"}}},
    BODY_LIMITS["/u/"],
)
_SENDGRID_BODY = _body_doc(
    "application/json",
    {"type": "array", "items": {"type": "object"}},
    BODY_LIMITS["/webhooks/sendgrid"],
)
_SNS_BODY = _body_doc("application/json", {"type": "object"}, BODY_LIMITS["/webhooks/ses"])

_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>{title}</title>
<style>body{{font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;
padding:0 1rem;color:#222}} button{{font-size:1rem;padding:.6rem 1.2rem;
border-radius:.4rem;border:1px solid #888;background:#f4f4f4}}</style>
</head><body><h1>{title}</h1>{body}</body></html>"""


def _page(title: str, body: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(_PAGE.format(title=escape(title), body=body), status_code=status)


def _mask(email_key: str) -> str:
    local, _, domain = email_key.partition("@")
    return f"{local[:1]}{'*' * max(1, len(local) - 1)}@{domain}"


def serving_app() -> FastAPI:
    """The app as a serving process runs it (``aicmo serve``): :func:`create_app`, then
    every object alive at that moment put out of the cyclic garbage collector's reach.

    Why: a full collection walks every tracked object, the app's own among them (FastAPI,
    the schemas, SQLAlchemy's mappers: about 200,000), and no request moves while it
    does. Under load that was 150 - 210 ms every few seconds on PostgreSQL, whose threads
    keep more objects alive from one collection to the next, and it made the API's p99
    (docs/performance.md). Frozen, they are not walked again; what requests make is
    still collected. Not in :func:`create_app`: a test process builds hundreds of apps,
    and what a freeze holds is never freed.
    """
    app = create_app()
    gc.collect()
    gc.freeze()
    return app


def create_app(
    settings: Settings | None = None, *, fetch_cert: Callable[[str], bytes] | None = None
) -> FastAPI:
    """The app; ``fetch_cert`` is injectable so tests never reach the internet."""
    settings = settings or get_settings()
    cert_fetcher = fetch_cert or fetch_sns_cert
    app = FastAPI(title="aicmo", version="0.1.0")
    app.add_middleware(BodyLimitMiddleware, limits=BODY_LIMITS, default=DEFAULT_BODY_LIMIT)
    engine = engine_for(settings)
    ensure_ready(engine, settings)
    factory = session_factory(engine)
    app.state.session_factory = factory
    app.state.loop_reader = LoopReader.for_engine(engine, factory)
    api.install(app)
    pages.install(app)
    app.add_middleware(SecurityHeaders)
    # Outermost: a request waits here before it can hold a thread or a connection.
    app.add_middleware(
        ConcurrencyLimit,
        limit=pool_capacity(engine.pool),
        narrow=narrow_lane(engine.dialect.name),
    )

    async def get_db() -> AsyncIterator[Session]:
        # Closed on the event loop, never waiting for a worker thread (see api.deps).
        db = factory()
        try:
            yield db
        finally:
            db.close()

    @app.get("/healthz")
    def healthz(require_worker: bool = False, db: Session = Depends(get_db)) -> JSONResponse:
        """Liveness figures; 503 when the database does not answer, or with
        ``?require_worker=true`` when no worker has ticked recently."""
        try:
            figures = health(db)
        except SQLAlchemyError:
            return JSONResponse({"status": "database unavailable"}, status_code=503)
        down = require_worker and figures["workers_alive"] == 0
        # The endpoint is public (it sits beside the unsubscribe pages): counts only, no
        # worker host names or error texts (`aicmo status` shows those).
        public = {k: v for k, v in figures.items() if k != "workers"}
        return JSONResponse(jsonable_encoder(public), status_code=503 if down else 200)

    @app.get("/u/{token}", response_class=HTMLResponse)
    def unsubscribe_page(token: str, db: Session = Depends(get_db)) -> HTMLResponse:
        try:
            _, email_key = token_address(db, token)
        except ValidationError:
            return _page("Link not valid", "<p>This unsubscribe link is not valid.</p>", 400)
        if email_key is None:
            return _page(
                "Unsubscribed", "<p>You are unsubscribed. You will not hear from us again.</p>"
            )
        body = (
            f"<p>Stop all messages to <strong>{escape(_mask(email_key))}</strong>?</p>"
            f'<form method="post" action="/u/{escape(token)}">'
            '<button type="submit">Unsubscribe</button></form>'
        )
        return _page("Unsubscribe", body)

    @app.post("/u/{token}", response_class=HTMLResponse, openapi_extra=_ONE_CLICK_BODY)
    async def unsubscribe(
        token: str, request: Request, db: Session = Depends(get_db)
    ) -> HTMLResponse:
        invalid = _page("Link not valid", "<p>This unsubscribe link is not valid.</p>", 400)
        try:
            describe_token(token)  # a forged link is refused before its body is read
        except ValidationError:
            return invalid
        form = await request.body()
        source = "one-click" if b"List-Unsubscribe=One-Click" in form else "link"
        try:
            result = unsubscribe_by_token(db, token, source=source)
        except ValidationError:
            return invalid
        except AicmoError:
            return _page(
                "Try again", "<p>We could not record this right now; please try again.</p>", 503
            )
        who = escape(_mask(result["email"])) if result["email"] else "This address"
        note = "was already unsubscribed" if result["already"] else "is unsubscribed"
        return _page("Unsubscribed", f"<p>{who} {note}. You will not hear from us again.</p>")

    @app.post("/webhooks/sendgrid", openapi_extra=_SENDGRID_BODY)
    async def sendgrid_webhook(request: Request, db: Session = Depends(get_db)) -> JSONResponse:
        key = settings.sendgrid_webhook_public_key
        if not key:
            return JSONResponse({"error": "SendGrid webhook not configured"}, status_code=404)
        headers = dict(request.headers)
        try:
            sendgrid_signature_headers(headers, now=utcnow())
        except WebhookSignatureError as err:
            return JSONResponse({"error": err.message}, status_code=403)
        body = await request.body()
        try:
            result = parse_sendgrid(body, headers, public_key_b64=key, now=utcnow())
        except WebhookSignatureError as err:
            return JSONResponse({"error": err.message}, status_code=403)
        except ValidationError as err:
            return JSONResponse({"error": err.message}, status_code=400)
        return JSONResponse(process_webhook_events(db, result))

    @app.post("/webhooks/ses", openapi_extra=_SNS_BODY)
    async def ses_webhook(request: Request, db: Session = Depends(get_db)) -> JSONResponse:
        topics = settings.ses_topics
        if topics is None:
            return JSONResponse({"error": "SES webhook not configured"}, status_code=404)
        if request.headers.get(SNS_TOPIC_HEADER, "").strip() not in topics:
            # SNS names the topic in a header too: a post from any other topic (or none)
            # is refused before its body is read. The signed TopicArn is checked again.
            return JSONResponse({"error": "SNS topic is not in the allowed topics"}, 403)
        body = await request.body()
        try:
            result = parse_ses_sns(
                body, fetch_cert=cert_fetcher, now=utcnow(), allowed_topics=topics
            )
        except WebhookSignatureError as err:
            return JSONResponse({"error": err.message}, status_code=403)
        except ValidationError as err:
            return JSONResponse({"error": err.message}, status_code=400)
        except (OSError, httpx.HTTPError):
            return JSONResponse(
                {"error": "could not fetch the signing certificate"}, status_code=503
            )
        return JSONResponse(process_webhook_events(db, result))

    return app


@lru_cache(maxsize=16)
def fetch_sns_cert(url: str) -> bytes:
    """Fetch an SNS signing certificate (the URL's host was checked to be an SNS host).

    TLS verified, no redirects, small size cap; cached, since SNS signs with few certs.
    """
    with httpx.Client(timeout=10.0, follow_redirects=False) as client:
        response = client.get(url)
    response.raise_for_status()
    if len(response.content) > 64 * 1024:
        raise OSError("certificate response too large")
    return response.content
