"""A loopback web server that plays the websites of the form fixtures.

Each fixture page is served at ``/<name>/`` with its ``*.example`` links pointing back
here. Submissions are answered the way the real builders answer them: Contact Form 7's
REST feedback JSON, WPForms' and Elementor's admin-ajax JSON, Gravity Forms' confirmation
page, Django's CSRF check (cookie and field) and redirect, a honeypot check that treats a
filled trap as spam, a page that echoes validation errors. Pages behind a CAPTCHA or a
JavaScript embed must never be posted to; every POST is recorded so tests can check.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, RedirectResponse
from starlette.responses import Response

FIXTURES = Path(__file__).parent / "fixtures" / "forms"
_HOST = re.compile(r"https?:(?://|\\/\\/)[a-z0-9.-]+\.example", re.IGNORECASE)
#: Third-party form services the fixtures post to, played by this server too.
SERVICES = ("https://formsubmit.co", "https://forms.zohopublic.com")
#: Pages other pages link to: the home page's "Contact us" is the Gravity Forms page.
ALIASES = {"contact-us": "gravity"}
#: Every honeypot of the fixtures: a submission with any of them filled is spam.
HONEYPOTS = {
    "fax", "url", "nickname", "bot-field", "_wpcf7_ak_hp_textarea", "wpforms[hp]", "input_4",
    "frm_verify", "_honey", "form_fields[field_5d6e7f8]", "form_fields[field_9f8e7d6]",
}  # fmt: skip
#: Contact Form 7's only REST submission route (anything else is WordPress's 404).
_CF7_ROUTE = re.compile(r"wp-json/contact-form-7/v1/contact-forms/\d+/feedback")
#: CF7 quizzes of the fixtures: name -> the answer the site expects.
QUIZZES = {"quiz-math": "10"}


@dataclass
class Posted:
    path: str
    fields: list[tuple[str, str]]
    cookies: dict[str, str]

    def get(self, name: str) -> str | None:
        return next((v for k, v in self.fields if k == name), None)


@dataclass
class FormSites:
    """What was posted where; a Django CSRF secret per run."""

    posts: list[Posted] = field(default_factory=list)
    requests: int = 0
    csrf: str = field(default_factory=lambda: secrets.token_hex(16))

    def posts_to(self, path: str) -> list[Posted]:
        return [p for p in self.posts if p.path == path]


def _page(name: str, base: str) -> str:
    raw = (FIXTURES / name).read_text(encoding="utf-8")

    def swap(match: re.Match[str]) -> str:
        return base.replace("/", "\\/") if "\\/" in match.group(0) else base

    for service in SERVICES:
        raw = raw.replace(service, base)
    return _HOST.sub(swap, raw)


def _fixture(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8")


def create_form_sites(sites: FormSites) -> FastAPI:
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)

    @app.middleware("http")
    async def count(request: Request, call_next: Any) -> Any:
        sites.requests += 1
        return await call_next(request)

    def base_of(request: Request) -> str:
        return str(request.base_url).rstrip("/")

    @app.get("/robots.txt", response_class=PlainTextResponse)
    def robots() -> str:
        return "User-agent: *\nDisallow: /private/\n"

    @app.get("/private/contact/")
    def private() -> HTMLResponse:
        return HTMLResponse(_fixture("honeypot.html"))

    @app.get("/thanks/")
    def thanks() -> HTMLResponse:
        return HTMLResponse(_fixture("thank_you.html"))

    @app.get("/django/")
    def django_page(request: Request) -> Response:
        html = _page("django.html", base_of(request))
        html = re.sub(
            r'name="csrfmiddlewaretoken" value="[^"]*"',
            f'name="csrfmiddlewaretoken" value="{sites.csrf}"',
            html,
        )
        response = HTMLResponse(html)
        response.set_cookie("csrftoken", sites.csrf, samesite="lax", path="/")
        return response

    @app.get("/errors/")
    def errors_page(request: Request) -> HTMLResponse:
        html = _page("django.html", base_of(request)).replace(
            'action="/contact/"', 'action="/errors"'
        )
        return HTMLResponse(html)

    @app.get("/challenge/")
    def challenge() -> HTMLResponse:
        return HTMLResponse(_fixture("cloudflare_challenge.html"), status_code=403)

    @app.get("/broken-answer/")
    def broken(request: Request) -> HTMLResponse:
        html = _page("honeypot.html", base_of(request)).replace("/send.php", "/boom")
        return HTMLResponse(html)

    @app.get("/{name}/")
    def page(name: str, request: Request) -> Response:
        name = ALIASES.get(name, name)
        path = FIXTURES / f"{name}.html"
        if not path.is_file():
            return HTMLResponse("<h1>Not found</h1>", status_code=404)
        return HTMLResponse(_page(f"{name}.html", base_of(request)))

    @app.post("/{path:path}")
    async def submit(path: str, request: Request) -> Response:
        form = await request.form()
        fields = [(k, v if isinstance(v, str) else "") for k, v in form.multi_items()]
        posted = Posted("/" + path, fields, dict(request.cookies))
        sites.posts.append(posted)
        values = dict(fields)
        spam = any(values.get(h) for h in HONEYPOTS)
        if path.startswith("wp-json/"):
            if not _CF7_ROUTE.fullmatch(path):
                body = (
                    '{"code":"rest_no_route","message":"No route was found","data":{"status":404}}'
                )
                return Response(body, status_code=404, media_type="application/json")
            needed = ("your-name", "your-email", "your-message", "acceptance-privacy")
            quiz_ok = all(
                values.get(name) == answer
                for name, answer in QUIZZES.items()
                if f"_wpcf7_quiz_answer_{name}" in values
            )
            ok = all(values.get(n) for n in needed) and not spam and quiz_ok
            answer = "cf7_response_ok.json" if ok else "cf7_response_invalid.json"
            return Response(_fixture(answer), media_type="application/json")
        if path == "wp-admin/admin-ajax.php":
            action = values.get("action", "")
            if action == "elementor_pro_forms_send_form":
                answer = "elementor_response_invalid.json" if spam else "elementor_response_ok.json"
            else:
                answer = "wpforms_response_invalid.json" if spam else "wpforms_response_ok.json"
            return Response(_fixture(answer), media_type="application/json")
        if path.startswith("contact-us"):  # Gravity Forms posts back to its page
            answer = "gravity_response_invalid.html" if spam else "gravity_response_ok.html"
            return HTMLResponse(_fixture(answer))
        if path == "contact/" and "csrfmiddlewaretoken" in values:
            good = values["csrfmiddlewaretoken"] == sites.csrf == request.cookies.get("csrftoken")
            if not good:
                return HTMLResponse("<h1>Forbidden (403)</h1><p>CSRF verification failed.</p>", 403)
            return RedirectResponse("/thanks/", status_code=302)
        if path == "boom":
            return JSONResponse({"error": "internal"}, status_code=500)
        if path in ("errors", "quote"):
            return HTMLResponse(_fixture("django_response_errors.html"))
        if spam:
            return HTMLResponse("<h1>Error</h1><p class='error'>Spam detected.</p>", 400)
        return RedirectResponse("/thanks/", status_code=303)

    return app
