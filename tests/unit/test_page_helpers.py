"""The dashboard's small pure helpers: where a redirect goes, how a time reads."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from aicmo.web.pages.base import _when, safe_next, see_other


@pytest.mark.parametrize(
    ("path", "flash", "location"),
    [
        ("/leads", "Saved", "/leads?flash=Saved"),
        ("/leads?grade=A", "Saved", "/leads?grade=A&flash=Saved"),
        ("/leads/3#notes", "Note added", "/leads/3?flash=Note%20added#notes"),
        ("/leads", None, "/leads"),
    ],
)
def test_the_flash_goes_in_the_query_before_any_fragment(
    path: str, flash: str | None, location: str
) -> None:
    assert see_other(path, flash).headers["location"] == location


@pytest.mark.parametrize(
    "value", [None, "", "leads", "//evil.example/", "/\\\\evil.example", "https://evil.example/"]
)
def test_after_login_only_a_local_path_is_followed(value: str | None) -> None:
    assert safe_next(value) == "/"


def test_times_read_in_utc_to_the_minute() -> None:
    paris = timezone(timedelta(hours=1))
    assert _when(datetime(2026, 12, 7, 13, 5, 59, tzinfo=paris)) == "2026-12-07 12:05"
    assert _when(datetime(2026, 12, 7, 12, 5)) == "2026-12-07 12:05"  # naive means UTC
    assert _when("2026-12-07T12:05:00+00:00") == "2026-12-07 12:05"
    assert _when(None) == "—"
    assert _when("not a time") == "not a time"
    assert _when(datetime(2026, 1, 1, tzinfo=UTC), "%Y") == "2026"
