"""A small company website for ``aicmo demo``: a home page that links to its contact page,
a contact form like the ones WordPress sites serve (hidden token, honeypot, consent), a
thank-you page, and a second site whose form sits behind a reCAPTCHA.

It runs on 127.0.0.1 for the length of the demo only. Submissions are kept in memory so
the demo can show what the site received.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from html import escape

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

_LAYOUT = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>{title}</title><style>.hp-field{{display:none}} body{{font-family:sans-serif}}</style>
</head><body><header><nav><a href="/">Home</a> <a href="/about/">About</a>
<a href="/contact/">Contact us</a></nav>
<form role="search" action="/search/" method="get"><input type="search" name="q"
placeholder="Search"><button>Search</button></form></header>
<main>{body}</main>
<footer><form action="/newsletter/" method="post"><label for="nl">Newsletter</label>
<input id="nl" type="email" name="email" placeholder="Your email">
<button>Subscribe</button></form></footer></body></html>"""

_CONTACT = """<h1>Contact us</h1>
<form class="contact-form" action="/contact/send/" method="post">
<input type="hidden" name="_token" value="{token}">
<p><label for="f-name">Your name *</label><input id="f-name" name="your-name" required></p>
<p><label for="f-email">Email address *</label>
<input id="f-email" type="email" name="your-email" required></p>
<p><label for="f-company">Company</label><input id="f-company" name="company"></p>
<p><label for="f-subject">Subject</label><input id="f-subject" name="your-subject"></p>
<p><label for="f-message">Message *</label>
<textarea id="f-message" name="your-message" required></textarea></p>
<p class="hp-field"><label for="f-url">Leave empty</label>
<input id="f-url" name="url" tabindex="-1" autocomplete="off"></p>
<p><label><input type="checkbox" name="consent" value="1" required>
I agree to the privacy policy</label></p>
<p><button type="submit">Send message</button></p></form>"""

_CAPTCHA = """<h1>Get in touch</h1>
<form action="/contact/send/" method="post">
<p><label for="n">Name</label><input id="n" name="name" required></p>
<p><label for="e">Email</label><input id="e" type="email" name="email" required></p>
<p><label for="m">Message</label><textarea id="m" name="message" required></textarea></p>
<div class="g-recaptcha" data-sitekey="6LcDemoDemoDemoDemoDemoDemoDemoDemoDemo00"></div>
<button type="submit">Send</button></form>
<script src="https://www.google.com/recaptcha/api.js" async defer></script>"""


@dataclass
class DemoSite:
    """What the site received (the demo prints it)."""

    token: str = field(default_factory=lambda: secrets.token_hex(8))
    received: list[dict[str, str]] = field(default_factory=list)


def create_demo_site(site: DemoSite) -> Starlette:
    """Plain Starlette (FastAPI's base) keeps FastAPI's import off every CLI command."""

    def page(title: str, body: str) -> HTMLResponse:
        return HTMLResponse(_LAYOUT.format(title=escape(title), body=body))

    async def robots(_: Request) -> Response:
        return PlainTextResponse("User-agent: *\nDisallow: /private/\n")

    async def home(_: Request) -> Response:
        return page("Orbit Analytics", "<h1>Orbit Analytics</h1><p>Welcome.</p>")

    async def about(_: Request) -> Response:
        return page("About", "<h1>About us</h1>")

    async def contact(_: Request) -> Response:
        return page("Contact", _CONTACT.format(token=site.token))

    async def captcha(_: Request) -> Response:
        return page("Get in touch", _CAPTCHA)

    async def send(request: Request) -> Response:
        form = await request.form()
        values = {k: str(v) for k, v in form.items()}
        errors = [
            label
            for name, label in (
                ("your-name", "Your name"),
                ("your-email", "Email address"),
                ("your-message", "Message"),
            )
            if not values.get(name, "").strip()
        ]
        if values.get("_token") != site.token:
            errors.append("The form expired; reload the page")
        if values.get("url"):
            errors.append("Spam detected")
        if errors:
            items = "".join(f'<li class="error">{escape(e)} is required</li>' for e in errors)
            return page(
                "Contact", f'<ul role="alert">{items}</ul>' + _CONTACT.format(token=site.token)
            )
        site.received.append(values)
        return RedirectResponse("/thank-you/", status_code=303)

    async def thanks(_: Request) -> Response:
        return page(
            "Thank you",
            "<h1>Thank you!</h1><p>Your message has been sent. We'll get back to you soon.</p>",
        )

    return Starlette(
        routes=[
            Route("/robots.txt", robots),
            Route("/", home),
            Route("/about/", about),
            Route("/contact/", contact),
            Route("/captcha/", captcha),
            Route("/contact/send/", send, methods=["POST"]),
            Route("/thank-you/", thanks),
        ]
    )
