"""FastAPI app: thin routes over the service layer.

Unsubscribe: ``POST /u/{token}`` is the RFC 8058 one-click endpoint (mail providers post
``List-Unsubscribe=One-Click``) and the target of the button on the page; ``GET /u/{token}``
shows that page. A GET alone never unsubscribes: corporate link scanners open every
link in a message, and would otherwise unsubscribe people who never asked.
"""

from __future__ import annotations

from collections.abc import Iterator
from html import escape

from fastapi import Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, PlainTextResponse
from sqlalchemy.orm import Session

from aicmo.app import engine_for, ensure_ready
from aicmo.config import Settings, get_settings
from aicmo.db.engine import session_factory
from aicmo.errors import AicmoError, ValidationError
from aicmo.operator_services.unsubscribe import describe_token, unsubscribe_by_token

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


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    app = FastAPI(title="aicmo", version="0.1.0")
    engine = engine_for(settings)
    ensure_ready(engine, settings)
    factory = session_factory(engine)

    def get_db() -> Iterator[Session]:
        with factory() as db:
            yield db

    @app.get("/healthz", response_class=PlainTextResponse)
    def healthz() -> str:
        return "ok"

    @app.get("/u/{token}", response_class=HTMLResponse)
    def unsubscribe_page(token: str) -> HTMLResponse:
        try:
            claim = describe_token(token)
        except ValidationError:
            return _page("Link not valid", "<p>This unsubscribe link is not valid.</p>", 400)
        body = (
            f"<p>Stop all messages to <strong>{escape(_mask(claim.email_key))}</strong>?</p>"
            f'<form method="post" action="/u/{escape(token)}">'
            '<button type="submit">Unsubscribe</button></form>'
        )
        return _page("Unsubscribe", body)

    @app.post("/u/{token}", response_class=HTMLResponse)
    async def unsubscribe(
        token: str, request: Request, db: Session = Depends(get_db)
    ) -> HTMLResponse:
        form = await request.body()
        source = "one-click" if b"List-Unsubscribe=One-Click" in form else "link"
        try:
            result = unsubscribe_by_token(db, token, source=source)
        except ValidationError:
            return _page("Link not valid", "<p>This unsubscribe link is not valid.</p>", 400)
        except AicmoError:
            return _page(
                "Try again", "<p>We could not record this right now; please try again.</p>", 503
            )
        note = "was already unsubscribed" if result["already"] else "is unsubscribed"
        return _page(
            "Unsubscribed",
            f"<p>{escape(_mask(result['email']))} {note}. You will not hear from us again.</p>",
        )

    return app
