"""The classification rules that protect a sequence from robots and from its own mail."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from aicmo.cam.domain.events import EventType
from aicmo.cam.domain.messages import ChannelType
from aicmo.cam.inbound import InboundKind, InboundResult, classify_message
from aicmo.cam.inbound.classify import RAW_LIMIT

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "mail"
FIXTURE_NAMES = sorted(p.name for p in FIXTURES.glob("*.eml"))
RECEIVED = datetime(2026, 11, 3, 21, 0, tzinfo=UTC)
OURS = frozenset({"alex@aicmo.example"})

BOUNCE_FIXTURES = [
    "amazon_ses_bounce.eml",
    "exim_classic_user_unknown.eml",
    "exim_dsn_user_unknown.eml",
    "exchange_text_ndr_recipnotfound.eml",
    "gmail_dsn_address_not_found.eml",
    "mailbox_full_5_2_2.eml",
    "office365_ndr_recipient_not_found.eml",
    "postfix_delayed_4_4_1.eml",
    "postfix_dsn_user_unknown.eml",
    "qmail_no_mailbox.eml",
    "sendmail_dsn_user_unknown.eml",
    "sendmail_legacy_user_unknown.eml",
    "spam_block_5_7_1.eml",
    "yahoo_dd_no_account.eml",
]


def mail(*headers: str, body: str = "Hi Alex,\n\nThanks, interested.\n\nJane\n") -> bytes:
    """A small message; headers default to a plain reply from a lead."""
    defaults = {
        "from": "From: Jane Doe <jane.doe@example.org>",
        "to": "To: Alex Martin <alex@aicmo.example>",
        "subject": "Subject: Re: Quick question about your Q4 hiring plans",
        "message-id": "Message-ID: <reply.1@example.org>",
        "in-reply-to": "In-Reply-To: <attempt-42.xyz@aicmo.example>",
    }
    for header in headers:
        defaults[header.split(":", 1)[0].strip().lower()] = header
    lines = [h for h in defaults.values() if h.split(":", 1)[1].strip() != "<omit>"]
    return ("\n".join(lines) + "\n\n" + body).encode("utf-8")


def classify(raw: bytes, *, our_addresses: frozenset[str] = OURS) -> InboundResult:
    return classify_message(raw, RECEIVED, our_addresses=our_addresses)


def load(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


# Auto-replies are never replies ---------------------------------------------------------------


@pytest.mark.parametrize(
    "header",
    [
        "Auto-Submitted: auto-replied",
        "Auto-Submitted: auto-generated",
        "Auto-Submitted: auto-notified; owner-email=jane.doe@example.org",
        "X-Autoreply: yes",
        "X-Autorespond: Out of office",
        "X-Auto-Response-Suppress: OOF, AutoReply",
        "X-Auto-Response-Suppress: All",
        "Precedence: auto_reply",
        "Precedence: bulk",
        "Precedence: junk",
        "Precedence: list",
    ],
)
def test_out_of_office_answering_in_thread_is_not_a_reply(header: str) -> None:
    raw = mail(header, body="I am out of the office until 3 December.\n")

    result = classify(raw)

    assert result.kind is InboundKind.AUTO_REPLY
    assert [e.type for e in result.events] == [EventType.AUTO_REPLY_RECEIVED]
    assert result.references == ("<attempt-42.xyz@aicmo.example>",)
    assert result.events[0].detail["return_date"] == "2026-12-03"


@pytest.mark.parametrize(
    "subject",
    [
        "Out of Office: Quick question",
        "Automatic reply: Quick question",
        "Auto: Quick question",
        "AutoReply: Quick question",
        "Abwesenheitsnotiz: Kurze Frage",
        "Réponse automatique : Question rapide",
        "Absence : Question rapide",
        "Fuera de la oficina",
        "Respuesta automática: Pregunta rápida",
        "Afwezigheidsbericht: Korte vraag",
        "Automatisch antwoord: Korte vraag",
        "Resposta automática: Pergunta rápida",
        "Fora do escritório",
        "Risposta automatica: Domanda veloce",
        "=?utf-8?q?R=C3=A9ponse_automatique_=3A_Question_rapide?=",
    ],
)
def test_auto_reply_subjects_in_several_languages_are_auto_replies(subject: str) -> None:
    result = classify(mail(f"Subject: {subject}"))

    assert result.kind is InboundKind.AUTO_REPLY
    assert result.events[0].detail["signals"] == ["subject"]


@pytest.mark.parametrize(
    "header",
    [
        "Auto-Submitted: no",
        "X-Auto-Response-Suppress: DR, RN, NRN",
        "Precedence: first-class",
        "Subject: Re: Absence of data in the Q4 report",
    ],
)
def test_headers_that_do_not_announce_a_robot_leave_a_reply(header: str) -> None:
    assert classify(mail(header)).kind is InboundKind.REPLY


def test_person_saying_they_are_out_of_the_office_is_still_a_reply() -> None:
    body = "I'm out of the office until Monday, but yes, let's talk next week.\n"

    assert classify(mail(body=body)).kind is InboundKind.REPLY


AUTO_SUBMITTED_BOUNCES = [
    n for n in BOUNCE_FIXTURES if b"Auto-Submitted:" in (FIXTURES / n).read_bytes()
]


def test_most_bounce_fixtures_carry_auto_submitted_like_real_ones() -> None:
    assert len(AUTO_SUBMITTED_BOUNCES) >= 8


@pytest.mark.parametrize("name", AUTO_SUBMITTED_BOUNCES)
def test_bounce_carrying_auto_submitted_is_never_an_auto_reply(name: str) -> None:
    result = classify(load(name))

    assert result.kind is InboundKind.BOUNCE
    assert all(e.type in {EventType.BOUNCED_HARD, EventType.BOUNCED_SOFT} for e in result.events)


@pytest.mark.parametrize("name", BOUNCE_FIXTURES)
def test_bounce_is_a_bounce_whether_or_not_we_name_our_addresses(name: str) -> None:
    with_ours = classify(load(name))
    without = classify(load(name), our_addresses=frozenset())

    assert with_ours.kind is without.kind is InboundKind.BOUNCE
    assert [e.recipient for e in with_ours.events] == [e.recipient for e in without.events]


# Opt-outs are read from the new text only ---------------------------------------------------


def test_quoted_footer_with_unsubscribe_is_not_an_unsubscribe_request() -> None:
    body = (
        "Sounds good, let's talk Thursday.\n\n"
        "On Tue, Nov 3, 2026 at 10:02 AM Alex Martin <alex@aicmo.example> wrote:\n"
        "> Would a 15-minute call be useful?\n"
        "> --\n"
        '> To unsubscribe, reply "unsubscribe" or visit https://aicmo.example/u/1\n'
    )

    result = classify(mail(body=body))

    assert result.kind is InboundKind.REPLY
    assert result.reply_text == "Sounds good, let's talk Thursday."


def test_unquoted_footer_below_an_outlook_header_is_not_an_unsubscribe_request() -> None:
    body = (
        "Thursday works.\n\n"
        "From: Alex Martin <alex@aicmo.example>\n"
        "Sent: Tuesday, November 3, 2026 10:02 AM\n"
        "To: Jane Doe <jane.doe@example.org>\n"
        "Subject: Quick question\n\n"
        "To unsubscribe, reply unsubscribe.\n"
    )

    assert classify(mail(body=body)).kind is InboundKind.REPLY


@pytest.mark.parametrize(
    ("subject", "body"),
    [
        ("Subject: Unsubscribe", ""),
        ("Subject: RE: remove me", "\n"),
        ("Subject: Re: Quick question", "Please remove me from your list.\n"),
        ("Subject: Re: Quick question", "Hi,\n\nNot interested, remove my email please.\n"),
        ("Subject: Re: Quick question", "STOP\n"),
        ("Subject: Re: Quick question", "Bitte tragen Sie mich aus, ich möchte mich abmelden.\n"),
        ("Subject: Re: Quick question", "Por favor, darme de baja de esta lista.\n"),
        ("Subject: Re: Quick question", "Graag uitschrijven.\n"),
        ("Subject: Re: Quick question", "Quero cancelar inscrição.\n"),
        ("Subject: Re: Quick question", "Cancellami dalla lista, grazie.\n"),
    ],
)
def test_request_to_stop_in_subject_or_opening_lines_is_an_unsubscribe_request(
    subject: str, body: str
) -> None:
    result = classify(mail(subject, body=body))

    assert result.kind is InboundKind.UNSUBSCRIBE_REQUEST
    assert [e.type for e in result.events] == [EventType.UNSUBSCRIBED]
    assert result.events[0].recipient == "jane.doe@example.org"


def test_opt_out_after_the_opening_lines_is_left_to_a_human() -> None:
    body = "Hi Alex,\n\n" + "".join(f"Point {i} about our roadmap.\n" for i in range(8))
    body += "Also, how does your unsubscribe handling work for GDPR?\n"

    assert classify(mail(body=body)).kind is InboundKind.REPLY


# Our own mail -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "ours",
    [
        frozenset({"alex@aicmo.example"}),
        frozenset({"ALEX@aicmo.example"}),
        frozenset({"<alex@aicmo.example>"}),
        frozenset({"sdr@example.net", "alex@aicmo.example"}),
    ],
)
def test_message_from_one_of_our_mailboxes_is_unknown_own_message(ours: frozenset[str]) -> None:
    raw = mail("From: Alex Martin <Alex@AICMO.example>")

    result = classify(raw, our_addresses=ours)

    assert result.kind is InboundKind.UNKNOWN
    assert result.events[0].reason == "own message"


def test_a_lead_on_our_own_domain_is_a_person_not_our_own_mail() -> None:
    """A mailbox on a shared provider domain (gmail.com) shares it with leads."""
    raw = mail("From: Sam Lee <sam.lee@aicmo.example>", body="Please remove me from your list.\n")

    result = classify(raw)

    assert result.kind is InboundKind.UNSUBSCRIBE_REQUEST
    assert result.events[0].recipient == "sam.lee@aicmo.example"


def test_message_from_a_colleague_on_our_domain_is_not_taken_for_ours() -> None:
    raw = mail("From: Outreach <sdr@outreach.aicmo.example>")

    assert classify(raw).kind is InboundKind.REPLY


def test_without_our_addresses_our_own_message_reads_as_a_reply() -> None:
    raw = load("own_sent_copy.eml")

    assert classify(raw, our_addresses=frozenset()).kind is InboundKind.REPLY


# Replies and what they carry --------------------------------------------------------------------


def test_message_without_thread_headers_is_still_a_reply() -> None:
    raw = mail("In-Reply-To: <omit>", "Subject: Saw your post")

    result = classify(raw)

    assert result.kind is InboundKind.REPLY
    assert result.references == ()


def test_references_list_in_reply_to_first_without_duplicates() -> None:
    raw = mail(
        "In-Reply-To: <b@aicmo.example>",
        "References: <a@aicmo.example>\n <b@aicmo.example>",
    )

    assert classify(raw).references == ("<b@aicmo.example>", "<a@aicmo.example>")


def test_encoded_word_sender_and_subject_are_decoded() -> None:
    raw = mail(
        "From: =?utf-8?b?SsOpcsO0bWUgRHVwb250?= <Jerome.Dupont@Example.ORG>",
        "Subject: =?iso-8859-1?q?Re=3A_Caf=E9?=",
    )

    result = classify(raw)

    assert result.from_address == "jerome.dupont@example.org"
    assert result.subject == "Re: Café"


def test_every_fixture_event_is_an_email_event_from_imap_at_the_receive_time() -> None:
    for name in FIXTURE_NAMES:
        for event in classify(load(name)).events:
            assert event.channel is ChannelType.EMAIL, name
            assert event.source == "imap", name
            assert event.occurred_at == RECEIVED, name


# Bounce details -------------------------------------------------------------------------------


def _dsn(blocks: str) -> bytes:
    return (
        "From: MAILER-DAEMON@mail.aicmo.example\n"
        "To: alex@aicmo.example\n"
        "Subject: Undelivered Mail Returned to Sender\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="b"\n\n'
        "--b\nContent-Type: text/plain\n\nSee below.\n\n"
        "--b\nContent-Type: message/delivery-status\n\n"
        "Reporting-MTA: dns; mail.aicmo.example\n\n"
        f"{blocks}\n"
        "--b\nContent-Type: text/rfc822-headers\n\n"
        "From: alex@aicmo.example\nTo: lead@example.org\nMessage-ID: <attempt-9@aicmo.example>\n"
        "\n--b--\n"
    ).encode()


def test_dsn_reports_each_failed_recipient_and_skips_the_delivered_ones() -> None:
    raw = _dsn(
        "Final-Recipient: rfc822; a@example.org\nAction: failed\nStatus: 5.1.1\n\n"
        "Final-Recipient: rfc822; b@example.org\nAction: delivered\nStatus: 2.0.0\n\n"
        "Final-Recipient: rfc822; c@example.org\nAction: failed\nStatus: 4.2.2\n"
    )

    result = classify(raw)

    assert result.kind is InboundKind.BOUNCE
    assert [(e.type, e.recipient) for e in result.events] == [
        (EventType.BOUNCED_HARD, "a@example.org"),
        (EventType.BOUNCED_SOFT, "c@example.org"),
    ]
    assert result.references == ("<attempt-9@aicmo.example>",)


def test_original_recipient_is_preferred_to_the_final_one_after_forwarding() -> None:
    raw = _dsn(
        "Original-Recipient: rfc822; Lead@Example.org\n"
        "Final-Recipient: rfc822; lead.alias@mail.example.org\n"
        "Action: failed\nStatus: 5.2.1\n"
    )

    event = classify(raw).events[0]

    assert event.recipient == "lead@example.org"
    assert event.detail["final_recipient"] == "lead.alias@mail.example.org"
    assert event.type is EventType.BOUNCED_HARD


def test_dsn_without_final_recipient_falls_back_to_the_attached_to_address() -> None:
    raw = _dsn("Action: failed\nStatus: 5.1.1\n")

    assert classify(raw).events[0].recipient == "lead@example.org"


def test_daemon_mail_that_names_no_failure_is_unknown_and_kept_for_a_human() -> None:
    raw = mail(
        "From: postmaster@example.org",
        "Subject: Your mail server",
        "In-Reply-To: <omit>",
        body="Hello, please check your reverse DNS.\n",
    )

    result = classify(raw)

    assert result.kind is InboundKind.UNKNOWN
    assert result.events[0].reason == "unrecognised delivery notification"
    assert result.events[0].raw


def test_human_reply_that_looks_like_a_qmail_intro_is_not_a_bounce() -> None:
    body = (
        "Hi. This is the head of engineering at Example Org.\n\n"
        "<jane.doe@example.org>: please use this address from now on.\n"
    )

    assert classify(mail(body=body)).kind is InboundKind.REPLY


# Feedback-report types -------------------------------------------------------------------------


def _arf(feedback_type: str) -> bytes:
    return (
        "From: fbl@feedback.example.net\nTo: fbl@aicmo.example\nSubject: FBL report\n"
        'Content-Type: multipart/report; report-type=feedback-report; boundary="b"\n\n'
        "--b\nContent-Type: text/plain\n\nReport.\n\n"
        "--b\nContent-Type: message/feedback-report\n\n"
        f"Feedback-Type: {feedback_type}\nUser-Agent: ExampleFBL/1\nVersion: 1\n"
        "Original-Rcpt-To: <lead@example.net>\n\n"
        "--b\nContent-Type: message/rfc822\n\n"
        "From: alex@aicmo.example\nTo: lead@example.net\nMessage-ID: <attempt-7@aicmo.example>\n"
        "\nHello\n--b--\n"
    ).encode()


@pytest.mark.parametrize("feedback_type", ["abuse", "fraud", "other", "ABUSE"])
def test_complaint_feedback_types_are_complaints(feedback_type: str) -> None:
    result = classify(_arf(feedback_type))

    assert result.kind is InboundKind.COMPLAINT
    assert [(e.type, e.recipient) for e in result.events] == [
        (EventType.COMPLAINED, "lead@example.net")
    ]
    assert result.references == ("<attempt-7@aicmo.example>",)


def test_opt_out_feedback_is_an_unsubscribe() -> None:
    result = classify(_arf("opt-out"))

    assert result.kind is InboundKind.UNSUBSCRIBE_REQUEST
    assert result.events[0].type is EventType.UNSUBSCRIBED


@pytest.mark.parametrize("feedback_type", ["not-spam", "virus"])
def test_feedback_that_is_no_complaint_is_unknown(feedback_type: str) -> None:
    result = classify(_arf(feedback_type))

    assert result.kind is InboundKind.UNKNOWN
    assert result.events[0].detail["feedback_type"] == feedback_type


def test_auth_failure_feedback_is_an_authentication_failure_not_a_complaint() -> None:
    result = classify(_arf("auth-failure"))

    assert result.kind is InboundKind.AUTH_FAILURE_REPORT
    assert [e.type for e in result.events] == [EventType.AUTH_FAILURE_REPORTED]
    assert result.events[0].recipient is None
    assert result.references == ("<attempt-7@aicmo.example>",)


# Line endings and raw text ---------------------------------------------------------------------


def _without_raw(result: InboundResult) -> InboundResult:
    return replace(result, events=tuple(replace(e, raw=None) for e in result.events))


@pytest.mark.parametrize("name", FIXTURE_NAMES)
def test_crlf_and_lf_versions_of_a_fixture_classify_the_same(name: str) -> None:
    raw = load(name)
    lf = raw.replace(b"\r\n", b"\n")
    crlf = lf.replace(b"\n", b"\r\n")

    assert _without_raw(classify(lf)) == _without_raw(classify(crlf))


def test_at_least_half_of_the_fixtures_use_crlf_line_endings() -> None:
    crlf = [name for name in FIXTURE_NAMES if b"\r\n" in load(name)]

    assert len(FIXTURE_NAMES) >= 14
    assert len(crlf) * 2 >= len(FIXTURE_NAMES)


def test_unknown_keeps_the_raw_message_truncated_to_64_kib() -> None:
    raw = b"Subject: no sender here\n\n" + b"x" * (RAW_LIMIT * 2)

    result = classify(raw)

    assert result.kind is InboundKind.UNKNOWN
    assert result.events[0].reason == "unparseable: no sender address"
    assert result.events[0].raw is not None
    assert len(result.events[0].raw) == RAW_LIMIT
    assert result.events[0].raw.startswith("Subject: no sender here")
