"""The dashboard in headless Chromium: a served app on a real database, a signed-in page.

Each test gets the app served by uvicorn on loopback over a fresh SQLite file with an admin
(:class:`Site`), and :func:`signed_in_page` gives a Chromium page that has logged in
through the login form. The page refuses every request to another origin, and fails the
test on a script error, a blocked resource (the page policy reports it on the console) or a
dialog (the XSS probes would open one). Screenshots go to ``build/screenshots`` (outside
git; ``AICMO_TEST_SCREENSHOTS`` overrides).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote

import httpx
from playwright.sync_api import Browser, Page, Response
from sqlalchemy.orm import Session, sessionmaker

from tests.browser import ink, new_page

ROOT = Path(__file__).resolve().parents[1]
ADMIN_EMAIL = "admin@agency.example"
ADMIN_PASSWORD = "correct horse battery staple"
#: A name that would run script if any page put it in as markup.
XSS = "<img src=x onerror=alert(1)>"
XSS_SCRIPT = "<script>alert(2)</script>"


@dataclass
class Site:
    """The served app: its base URL, a way into its database, the admin's credentials."""

    base: str
    sessions: sessionmaker[Session]
    workspace_id: int = 1
    email: str = ADMIN_EMAIL
    password: str = ADMIN_PASSWORD

    def db(self) -> Session:
        return self.sessions()


@dataclass
class Watch:
    """What went wrong on a page while a test drove it."""

    outside: list[str]
    errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    #: A test that expects a confirmation sets this to have it accepted (else dismissed).
    accept_confirms: bool = False

    def assert_clean(self) -> None:
        assert self.outside == [], f"requests to other origins: {self.outside}"
        assert self.dialogs == [], f"dialogs opened (script ran?): {self.dialogs}"
        assert self.errors == [], f"script errors or blocked resources: {self.errors}"


def flash_of(answer: httpx.Response) -> str:
    """The one-line message a change's redirect carries (in a cookie, not the address)."""
    return unquote(answer.cookies.get("aicmo_flash") or "")


def screenshot_dir() -> Path:
    path = Path(os.environ.get("AICMO_TEST_SCREENSHOTS") or ROOT / "build" / "screenshots")
    path.mkdir(parents=True, exist_ok=True)
    return path


def screenshot(page: Page, name: str) -> Path:
    """Save a full-page screenshot (for people to look at; no test compares pixels)."""
    path = screenshot_dir() / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def log_in(
    page: Page, site: Site, *, email: str | None = None, password: str | None = None
) -> None:
    page.goto(f"{site.base}/login")
    page.get_by_label("Email").fill(email or site.email)
    page.get_by_label("Password").fill(password or site.password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state("load")


@contextmanager
def signed_in_page(
    browser: Browser, site: Site, *, width: int = 1200, height: int = 900, log: bool = True
) -> Iterator[tuple[Page, Watch]]:
    """A page logged in as the admin; the test should end with ``watch.assert_clean()``.

    Dialogs are dismissed and recorded; a confirmation (``data-confirm``) is not recorded,
    and is accepted when the test sets ``watch.accept_confirms = True``.
    """
    with new_page(browser, allow=(site.base,), width=width, height=height) as (page, outside):
        watch = Watch(outside=outside)

        def on_console(message: object) -> None:
            text = getattr(message, "text", str(message))
            # A page answered with 4xx on purpose (a wrong password) is logged like a
            # failed load; failed subresources are caught by status below instead.
            if getattr(message, "type", "") == "error" and not text.startswith(
                "Failed to load resource"
            ):
                watch.errors.append(text)

        def on_response(response: Response) -> None:
            if response.request.resource_type != "document" and response.status >= 400:
                watch.errors.append(f"{response.status} {response.url}")

        page.on("console", on_console)
        page.on("response", on_response)
        page.on("pageerror", lambda exc: watch.errors.append(str(exc)))

        def on_dialog(dialog: object) -> None:
            message = getattr(dialog, "message", "")
            confirm = getattr(dialog, "type", "") == "confirm"
            if not confirm:
                watch.dialogs.append(message)
            if confirm and watch.accept_confirms:
                dialog.accept()  # type: ignore[attr-defined]
            else:
                dialog.dismiss()  # type: ignore[attr-defined]

        page.on("dialog", on_dialog)
        if log:
            log_in(page, site)
        yield page, watch


def assert_every_chart_drawn(page: Page, *, at_least: int = 1) -> int:
    """Every chart on the page was drawn by Chart.js from figures that are not all zero,
    and its canvas holds a picture (not an empty canvas). Returns how many there are."""
    canvases = page.locator("canvas[data-chart]")
    count = canvases.count()
    assert count >= at_least, f"{count} charts on {page.url}, expected {at_least}+"
    for index in range(count):
        canvas = canvases.nth(index)
        name = canvas.get_attribute("id")
        canvas.scroll_into_view_if_needed()
        page.wait_for_function(
            "(el) => el.dataset.rendered === '1'", arg=canvas.element_handle(), timeout=5000
        )
        spec = page.evaluate(
            "(id) => JSON.parse(document.getElementById(id).textContent)",
            canvas.get_attribute("data-chart"),
        )
        values = [v for d in spec["datasets"] for v in d["data"] if isinstance(v, int | float)]
        assert any(values), f"chart {name} has no figure other than zero"
        assert ink(canvas.screenshot()) > 5, f"chart {name} looks empty"
    return count
