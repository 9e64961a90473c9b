"""Provider webhooks: signatures are verified before anything is read, events map by table.

Keys are generated here: an EC P-256 key stands in for SendGrid's signing key, an RSA key
with a self-signed certificate for SNS's, served by a dict-backed ``fetch_cert`` that
records what it was asked for. The fixtures in ``tests/fixtures/webhooks`` follow the
providers' documented payloads and are signed by the tests.
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import NameOID
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aicmo.cam.domain.events import EventType, OutreachEvent
from aicmo.cam.domain.messages import ChannelType
from aicmo.cam.inbound.webhooks import (
    RAW_LIMIT,
    SENDGRID_SIGNATURE_HEADER,
    SENDGRID_TIMESTAMP_HEADER,
    WebhookResult,
    WebhookSignatureError,
    is_sns_url,
    parse_sendgrid,
    parse_ses_sns,
)
from aicmo.errors import ConfigurationError, ValidationError

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "webhooks"
NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
SIGNED_AT = str(int(NOW.timestamp()))
OUR_MESSAGE_ID = "<6b1f0d9a3c2e4f5a8b7c6d5e4f3a2b1c@aicmo.example>"
ANN = "ann.lee@lead.example"
TOPIC = "arn:aws:sns:us-east-1:123456789012:aicmo-ses-events"
CERT_URL = (
    "https://sns.us-east-1.amazonaws.com/"
    "SimpleNotificationService-9c6465fa7f48f5cacd23014631ec1136.pem"
)

SG_KEY = ec.generate_private_key(ec.SECP256R1())
SG_OTHER_KEY = ec.generate_private_key(ec.SECP256R1())


def public_key_b64(key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey) -> str:
    der = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.b64encode(der).decode("ascii")


SG_PUBLIC = public_key_b64(SG_KEY)


def self_signed(key: rsa.RSAPrivateKey, *, start: datetime, end: datetime) -> bytes:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sns.amazonaws.com")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM)


SNS_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
SNS_OTHER_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
SNS_CERT = self_signed(SNS_KEY, start=NOW - timedelta(days=30), end=NOW + timedelta(days=365))


class CertFetcher:
    """``fetch_cert`` double: serves certificates from a dict and records every request."""

    def __init__(self, certs: dict[str, bytes] | None = None) -> None:
        self.certs = {CERT_URL: SNS_CERT} if certs is None else certs
        self.requested: list[str] = []

    def __call__(self, url: str) -> bytes:
        self.requested.append(url)
        return self.certs[url]


# --- helpers -------------------------------------------------------------------------------


def fixture_text(name: str) -> str:
    return (FIXTURES / f"{name}.json").read_text(encoding="utf-8")


def fixture_json(name: str) -> Any:
    return json.loads(fixture_text(name))


def sendgrid_headers(
    body: bytes, *, key: ec.EllipticCurvePrivateKey = SG_KEY, timestamp: str = SIGNED_AT
) -> dict[str, str]:
    signature = key.sign(timestamp.encode() + body, ec.ECDSA(hashes.SHA256()))
    return {
        SENDGRID_SIGNATURE_HEADER: base64.b64encode(signature).decode("ascii"),
        SENDGRID_TIMESTAMP_HEADER: timestamp,
    }


def sendgrid(body: bytes, **kwargs: Any) -> WebhookResult:
    return parse_sendgrid(body, sendgrid_headers(body), public_key_b64=SG_PUBLIC, now=NOW, **kwargs)


def sendgrid_fixture(name: str) -> WebhookResult:
    return sendgrid(fixture_text(name).encode("utf-8"))


def sns_canonical(message: dict[str, Any]) -> bytes:
    """The string to sign, written from the AWS guide rather than from the module."""
    if message["Type"] == "Notification":
        keys = ["Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"]
    else:
        keys = ["Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"]
    return "".join(f"{k}\n{message[k]}\n" for k in keys if k in message).encode("utf-8")


def sign_sns(
    message: dict[str, Any], *, key: rsa.RSAPrivateKey = SNS_KEY, version: str = "1"
) -> dict[str, Any]:
    signed = dict(message)
    signed["SignatureVersion"] = version
    digest: hashes.HashAlgorithm = hashes.SHA1() if version == "1" else hashes.SHA256()
    signature = key.sign(sns_canonical(signed), padding.PKCS1v15(), digest)
    signed["Signature"] = base64.b64encode(signature).decode("ascii")
    return signed


def sns_body(message: dict[str, Any]) -> bytes:
    return json.dumps(message).encode("utf-8")


def ses(
    message: dict[str, Any], *, fetcher: CertFetcher | None = None, **kwargs: Any
) -> WebhookResult:
    return parse_ses_sns(sns_body(message), fetch_cert=fetcher or CertFetcher(), now=NOW, **kwargs)


def ses_fixture(name: str, *, version: str = "1") -> WebhookResult:
    return ses(sign_sns(fixture_json(name), version=version))


def storable(value: str | None) -> None:
    if value is not None:
        value.encode("utf-8")
        assert "\x00" not in value


def assert_well_formed(result: WebhookResult, source: str) -> None:
    assert result.provider == source
    for event, message_id in result.events:
        assert isinstance(event, OutreachEvent)
        assert isinstance(event.type, EventType)
        assert event.channel is ChannelType.EMAIL
        assert event.source == source
        assert event.occurred_at.utcoffset() == timedelta(0)
        for text in (event.recipient, event.reason, event.raw, message_id):
            storable(text)
        json.dumps(event.detail, allow_nan=False)
        storable(json.dumps(event.detail, ensure_ascii=False))
        assert event.raw is not None
        assert len(event.raw.encode("utf-8")) <= RAW_LIMIT
        if event.recipient is not None:
            assert event.recipient == event.recipient.lower()
        if message_id is not None:
            assert message_id.startswith("<")
            assert message_id.endswith(">")


def only(result: WebhookResult) -> tuple[OutreachEvent, str | None]:
    assert len(result.events) == 1, result.events
    return result.events[0]


# --- SendGrid: the mapping table -----------------------------------------------------------


@pytest.mark.parametrize(
    ("fixture", "expected"),
    [
        ("sendgrid_delivered", EventType.MESSAGE_DELIVERED),
        ("sendgrid_bounce_unknown_user", EventType.BOUNCED_HARD),
        ("sendgrid_bounce_generic_status", EventType.BOUNCED_HARD),
        ("sendgrid_bounce_mailbox_full", EventType.BOUNCED_SOFT),
        ("sendgrid_bounce_policy", EventType.BOUNCED_SOFT),
        ("sendgrid_blocked", EventType.BOUNCED_SOFT),
        ("sendgrid_blocked_no_status", EventType.BOUNCED_SOFT),
        ("sendgrid_blocked_unknown_user", EventType.BOUNCED_HARD),
        ("sendgrid_dropped_bounced_address", EventType.BOUNCED_HARD),
        ("sendgrid_dropped_invalid", EventType.BOUNCED_HARD),
        ("sendgrid_dropped_unsubscribed_address", EventType.UNSUBSCRIBED),
        ("sendgrid_dropped_spam_reporting_address", EventType.COMPLAINED),
        ("sendgrid_dropped_spam_content", EventType.MESSAGE_FAILED),
        ("sendgrid_open", EventType.MESSAGE_OPENED),
        ("sendgrid_click", EventType.MESSAGE_CLICKED),
        ("sendgrid_spamreport", EventType.COMPLAINED),
        ("sendgrid_unsubscribe", EventType.UNSUBSCRIBED),
        ("sendgrid_group_unsubscribe", EventType.UNSUBSCRIBED),
        ("sendgrid_group_resubscribe", EventType.UNKNOWN),
        ("sendgrid_account_status_change", EventType.UNKNOWN),
    ],
)
def test_each_sendgrid_event_maps_as_the_table_says(fixture: str, expected: EventType) -> None:
    result = sendgrid_fixture(fixture)
    assert_well_formed(result, "sendgrid")
    event, _ = only(result)
    assert event.type is expected
    original = fixture_json(fixture)[0]
    assert event.occurred_at == datetime.fromtimestamp(original["timestamp"], UTC)
    assert event.detail["event_id"] == original["sg_event_id"]
    assert event.detail["provider_event"] == original["event"]
    assert event.raw is not None
    assert json.loads(event.raw) == original


@pytest.mark.parametrize("fixture", ["sendgrid_processed", "sendgrid_deferred"])
def test_sendgrid_processed_and_deferred_give_no_event_but_are_reported_as_skipped(
    fixture: str,
) -> None:
    result = sendgrid_fixture(fixture)
    assert result.events == ()
    assert result.skipped == (fixture_json(fixture)[0]["event"],)


def test_sendgrid_bounce_carries_status_reason_type_and_our_message_id() -> None:
    event, message_id = only(sendgrid_fixture("sendgrid_bounce_unknown_user"))
    assert message_id == OUR_MESSAGE_ID
    assert event.recipient == ANN
    assert event.reason is not None
    assert event.reason.startswith("550 5.1.1 The email account")
    assert event.detail["status"] == "5.1.1"
    assert event.detail["bounce_type"] == "bounce"
    assert event.detail["bounce_classification"] == "Invalid Address"
    assert event.detail["provider_message_id"].startswith("14c5d75ce93")
    assert "policy" not in event.detail


def test_sendgrid_generic_status_defers_to_the_code_in_the_smtp_reply() -> None:
    event, _ = only(sendgrid_fixture("sendgrid_bounce_generic_status"))
    assert event.detail["status"] == "5.0.0"
    assert event.detail["status_from_text"] == "5.1.1"


def test_sendgrid_policy_bounce_is_soft_and_flagged_as_policy() -> None:
    event, _ = only(sendgrid_fixture("sendgrid_bounce_policy"))
    assert event.type is EventType.BOUNCED_SOFT
    assert event.detail["policy"] is True


def test_sendgrid_click_keeps_the_url_and_has_no_message_id() -> None:
    event, message_id = only(sendgrid_fixture("sendgrid_click"))
    assert event.detail["url"] == "https://aicmo.example/pricing?utm_source=outreach"
    assert event.reason == "clicked https://aicmo.example/pricing?utm_source=outreach"
    assert message_id is None  # SendGrid sends no smtp-id with engagement events


def test_sendgrid_machine_open_is_marked_in_the_detail() -> None:
    human, _ = only(sendgrid_fixture("sendgrid_open"))
    machine, _ = only(sendgrid_fixture("sendgrid_open_machine"))
    assert human.detail["machine_open"] is False
    assert machine.detail["machine_open"] is True


def test_sendgrid_dropped_is_marked_and_names_the_reason() -> None:
    event, _ = only(sendgrid_fixture("sendgrid_dropped_spam_content"))
    assert event.detail["dropped"] is True
    assert event.reason == "dropped by SendGrid: Spam Content (if Spam Checker app is enabled)"


def test_sendgrid_group_unsubscribe_keeps_the_group() -> None:
    event, _ = only(sendgrid_fixture("sendgrid_group_unsubscribe"))
    assert event.detail["asm_group_id"] == 10


def test_sendgrid_unknown_event_is_unknown_with_its_raw_json_kept() -> None:
    event, message_id = only(sendgrid_fixture("sendgrid_account_status_change"))
    assert event.type is EventType.UNKNOWN
    assert event.recipient is None
    assert message_id is None
    assert event.reason == "unrecognised SendGrid event 'account_status_change'"
    assert event.raw is not None
    assert json.loads(event.raw)["type"] == "compliance_suspend"


def test_sendgrid_batch_keeps_order_lowercases_recipients_and_skips_no_ops() -> None:
    result = sendgrid_fixture("sendgrid_batch")
    assert_well_formed(result, "sendgrid")
    assert [e.type for e, _ in result.events] == [
        EventType.MESSAGE_DELIVERED,
        EventType.MESSAGE_OPENED,
        EventType.BOUNCED_HARD,
    ]
    assert [e.recipient for e, _ in result.events] == [ANN, "bo.chen@other.example", ANN]
    assert [m for _, m in result.events] == [OUR_MESSAGE_ID, None, OUR_MESSAGE_ID]
    assert result.skipped == ("processed", "deferred")


def test_sendgrid_event_without_email_or_timestamp_becomes_unknown_not_an_error() -> None:
    body = json.dumps(
        [
            {"event": "delivered", "timestamp": 1773143940, "sg_event_id": "a"},
            {"event": "delivered", "email": ANN, "sg_event_id": "b"},
            {"email": ANN, "timestamp": 1773143940},
        ]
    ).encode()
    result = sendgrid(body)
    assert_well_formed(result, "sendgrid")
    assert [e.type for e, _ in result.events] == [EventType.UNKNOWN] * 3
    reasons = [e.reason for e, _ in result.events]
    assert reasons == [
        "SendGrid delivered event without an email",
        "SendGrid delivered event without a timestamp",
        "SendGrid event without an event name",
    ]
    assert result.events[1][0].occurred_at == NOW


def test_sendgrid_raw_is_truncated_to_16_kib() -> None:
    body = json.dumps([{"event": "open", "email": ANN, "timestamp": 1, "x": "é" * 20000}])
    event, _ = only(sendgrid(body.encode()))
    assert event.raw is not None
    assert len(event.raw.encode("utf-8")) <= RAW_LIMIT
    assert len(event.raw.encode("utf-8")) > RAW_LIMIT - 4


def test_sendgrid_empty_array_gives_no_events() -> None:
    assert sendgrid(b"[]") == WebhookResult(provider="sendgrid", events=())


# --- SendGrid: signatures ------------------------------------------------------------------


def test_sendgrid_tampered_body_is_refused() -> None:
    body = fixture_text("sendgrid_delivered").encode()
    headers = sendgrid_headers(body)
    tampered = body.replace(b"ann.lee", b"eve.lee")
    with pytest.raises(WebhookSignatureError, match="does not match"):
        parse_sendgrid(tampered, headers, public_key_b64=SG_PUBLIC, now=NOW)


def test_sendgrid_signature_made_with_another_key_is_refused() -> None:
    body = fixture_text("sendgrid_delivered").encode()
    headers = sendgrid_headers(body, key=SG_OTHER_KEY)
    with pytest.raises(WebhookSignatureError):
        parse_sendgrid(body, headers, public_key_b64=SG_PUBLIC, now=NOW)


def test_sendgrid_signature_is_bound_to_its_timestamp() -> None:
    body = fixture_text("sendgrid_delivered").encode()
    headers = sendgrid_headers(body)
    headers[SENDGRID_TIMESTAMP_HEADER] = str(int(SIGNED_AT) - 1)
    with pytest.raises(WebhookSignatureError, match="does not match"):
        parse_sendgrid(body, headers, public_key_b64=SG_PUBLIC, now=NOW)


@pytest.mark.parametrize("missing", [SENDGRID_SIGNATURE_HEADER, SENDGRID_TIMESTAMP_HEADER])
def test_sendgrid_request_without_a_signature_header_is_refused(missing: str) -> None:
    body = b"[]"
    headers = sendgrid_headers(body)
    del headers[missing]
    with pytest.raises(WebhookSignatureError, match=f"missing {missing}"):
        parse_sendgrid(body, headers, public_key_b64=SG_PUBLIC, now=NOW)


@pytest.mark.parametrize(
    ("header", "value"),
    [
        (SENDGRID_SIGNATURE_HEADER, "not base64 at all!"),
        (SENDGRID_SIGNATURE_HEADER, "AAAA"),
        (SENDGRID_SIGNATURE_HEADER, ""),
        (SENDGRID_TIMESTAMP_HEADER, "yesterday"),
        (SENDGRID_TIMESTAMP_HEADER, "1773144000.5"),
        (SENDGRID_TIMESTAMP_HEADER, "-1773144000"),
        (SENDGRID_TIMESTAMP_HEADER, "9" * 40),
        # Twelve digits pass the shape check but lie past the year 9999: refused, not a crash.
        (SENDGRID_TIMESTAMP_HEADER, "999999999999"),
        (SENDGRID_TIMESTAMP_HEADER, "0"),
        (SENDGRID_TIMESTAMP_HEADER, "1e10"),
        (SENDGRID_TIMESTAMP_HEADER, "１７７３１４４０００"),
    ],
)
def test_sendgrid_garbled_signature_headers_are_refused(header: str, value: str) -> None:
    body = b"[]"
    headers = sendgrid_headers(body)
    headers[header] = value
    with pytest.raises(WebhookSignatureError):
        parse_sendgrid(body, headers, public_key_b64=SG_PUBLIC, now=NOW)


@pytest.mark.parametrize("offset", [timedelta(minutes=-11), timedelta(minutes=11)])
def test_sendgrid_timestamp_outside_the_tolerance_is_refused(offset: timedelta) -> None:
    body = b"[]"
    headers = sendgrid_headers(body, timestamp=str(int((NOW + offset).timestamp())))
    with pytest.raises(WebhookSignatureError, match="outside the accepted window"):
        parse_sendgrid(body, headers, public_key_b64=SG_PUBLIC, now=NOW)


def test_sendgrid_timestamp_inside_the_tolerance_is_accepted() -> None:
    body = b"[]"
    headers = sendgrid_headers(body, timestamp=str(int((NOW - timedelta(minutes=9)).timestamp())))
    assert parse_sendgrid(body, headers, public_key_b64=SG_PUBLIC, now=NOW).events == ()
    with pytest.raises(WebhookSignatureError):
        parse_sendgrid(
            body, headers, public_key_b64=SG_PUBLIC, now=NOW, tolerance=timedelta(minutes=5)
        )


@pytest.mark.parametrize("case", [str.lower, str.upper])
def test_sendgrid_header_names_are_matched_case_insensitively(case: Any) -> None:
    body = fixture_text("sendgrid_delivered").encode()
    headers = {case(k): v for k, v in sendgrid_headers(body).items()}
    result = parse_sendgrid(body, headers, public_key_b64=SG_PUBLIC, now=NOW)
    assert only(result)[0].type is EventType.MESSAGE_DELIVERED


def test_sendgrid_key_pasted_with_pem_armour_and_line_breaks_is_accepted() -> None:
    pem = SG_KEY.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    body = b"[]"
    result = parse_sendgrid(body, sendgrid_headers(body), public_key_b64=pem.decode(), now=NOW)
    assert result.events == ()


@pytest.mark.parametrize(
    "key",
    [
        "",
        "not a key",
        base64.b64encode(b"\x30\x03\x02\x01\x01").decode(),
        public_key_b64(SNS_KEY),  # RSA, not P-256
        public_key_b64(ec.generate_private_key(ec.SECP384R1())),
    ],
)
def test_sendgrid_misconfigured_key_is_a_configuration_error(key: str) -> None:
    body = b"[]"
    with pytest.raises(ConfigurationError):
        parse_sendgrid(body, sendgrid_headers(body), public_key_b64=key, now=NOW)


def test_naive_now_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        parse_sendgrid(b"[]", {}, public_key_b64=SG_PUBLIC, now=NOW.replace(tzinfo=None))


# --- SendGrid: malformed but correctly signed bodies ---------------------------------------


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (b"", "is empty"),
        (b"\xff\xfe[]", "not UTF-8"),
        (b"event=delivered&email=ann", "not JSON"),
        (b'{"event": "delivered"}', "not a JSON array"),
        (b'[{"event": "open"}, "delivered"]', "item 1 is not an object"),
        (b"[" * 40 + b"]" * 40, "nested too deeply"),
    ],
)
def test_sendgrid_signed_body_of_the_wrong_shape_is_a_validation_error_naming_it(
    body: bytes, problem: str
) -> None:
    with pytest.raises(ValidationError, match=problem) as caught:
        sendgrid(body)
    assert not isinstance(caught.value, WebhookSignatureError)


# --- SES through SNS: the mapping table ----------------------------------------------------


@pytest.mark.parametrize(
    ("fixture", "expected"),
    [
        ("ses_bounce_permanent", [EventType.BOUNCED_HARD]),
        ("ses_bounce_permanent_policy", [EventType.BOUNCED_SOFT]),
        ("ses_bounce_permanent_suppressed", [EventType.BOUNCED_HARD]),
        ("ses_bounce_transient_mailbox_full", [EventType.BOUNCED_SOFT]),
        ("ses_bounce_transient_general", [EventType.BOUNCED_SOFT]),
        ("ses_bounce_undetermined", [EventType.BOUNCED_SOFT]),
        ("ses_event_bounce_two_recipients", [EventType.BOUNCED_HARD, EventType.BOUNCED_SOFT]),
        ("ses_complaint_abuse", [EventType.COMPLAINED]),
        ("ses_complaint_no_feedback_type", [EventType.COMPLAINED]),
        ("ses_complaint_not_spam", [EventType.UNKNOWN]),
        ("ses_delivery", [EventType.MESSAGE_DELIVERED]),
        ("ses_event_open", [EventType.MESSAGE_OPENED]),
        ("ses_event_click", [EventType.MESSAGE_CLICKED]),
        ("ses_event_reject", [EventType.MESSAGE_FAILED]),
        ("ses_event_rendering_failure", [EventType.MESSAGE_FAILED]),
        ("ses_event_subscription", [EventType.UNSUBSCRIBED]),
        ("ses_event_unknown", [EventType.UNKNOWN]),
        ("ses_not_ses_message", [EventType.UNKNOWN]),
    ],
)
def test_each_ses_notification_maps_as_the_table_says(
    fixture: str, expected: list[EventType]
) -> None:
    result = ses_fixture(fixture)
    assert_well_formed(result, "ses")
    assert [e.type for e, _ in result.events] == expected
    envelope = fixture_json(fixture)
    for event, _ in result.events:
        assert event.raw == envelope["Message"]
        assert event.detail["event_id"] == envelope["MessageId"]
        assert event.detail["topic_arn"] == TOPIC


@pytest.mark.parametrize("fixture", ["ses_event_send", "ses_event_delivery_delay"])
def test_ses_send_and_delivery_delay_give_no_event_but_are_reported_as_skipped(
    fixture: str,
) -> None:
    result = ses_fixture(fixture)
    assert result.events == ()
    assert result.skipped == (json.loads(fixture_json(fixture)["Message"])["eventType"],)


def test_ses_bounce_carries_status_diagnostic_and_our_message_id_from_the_headers() -> None:
    event, message_id = only(ses_fixture("ses_bounce_permanent"))
    assert message_id == OUR_MESSAGE_ID
    assert event.recipient == ANN
    assert event.occurred_at == datetime(2026, 3, 10, 11, 58, 59, 731000, tzinfo=UTC)
    assert event.reason == (
        "smtp; 550 5.1.1 <ann.lee@lead.example>: Recipient address rejected: "
        "User unknown in virtual mailbox table"
    )
    assert event.detail["status"] == "5.1.1"
    assert event.detail["diagnostic"] == event.reason
    assert event.detail["bounce_type"] == "Permanent"
    assert event.detail["bounce_subtype"] == "General"
    assert event.detail["provider_message_id"].startswith("0100018e2a1b3c4d")
    assert event.detail["provider_event"] == "Bounce"


def test_ses_permanent_policy_bounce_is_softened_and_flagged() -> None:
    event, _ = only(ses_fixture("ses_bounce_permanent_policy"))
    assert event.detail["policy"] is True


def test_ses_transient_bounce_is_never_upgraded_by_its_status() -> None:
    event, _ = only(ses_fixture("ses_bounce_transient_general"))
    assert event.detail["status"] == "5.1.1"
    assert event.type is EventType.BOUNCED_SOFT


def test_ses_bounce_gives_one_event_per_recipient_with_its_own_status() -> None:
    result = ses_fixture("ses_event_bounce_two_recipients")
    recipients = [(e.recipient, e.detail["status"]) for e, _ in result.events]
    assert recipients == [(ANN, "5.1.1"), ("bo.chen@other.example", "5.2.2")]


def test_ses_click_keeps_the_link() -> None:
    event, _ = only(ses_fixture("ses_event_click"))
    assert event.detail["url"] == "https://aicmo.example/pricing"


def test_ses_message_id_falls_back_to_none_when_the_mail_has_no_headers() -> None:
    _, message_id = only(ses_fixture("ses_event_rendering_failure"))
    assert message_id is None


def test_ses_message_id_comes_from_common_headers_when_the_header_list_is_truncated() -> None:
    envelope = fixture_json("ses_delivery")
    notification = json.loads(envelope["Message"])
    del notification["mail"]["headers"]
    notification["mail"]["headersTruncated"] = True
    notification["mail"]["commonHeaders"]["messageId"] = "abc123@aicmo.example"
    envelope["Message"] = json.dumps(notification)
    _, message_id = only(ses(sign_sns(envelope)))
    assert message_id == "<abc123@aicmo.example>"


def test_ses_unknown_event_is_unknown_with_the_notification_kept_raw() -> None:
    event, message_id = only(ses_fixture("ses_event_unknown"))
    assert event.reason == "unrecognised SES event 'Quarantine'"
    assert message_id == OUR_MESSAGE_ID
    assert event.raw is not None
    assert json.loads(event.raw)["eventType"] == "Quarantine"


def test_ses_complaint_that_says_not_spam_is_left_to_a_human() -> None:
    event, _ = only(ses_fixture("ses_complaint_not_spam"))
    assert event.recipient == ANN
    assert event.detail["feedback_type"] == "not-spam"


def test_ses_subscription_confirmation_returns_the_url_to_visit_and_no_events() -> None:
    fetcher = CertFetcher()
    envelope = sign_sns(fixture_json("ses_subscription_confirmation"))
    result = ses(envelope, fetcher=fetcher)
    assert result.events == ()
    assert result.subscribe_url == envelope["SubscribeURL"]
    assert result.subscribe_url is not None
    assert result.subscribe_url.startswith("https://sns.us-east-1.amazonaws.com/?Action=Confirm")
    assert fetcher.requested == [CERT_URL]


def test_ses_unsubscribe_confirmation_gives_nothing_to_do() -> None:
    result = ses_fixture("ses_unsubscribe_confirmation")
    assert result == WebhookResult(provider="ses", events=(), skipped=("UnsubscribeConfirmation",))


# --- SES through SNS: signatures -----------------------------------------------------------


@pytest.mark.parametrize("version", ["1", "2"])
def test_sns_signature_versions_1_and_2_are_verified(version: str) -> None:
    fetcher = CertFetcher()
    result = ses(sign_sns(fixture_json("ses_delivery"), version=version), fetcher=fetcher)
    assert only(result)[0].type is EventType.MESSAGE_DELIVERED
    assert fetcher.requested == [CERT_URL]


def test_sns_signature_version_is_part_of_the_check() -> None:
    envelope = sign_sns(fixture_json("ses_delivery"), version="1")
    envelope["SignatureVersion"] = "2"
    with pytest.raises(WebhookSignatureError, match="does not match"):
        ses(envelope)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("Message", '{"notificationType":"Delivery"}'),
        ("MessageId", "00000000-0000-0000-0000-000000000000"),
        ("TopicArn", "arn:aws:sns:us-east-1:123456789012:other-topic"),
        ("Timestamp", "2026-03-10T11:59:01.000Z"),
        ("Type", "SubscriptionConfirmation"),
    ],
)
def test_sns_tampered_field_is_refused(field: str, value: str) -> None:
    envelope = sign_sns(fixture_json("ses_bounce_permanent"))
    envelope[field] = value
    if field == "Type":
        envelope["SubscribeURL"] = "https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription"
        envelope["Token"] = "abc"
    with pytest.raises(WebhookSignatureError):
        ses(envelope)


def test_sns_subject_is_part_of_the_signed_string() -> None:
    envelope = sign_sns(fixture_json("ses_not_ses_message"))
    assert only(ses(envelope))[0].type is EventType.UNKNOWN
    envelope["Subject"] = "Another subject"
    with pytest.raises(WebhookSignatureError):
        ses(envelope)


def test_sns_certificate_for_another_key_is_refused() -> None:
    envelope = sign_sns(fixture_json("ses_delivery"), key=SNS_OTHER_KEY)
    with pytest.raises(WebhookSignatureError, match="does not match"):
        ses(envelope)


@pytest.mark.parametrize("missing", ["Signature", "SignatureVersion", "SigningCertURL"])
def test_sns_message_without_its_signature_fields_is_refused(missing: str) -> None:
    envelope = sign_sns(fixture_json("ses_delivery"))
    del envelope[missing]
    fetcher = CertFetcher()
    with pytest.raises(WebhookSignatureError, match=f"lacks {missing}"):
        ses(envelope, fetcher=fetcher)
    assert fetcher.requested == []


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("Signature", "%%% not base64 %%%"),
        ("SignatureVersion", "3"),
        ("Timestamp", "10 March 2026"),
        ("Timestamp", "2026-03-10T11:59:00"),  # no zone
    ],
)
def test_sns_garbled_signature_fields_are_refused_before_any_fetch(field: str, value: str) -> None:
    envelope = sign_sns(fixture_json("ses_delivery"))
    envelope[field] = value
    fetcher = CertFetcher()
    with pytest.raises(WebhookSignatureError):
        ses(envelope, fetcher=fetcher)
    assert fetcher.requested == []


@pytest.mark.parametrize("offset", [timedelta(hours=-1, seconds=-1), timedelta(hours=1, seconds=1)])
def test_sns_timestamp_outside_the_tolerance_is_refused_before_any_fetch(
    offset: timedelta,
) -> None:
    envelope = fixture_json("ses_delivery")
    envelope["Timestamp"] = (NOW + offset).isoformat().replace("+00:00", "Z")
    fetcher = CertFetcher()
    with pytest.raises(WebhookSignatureError, match="outside the accepted window"):
        ses(sign_sns(envelope), fetcher=fetcher)
    assert fetcher.requested == []


@pytest.mark.parametrize(
    "url",
    [
        "https://sns.us-east-1.amazonaws.com.evil.example/SimpleNotificationService-1.pem",
        "http://sns.us-east-1.amazonaws.com/SimpleNotificationService-1.pem",
        "https://sns.us-east-1.amazonaws.com@evil.example/SimpleNotificationService-1.pem",
        "https://user:pw@sns.us-east-1.amazonaws.com/SimpleNotificationService-1.pem",
        "https://evil.example/sns.us-east-1.amazonaws.com/SimpleNotificationService-1.pem",
        "https://sns-us-east-1.amazonaws.com/SimpleNotificationService-1.pem",
        "https://xsns.us-east-1.amazonaws.com/SimpleNotificationService-1.pem",
        "https://sns.amazonaws.com/SimpleNotificationService-1.pem",
        "https://sns.us-east-1.amazonaws.com:8443/SimpleNotificationService-1.pem",
        "https://sns.us-east-1.amazonaws.com./SimpleNotificationService-1.pem",
        "https://sns.us-east-1.amazonaws.com\\@evil.example/x.pem",
        "https://sns.us-east-1.amazon\naws.com/SimpleNotificationService-1.pem",
        "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-1.txt",
        "https://sns.us-east-1.amazonaws.com/x.pem?redirect=https://evil.example/x.pem",
        "https://sns.evil.amazonaws.com.example/x.pem",
        "file:///etc/ssl/sns.us-east-1.amazonaws.com.pem",
        "",
    ],
)
def test_sns_certificate_url_off_an_sns_host_is_refused_without_fetching(url: str) -> None:
    envelope = fixture_json("ses_delivery")
    envelope["SigningCertURL"] = url
    fetcher = CertFetcher({url: SNS_CERT})
    with pytest.raises(WebhookSignatureError):
        ses(sign_sns(envelope), fetcher=fetcher)
    assert fetcher.requested == []


@pytest.mark.parametrize(
    "url",
    [
        "https://sns.eu-west-3.amazonaws.com/SimpleNotificationService-01d088a6f77103d0fe307c0069e40ed6.pem",
        "https://sns.us-gov-west-1.amazonaws.com/SimpleNotificationService-1.pem",
        "https://sns.cn-north-1.amazonaws.com.cn/SimpleNotificationService-1.pem",
        "https://SNS.AP-SOUTHEAST-2.AMAZONAWS.COM/SimpleNotificationService-1.pem",
        "https://sns.us-east-1.amazonaws.com:443/SimpleNotificationService-1.pem",
    ],
)
def test_sns_certificate_urls_of_real_regions_are_fetched_as_given(url: str) -> None:
    envelope = fixture_json("ses_delivery")
    envelope["SigningCertURL"] = url
    fetcher = CertFetcher({url: SNS_CERT})
    assert only(ses(sign_sns(envelope), fetcher=fetcher))[0].type is EventType.MESSAGE_DELIVERED
    assert fetcher.requested == [url]


def test_sns_topic_outside_the_allow_list_is_refused_without_fetching() -> None:
    fetcher = CertFetcher()
    with pytest.raises(WebhookSignatureError, match="topic"):
        ses(
            sign_sns(fixture_json("ses_delivery")),
            fetcher=fetcher,
            allowed_topics=frozenset({"arn:aws:sns:us-east-1:123456789012:another"}),
        )
    assert fetcher.requested == []
    allowed = ses(sign_sns(fixture_json("ses_delivery")), allowed_topics=frozenset({TOPIC}))
    assert only(allowed)[0].type is EventType.MESSAGE_DELIVERED


@pytest.mark.parametrize(
    "cert",
    [
        b"",
        b"-----BEGIN CERTIFICATE-----\nnot really\n-----END CERTIFICATE-----\n",
        b"\x30\x82\x01\x00garbage",
        self_signed(SNS_KEY, start=NOW - timedelta(days=400), end=NOW - timedelta(days=1)),
        self_signed(SNS_KEY, start=NOW + timedelta(days=1), end=NOW + timedelta(days=400)),
    ],
)
def test_sns_unreadable_or_expired_certificate_is_refused(cert: bytes) -> None:
    with pytest.raises(WebhookSignatureError, match="certificate"):
        ses(sign_sns(fixture_json("ses_delivery")), fetcher=CertFetcher({CERT_URL: cert}))


def test_sns_certificate_without_an_rsa_key_is_refused() -> None:
    ec_key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sns.amazonaws.com")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(ec_key.public_key())
        .serial_number(1)
        .not_valid_before(NOW - timedelta(days=1))
        .not_valid_after(NOW + timedelta(days=1))
        .sign(ec_key, hashes.SHA256())
    )
    pem = cert.public_bytes(serialization.Encoding.PEM)
    with pytest.raises(WebhookSignatureError, match="RSA"):
        ses(sign_sns(fixture_json("ses_delivery")), fetcher=CertFetcher({CERT_URL: pem}))


def test_sns_certificate_in_der_form_is_accepted() -> None:
    der = x509.load_pem_x509_certificate(SNS_CERT).public_bytes(serialization.Encoding.DER)
    result = ses(sign_sns(fixture_json("ses_delivery")), fetcher=CertFetcher({CERT_URL: der}))
    assert only(result)[0].type is EventType.MESSAGE_DELIVERED


def test_a_failing_fetch_is_the_callers_problem_and_passes_through() -> None:
    def offline(url: str) -> bytes:
        raise ConnectionError(url)

    with pytest.raises(ConnectionError):
        parse_ses_sns(sns_body(sign_sns(fixture_json("ses_delivery"))), fetch_cert=offline, now=NOW)


def test_sns_subscribe_url_off_an_sns_host_is_refused_even_when_signed() -> None:
    envelope = fixture_json("ses_subscription_confirmation")
    envelope["SubscribeURL"] = "https://evil.example/?Action=ConfirmSubscription"
    with pytest.raises(ValidationError, match="SubscribeURL"):
        ses(sign_sns(envelope))


def test_is_sns_url_accepts_subscribe_urls_with_a_query() -> None:
    url = fixture_json("ses_subscription_confirmation")["SubscribeURL"]
    assert is_sns_url(url)
    assert not is_sns_url(url, pem=True)


# --- SES through SNS: malformed bodies -----------------------------------------------------


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (b"", "is empty"),
        (b"\xc3\x28", "not UTF-8"),
        (b"Type=Notification", "not JSON"),
        (b"[]", "not a JSON object"),
        (b'{"Type": "Notification"}', "lacks the string field Message"),
        (b'{"Type": "Telegram", "Message": "hi"}', "no known Type"),
        (b'{"Message": "hi"}', "no known Type"),
    ],
)
def test_sns_body_of_the_wrong_shape_is_a_validation_error_naming_it(
    body: bytes, problem: str
) -> None:
    fetcher = CertFetcher()
    with pytest.raises(ValidationError, match=problem) as caught:
        parse_ses_sns(body, fetch_cert=fetcher, now=NOW)
    assert not isinstance(caught.value, WebhookSignatureError)
    assert fetcher.requested == []


@pytest.mark.parametrize("field", ["MessageId", "TopicArn", "Timestamp"])
def test_sns_notification_missing_a_signed_field_names_it(field: str) -> None:
    envelope = sign_sns(fixture_json("ses_delivery"))
    del envelope[field]
    with pytest.raises(ValidationError, match=field):
        ses(envelope)


def test_sns_subscription_confirmation_without_token_names_it() -> None:
    envelope = sign_sns(fixture_json("ses_subscription_confirmation"))
    envelope["Token"] = 12
    with pytest.raises(ValidationError, match="Token"):
        ses(envelope)


def test_signed_ses_notification_of_a_known_type_without_recipients_is_unknown() -> None:
    envelope = fixture_json("ses_bounce_permanent")
    notification = json.loads(envelope["Message"])
    notification["bounce"]["bouncedRecipients"] = []
    envelope["Message"] = json.dumps(notification)
    event, message_id = only(ses(sign_sns(envelope)))
    assert event.type is EventType.UNKNOWN
    assert event.reason == "SES Bounce without recipients"
    assert message_id == OUR_MESSAGE_ID


# --- properties ----------------------------------------------------------------------------

json_values: st.SearchStrategy[Any] = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=30)
    | st.sampled_from(
        ["bounce", "dropped", "blocked", "5.7.1", "550 5.1.1 x", ANN, OUR_MESSAGE_ID]
    ),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=20,
)
sendgrid_events: st.SearchStrategy[dict[str, Any]] = st.fixed_dictionaries(
    {},
    optional={
        "event": st.sampled_from(
            ["bounce", "dropped", "delivered", "open", "click", "processed", "x"]
        )
        | json_values,
        "email": st.sampled_from([ANN, "Bo@Other.Example", ""]) | json_values,
        "timestamp": st.integers() | st.floats() | json_values,
        "smtp-id": st.sampled_from([OUR_MESSAGE_ID, "<>", " "]) | json_values,
        "status": st.sampled_from(["5.1.1", "5.0.0", "4.2.2", "5.7.26", "2.0.0"]) | json_values,
        "reason": st.sampled_from(["Bounced Address", "550 5.2.2 full"]) | json_values,
        "type": st.sampled_from(["bounce", "blocked"]) | json_values,
        "url": json_values,
        "sg_event_id": json_values,
    },
)
PROPERTY_SETTINGS = settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@PROPERTY_SETTINGS
@given(st.binary(max_size=2048), st.dictionaries(st.text(max_size=60), st.text(max_size=120)))
def test_arbitrary_unsigned_sendgrid_requests_only_ever_fail_the_signature(
    body: bytes, headers: dict[str, str]
) -> None:
    with pytest.raises(WebhookSignatureError):
        parse_sendgrid(body, headers, public_key_b64=SG_PUBLIC, now=NOW)


@PROPERTY_SETTINGS
@given(st.binary(max_size=2048))
def test_arbitrary_signed_sendgrid_bytes_raise_nothing_but_validation_errors(body: bytes) -> None:
    try:
        result = sendgrid(body)
    except ValidationError:
        return
    assert_well_formed(result, "sendgrid")


@PROPERTY_SETTINGS
@given(st.lists(sendgrid_events | json_values, max_size=5))
def test_arbitrary_signed_sendgrid_batches_map_or_name_their_shape_problem(
    items: list[Any],
) -> None:
    body = json.dumps(items).encode()
    if not all(isinstance(item, dict) for item in items):
        with pytest.raises(ValidationError, match="is not an object"):
            sendgrid(body)
        return
    result = sendgrid(body)
    assert_well_formed(result, "sendgrid")
    assert len(result.events) + len(result.skipped) == len(items)


@PROPERTY_SETTINGS
@given(st.binary(max_size=2048))
def test_arbitrary_sns_bytes_raise_nothing_but_validation_errors(body: bytes) -> None:
    fetcher = CertFetcher()
    try:
        result = parse_ses_sns(body, fetch_cert=fetcher, now=NOW)
    except ValidationError:
        return
    assert_well_formed(result, "ses")  # pragma: no cover - random bytes never carry a signature


@PROPERTY_SETTINGS
@given(
    st.sampled_from(
        [
            p.stem
            for p in sorted(FIXTURES.glob("ses_*.json"))
            if "confirmation" not in p.stem and p.stem != "ses_not_ses_message"
        ]
    ),
    st.data(),
)
def test_signed_sns_notifications_with_arbitrary_ses_content_never_raise(
    fixture: str, data: st.DataObject
) -> None:
    envelope = fixture_json(fixture)
    notification = json.loads(envelope["Message"])
    section = data.draw(st.sampled_from(sorted(notification)))
    if isinstance(notification[section], dict) and data.draw(st.booleans()):
        for name in sorted(notification[section]):  # one field at a time: deeper coverage
            if data.draw(st.booleans()):
                notification[section][name] = data.draw(json_values)
    else:
        notification[section] = data.draw(json_values)
    if isinstance(notification["mail"], dict) and data.draw(st.booleans()):
        notification["mail"]["headers"] = data.draw(json_values)
    envelope["Message"] = data.draw(
        st.sampled_from([json.dumps(notification)]) | st.text(max_size=200)
    )
    result = ses(sign_sns(envelope))
    assert_well_formed(result, "ses")
