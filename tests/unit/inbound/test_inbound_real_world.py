"""One test per cause of real-world mail being misread (samples from the public corpus).

Where a case needs a variant the corpus lacks (a damaged boundary, a missing sender, an
Exim retry timeout), the variant is made from a real sample by the one change named.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from aicmo.cam.domain.events import EventType
from aicmo.cam.inbound import InboundKind, InboundResult, classify_message

CORPUS = Path(__file__).resolve().parents[2] / "fixtures" / "mail" / "corpus"
RECEIVED = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def sample(name: str) -> bytes:
    return (CORPUS / name).read_bytes()


def classify(raw: bytes) -> InboundResult:
    return classify_message(raw, RECEIVED)


def outcome(result: InboundResult) -> list[tuple[EventType, str | None]]:
    return [(e.type, e.recipient) for e in result.events]


# Non-replies that were taken for replies ----------------------------------------------------


def test_carrier_gateway_failure_note_from_post_master_is_a_bounce_not_a_reply() -> None:
    # Verizon's SMS gateway: ordinary From, "Re:" subject, no DSN part, our id in In-Reply-To.
    result = classify(sample("hard/sisimai-us-verizon-1.eml"))

    assert result.kind is InboundKind.BOUNCE
    assert outcome(result) == [(EventType.BOUNCED_HARD, "000000000000@vtext.com")]
    assert "<00000000000000.00000.qmail@example.com>" in result.references


def test_carrier_no_reply_notice_in_japanese_is_a_bounce_not_a_reply() -> None:
    # au (KDDI): From no-reply@, ISO-2022-JP text "mailbox full", the original attached.
    result = classify(sample("soft/sisimai-jp-kddi-01.eml"))

    assert result.kind is InboundKind.BOUNCE
    assert outcome(result) == [(EventType.BOUNCED_SOFT, "kijitora@x0000000000000.dion.ne.jp")]


def test_bounce_subject_with_failure_words_but_no_code_is_a_bounce_not_a_reply() -> None:
    # A gateway's "Returned Mail" and a virus scanner's "Delivery failure notification":
    # a person's address as sender, no status code, no attached original.
    hard = classify(sample("hard/flufl-bounce_02.eml"))
    delayed = classify(sample("delay/flufl-simple_22.eml"))

    assert outcome(hard) == [(EventType.BOUNCED_HARD, "userx@example.com")]
    assert outcome(delayed) == [(EventType.BOUNCED_SOFT, "user@example.org")]
    assert delayed.events[0].detail["action"] == "delayed"


def test_ses_notification_delivered_by_email_is_a_complaint_not_a_reply() -> None:
    result = classify(sample("complaint/sisimai-ced-us-amazonses-03.eml"))

    assert result.kind is InboundKind.COMPLAINT
    assert outcome(result) == [(EventType.COMPLAINED, "complaint@simulator.amazonses.com")]


def test_ses_bounce_delivered_by_email_is_a_hard_bounce() -> None:
    # The JSON is broken by the SNS mailer ("!" + line end + space) inside a header name.
    result = classify(sample("hard/sisimai-ced-us-amazonses-01.eml"))

    assert outcome(result) == [(EventType.BOUNCED_HARD, "bounce@simulator.amazonses.com")]


# Provider notices read as auto-replies or left unknown ---------------------------------------


def test_mailbox_providers_unsubscribe_mail_is_an_opt_out_not_an_auto_reply() -> None:
    result = classify(sample("optout/sisimai-arf-26.eml"))

    assert result.kind is InboundKind.UNSUBSCRIBE_REQUEST
    assert outcome(result) == [(EventType.UNSUBSCRIBED, "example@icloud.com")]


def test_dmarc_failure_report_is_an_authentication_failure_not_a_complaint() -> None:
    result = classify(sample("auth_failure/sisimai-arf-07.eml"))

    assert result.kind is InboundKind.AUTH_FAILURE_REPORT
    assert outcome(result) == [(EventType.AUTH_FAILURE_REPORTED, None)]
    detail = result.events[0].detail
    assert detail["auth_failure"] == "dmarc" and detail["reported_domain"] == "example.net"
    assert result.references == ("<105855309.1523556.1415796020873@example.net>",)


# Structure that fails: the text decides ----------------------------------------------------


def test_lotus_notes_report_in_iso_2022_jp_names_the_failed_recipient() -> None:
    result = classify(sample("hard/sisimai-notes-02.eml"))

    assert outcome(result) == [(EventType.BOUNCED_HARD, "kijitora@u1.example.co.jp")]


def test_report_whose_mime_boundary_is_broken_is_read_from_its_text() -> None:
    raw = sample("hard/sisimai-rhost-apple-01.eml")
    broken = raw.replace(
        b'boundary="RnJpIEp1bCAxMyAyMjowNzoyMyBKU1QgMjAxOAo="', b'boundary="anonymised"'
    )
    assert broken != raw

    result = classify(broken)

    assert outcome(result) == [(EventType.BOUNCED_HARD, "kijitora@example.jp")]


def test_report_without_a_sender_address_is_still_a_bounce() -> None:
    raw = sample("hard/sisimai-notes-03.eml")
    anonymous = raw.replace(b"From: POSTMASTER@smtp-gw6-01.example.com\n", b"")
    assert anonymous != raw

    result = classify(anonymous)

    assert outcome(result) == [(EventType.BOUNCED_HARD, "kijitora@example.com")]


def test_error_delivering_your_mail_to_names_the_recipient() -> None:
    result = classify(sample("hard/sisimai-lhost-dragonfly-01.eml"))

    assert outcome(result) == [(EventType.BOUNCED_HARD, "pseudo-local-part@google.example.com")]
    assert result.events[0].detail["status"] == "5.7.26"


def test_failed_address_that_is_also_the_bounces_to_is_still_the_recipient() -> None:
    raw = sample("hard/sisimai-lhost-dragonfly-01.eml")
    to_failed = raw.replace(
        b"To: kijitora@df.example.jp\r\n", b"To: pseudo-local-part@google.example.com\r\n"
    )
    assert to_failed != raw

    result = classify(to_failed)

    assert outcome(result) == [(EventType.BOUNCED_HARD, "pseudo-local-part@google.example.com")]


def test_message_id_in_a_pasted_original_is_never_a_failed_recipient() -> None:
    result = classify(sample("hard/sisimai-email-zoho-01.eml"))

    assert outcome(result) == [(EventType.BOUNCED_HARD, "kijitora@example.co.jp")]


# Severity ------------------------------------------------------------------------------------


def test_exim_failure_after_the_retry_period_is_a_soft_bounce() -> None:
    raw = sample("hard/sisimai-email-exim-30.eml")
    expired = raw.replace(
        b"    SMTP error from remote mail server after RCPT TO:<kijitora@exmaple.ch>:\n"
        b"    host mx1.example.eu [192.0.2.32]: 554 5.7.1 <kijitora@exmaple.ch>:\n"
        b"    Recipient address rejected: Access denied\n",
        b"    retry timeout exceeded\n",
    )
    assert expired != raw

    result = classify(expired)

    assert outcome(result) == [(EventType.BOUNCED_SOFT, "kijitora@exmaple.ch")]


def test_dsn_failure_whose_diagnostic_says_retry_timeout_is_soft() -> None:
    raw = sample("hard/sisimai-rhost-apple-01.eml")
    expired = raw.replace(b"Status: 5.1.6\r\n", b"Status: 5.0.0\r\n").replace(
        b"Diagnostic-Code: smtp; 550 5.1.6 recipient no longer on server: kijitora@example.jp",
        b"Diagnostic-Code: smtp; 450 TEMPERROR: retry timeout exceeded",
    )
    assert expired.count(b"retry timeout exceeded") == 1

    result = classify(expired)

    assert outcome(result) == [(EventType.BOUNCED_SOFT, "kijitora@example.jp")]


def test_delay_notice_marked_delay_is_a_delay_not_unknown() -> None:
    raw = sample("hard/sisimai-us-zoho-03.eml")
    delayed = raw.replace(b" This is a permanent error. \n", b" (Delay)\n").replace(
        b"ERROR_CODE :550, ERROR_CODE :Requested action not taken: mailbox unavailable",
        b"ERROR_CODE :421, ERROR_CODE :4.4.2 connection dropped, will retry",
    )
    assert delayed.count(b"(Delay)") == 1

    result = classify(delayed)

    assert outcome(result) == [(EventType.BOUNCED_SOFT, "shironeko@example.org")]
    assert result.events[0].detail["action"] == "delayed"


def test_robot_notice_naming_nobody_is_a_soft_bounce_found_by_our_message_id() -> None:
    """Never a reply; but words alone, without an address or a code, do not kill one."""
    raw = (
        b"From: Mail Gateway <no-reply@gateway.carrier.example>\r\n"
        b"To: alex@aicmo.example\r\nSubject: Re: Quick question\r\n"
        b"In-Reply-To: <attempt-9@aicmo.example>\r\nMessage-ID: <n1@gateway.carrier.example>\r\n"
        b"\r\nYour message could not be delivered.\r\n"
    )

    result = classify(raw)

    assert result.kind is InboundKind.BOUNCE
    assert outcome(result) == [(EventType.BOUNCED_SOFT, None)]
    assert result.references == ("<attempt-9@aicmo.example>",)
