"""Headless Chromium for tests that look at what a person sees (reports, the dashboard).

Debian's ``chromium`` package, driven by Playwright with the system executable (no browser
download). Where Chromium is missing the browser tests skip with the reason, except in CI
(``CI`` or ``AICMO_TEST_DATABASE_URL`` set), where a missing browser fails the run:
``make test`` and ``.ci/run`` install it. The ``browser`` fixture (tests/conftest.py)
gives one browser per session; :func:`new_page` a page that refuses every request that
would leave the page (so a test also proves the page needs no network).
"""

from __future__ import annotations

import io
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from PIL import Image, ImageStat
from playwright.sync_api import Browser, Page, Request, Route, sync_playwright

#: Where Debian's package puts it; ``AICMO_TEST_CHROMIUM`` overrides.
DEFAULT_CHROMIUM = "/usr/bin/chromium"
INSTALL_HINT = "install it with `apt-get install -y chromium` (Debian/Ubuntu), or run `make test`"


def in_ci() -> bool:
    """CI (or a run with the PostgreSQL tests on): a missing browser is a failure."""
    return bool(os.environ.get("CI") or os.environ.get("AICMO_TEST_DATABASE_URL"))


def chromium_path() -> str | None:
    """The Chromium executable, or None when there is none."""
    wanted = os.environ.get("AICMO_TEST_CHROMIUM") or DEFAULT_CHROMIUM
    if Path(wanted).is_file() and os.access(wanted, os.X_OK):
        return wanted
    return shutil.which("chromium") or shutil.which("chromium-browser")


def require_chromium() -> str:
    """The executable; else skip (on a developer's machine) or fail (in CI), saying how."""
    path = chromium_path()
    if path is None:
        message = f"Chromium is not installed: {INSTALL_HINT}"
        if in_ci():
            pytest.fail(message + " (CI must run the browser tests)")
        pytest.skip(message)
    return path


@contextmanager
def launch_chromium() -> Iterator[Browser]:
    """A headless Chromium for the duration of the block."""
    executable = require_chromium()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, headless=True)
        try:
            yield browser
        finally:
            browser.close()


@contextmanager
def new_page(
    browser: Browser, *, allow: tuple[str, ...] = (), width: int = 1100, height: int = 900
) -> Iterator[tuple[Page, list[str]]]:
    """A page, and the list of the requests it tried to make to URLs that do not start
    with one of ``allow`` (each was refused: a test can assert the list stays empty)."""
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    outside: list[str] = []

    def refuse(route: Route, request: Request) -> None:
        if request.url.startswith(allow) and allow:
            route.continue_()
            return
        outside.append(request.url)
        route.abort()

    page.route("**/*", refuse)
    try:
        yield page, outside
    finally:
        context.close()


def ink(png: bytes) -> float:
    """How far an image is from one flat colour (the standard deviation of its grey
    levels): 0 for a blank image, tens for text and charts."""
    grey = Image.open(io.BytesIO(png)).convert("L")
    return float(ImageStat.Stat(grey).stddev[0])
