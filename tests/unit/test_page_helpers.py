"""The dashboard's small pure helpers: where a redirect goes, how a time reads."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from aicmo.cam.domain.threads import is_message_id, thread_references
from aicmo.errors import ValidationError
from aicmo.web.pages.base import _when, safe_next, see_other, whole_number


@pytest.mark.parametrize("path", ["/leads", "/leads?grade=A", "/leads/3#notes"])
def test_the_flash_travels_in_a_cookie_and_the_address_stays_as_it_was(path: str) -> None:
    answer = see_other(path, "Note added; ann@acme.example")
    assert answer.status_code == 303
    assert answer.headers["location"] == path
    cookie = answer.headers["set-cookie"]
    assert cookie.startswith("aicmo_flash=Note%20added%3B%20ann%40acme.example;")
    assert "HttpOnly" in cookie and "Max-Age=60" in cookie
    assert "set-cookie" not in see_other(path).headers


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


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("<abc.123@mail.example>", True),
        ("<a@b>", True),
        ("<no-at-sign>", False),
        ("<a@b>\r\nBcc: x@evil.example", False),
        ("<a b@c>", False),
        ("a@b", False),
        (f"<{'x' * 1000}@b>", False),
        ("<ü@b>", False),
        (None, False),
    ],
)
def test_only_a_well_formed_message_id_goes_in_a_thread_header(value: str | None, ok: bool) -> None:
    assert is_message_id(value) is ok
    refs = thread_references(["<first@a.example>", value], "<answered@b.example>")
    assert refs[0] == "<first@a.example>" and refs[-1] == "<answered@b.example>"
    assert (value in refs) is ok


def test_a_whole_number_field_is_empty_a_number_or_a_message_naming_it() -> None:
    assert whole_number("limit", "  ") is None
    assert whole_number("limit", " 42 ") == 42
    assert whole_number("score", "-5", low=-10, high=10) == -5
    with pytest.raises(ValidationError, match=r"limit must be a whole number, not '4\.5'") as bad:
        whole_number("limit", "4.5")
    assert bad.value.field == "limit"
    with pytest.raises(ValidationError, match="between 1 and 10"):
        whole_number("limit", "11", low=1, high=10)
