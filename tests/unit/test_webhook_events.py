"""Webhooks out, the pure part: the event table, signatures, the retry schedule."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aicmo.cam.domain import webhooks as W
from aicmo.cam.domain.events import EventType
from aicmo.cam.domain.messages import ChannelType
from aicmo.errors import ValidationError

CHANNELS = [None, *(c.value for c in ChannelType)]


def test_every_event_type_is_either_published_or_declared_internal() -> None:
    published = {t for e in W.WEBHOOK_EVENTS for t in e.types}
    assert published | W.INTERNAL_EVENTS == set(EventType)
    assert not published & W.INTERNAL_EVENTS


@pytest.mark.parametrize("event_type", list(EventType))
@pytest.mark.parametrize("channel", CHANNELS)
def test_no_event_matches_two_public_names(event_type: EventType, channel: str | None) -> None:
    """Overlapping entries would queue one event twice for an endpoint subscribed to both."""
    matches = [
        e.name
        for e in W.WEBHOOK_EVENTS
        if event_type in e.types and e.channel in (W.ANY_CHANNEL, channel)
    ]
    assert len(matches) <= 1, matches


def test_the_names_users_expect_map_to_our_events() -> None:
    assert W.public_name("REPLY_RECEIVED", "EMAIL") == "email.replied"
    assert W.public_name("REPLY_RECEIVED", "LINKEDIN") == "linkedin.replied"
    assert W.public_name("MESSAGE_SENT", "CONTACT_FORM") == "form.submitted"
    assert W.public_name("BOUNCED_SOFT", "EMAIL") == "email.bounced"
    assert W.public_name("UNSUBSCRIBED", None) == "lead.unsubscribed"
    assert W.public_name("CAMPAIGN_PAUSED", None) == "campaign.paused"
    assert W.public_name("MESSAGE_ATTEMPTED", "EMAIL") is None


def test_event_names_are_validated_and_star_means_all() -> None:
    assert W.parse_event_names(" Lead.Unsubscribed, email.replied ") == [
        "email.replied",
        "lead.unsubscribed",
    ]
    assert W.parse_event_names("*") == [e.name for e in W.WEBHOOK_EVENTS]
    with pytest.raises(ValidationError, match=r"email\.opend") as err:
        W.parse_event_names("email.opend")
    assert err.value.field == "events"
    with pytest.raises(ValidationError):
        W.parse_event_names(" , ")


def test_subscriptions_expand_a_name_to_each_event_it_stands_for() -> None:
    assert W.subscriptions(["email.bounced", "email.replied"]) == [
        ("BOUNCED_HARD", "*"),
        ("BOUNCED_SOFT", "*"),
        ("REPLY_RECEIVED", "EMAIL"),
    ]


def _verify(secret: str, msg_id: str, timestamp: str, body: bytes, header: str) -> bool:
    """Standard Webhooks verification, written from the specification alone."""
    key = base64.b64decode(secret.split("_", 1)[1])
    expected = hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    for part in header.split(" "):
        version, _, sig = part.partition(",")
        if version == "v1" and hmac.compare_digest(base64.b64decode(sig), expected):
            return True
    return False


def test_signature_matches_the_specifications_published_example() -> None:
    """The example of the Standard Webhooks reference libraries' test suites."""
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    sig = W.sign(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, b'{"test": 2432232314}')
    assert sig == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


@given(st.binary(min_size=24, max_size=64), st.binary(max_size=300), st.integers(0, 2**33))
def test_every_signature_verifies_and_a_changed_body_does_not(
    key: bytes, body: bytes, timestamp: int
) -> None:
    secret = W.format_secret(key)
    header = W.signature_header([secret], "evt_x_1", timestamp, body)
    assert _verify(secret, "evt_x_1", str(timestamp), body, header)
    assert not _verify(secret, "evt_x_1", str(timestamp), body + b" ", header)
    assert not _verify(secret, "evt_x_1", str(timestamp + 1), body, header)


def test_during_a_rotation_both_secrets_sign() -> None:
    old, new = W.format_secret(b"o" * 32), W.format_secret(b"n" * 32)
    header = W.signature_header([new, old], "evt_1", 5, b"{}")
    assert _verify(old, "evt_1", "5", b"{}", header)
    assert _verify(new, "evt_1", "5", b"{}", header)


def test_retries_back_off_for_about_a_day_then_stop() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    total = sum(W.RETRY_DELAYS, timedelta())
    assert timedelta(hours=23) < total < timedelta(hours=26)
    assert list(W.RETRY_DELAYS) == sorted(W.RETRY_DELAYS)
    assert W.next_retry(1, now, 0.5) == now + timedelta(seconds=5)
    assert W.next_retry(W.MAX_ATTEMPTS, now, 0.5) is None


@given(st.integers(1, len(W.RETRY_DELAYS)), st.floats(0, 1, exclude_max=True))
def test_jitter_stays_within_a_fifth_of_the_wait(attempts: int, jitter: float) -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    at = W.next_retry(attempts, now, jitter)
    assert at is not None
    base = W.RETRY_DELAYS[attempts - 1]
    assert base * 0.8 <= at - now <= base * 1.2


def test_an_endpoint_is_disabled_only_after_failing_for_the_whole_period() -> None:
    since = datetime(2026, 1, 1, tzinfo=UTC)
    assert not W.should_disable(None, since + timedelta(days=30), W.DISABLE_AFTER)
    assert not W.should_disable(
        since, since + W.DISABLE_AFTER - timedelta(seconds=1), W.DISABLE_AFTER
    )
    assert W.should_disable(since, since + W.DISABLE_AFTER, W.DISABLE_AFTER)
