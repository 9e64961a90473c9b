"""One test per sample in tests/fixtures/mail: what real MTAs and mail clients send."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from aicmo.cam.domain.events import EventType
from aicmo.cam.domain.messages import ChannelType
from aicmo.cam.inbound import InboundKind, InboundResult, classify_message

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "mail"
RECEIVED = datetime(2026, 11, 3, 21, 0, tzinfo=UTC)
OURS = frozenset({"alex@aicmo.example"})


def classify(name: str, *, received_at: datetime = RECEIVED) -> InboundResult:
    return classify_message((FIXTURES / name).read_bytes(), received_at, our_addresses=OURS)


def only_event_type(result: InboundResult) -> EventType:
    assert len(result.events) == 1, result.events
    return result.events[0].type


# Standard delivery status notifications (RFC 3464) ------------------------------------------


def test_postfix_dsn_is_a_hard_bounce_for_the_unknown_user() -> None:
    result = classify("postfix_dsn_user_unknown.eml")

    assert result.kind is InboundKind.BOUNCE
    assert only_event_type(result) is EventType.BOUNCED_HARD
    event = result.events[0]
    assert event.recipient == "jane.doe@example.org"
    assert event.detail["status"] == "5.1.1"
    assert event.detail["reporting_mta"] == "mail.aicmo.example"
    assert event.detail["remote_mta"] == "mx1.example.org"
    assert "User unknown in virtual mailbox table" in event.detail["diagnostic"]
    assert event.reason is not None
    assert event.reason.startswith("5.1.1 ")
    assert event.channel is ChannelType.EMAIL
    assert event.source == "imap"
    assert event.occurred_at == RECEIVED
    assert "<attempt-42.xyz@aicmo.example>" in result.references


def test_postfix_delay_warning_is_a_soft_bounce_matched_through_the_attached_headers() -> None:
    result = classify("postfix_delayed_4_4_1.eml")

    assert result.kind is InboundKind.BOUNCE
    assert only_event_type(result) is EventType.BOUNCED_SOFT
    event = result.events[0]
    assert event.recipient == "sam.lee@example.net"
    assert event.detail["status"] == "4.4.1"
    assert event.detail["action"] == "delayed"
    assert "Connection timed out" in event.detail["diagnostic"]
    assert result.references == ("<attempt-43.xyz@aicmo.example>",)


def test_exim_dsn_takes_the_precise_status_from_the_diagnostic_over_5_0_0() -> None:
    result = classify("exim_dsn_user_unknown.eml")

    assert result.kind is InboundKind.BOUNCE
    assert only_event_type(result) is EventType.BOUNCED_HARD
    event = result.events[0]
    assert event.recipient == "tom.becker@example.net"
    assert event.detail["status"] == "5.1.1"
    assert event.detail["remote_mta"] == "mx01.example.net"
    assert "<attempt-45.xyz@aicmo.example>" in result.references


def test_exchange_ndr_is_a_hard_bounce_for_the_failed_recipient() -> None:
    result = classify("office365_ndr_recipient_not_found.eml")

    assert result.kind is InboundKind.BOUNCE
    assert only_event_type(result) is EventType.BOUNCED_HARD
    event = result.events[0]
    assert event.recipient == "maria.garcia@example.com"
    assert event.detail["status"] == "5.1.10"
    assert "RESOLVER.ADR.RecipientNotFound" in event.detail["diagnostic"]
    assert event.detail["policy"] is False
    assert result.references == ("<attempt-46.xyz@aicmo.example>",)
    assert result.subject.startswith("Undeliverable: ")


def test_gmail_delivery_status_notification_is_a_hard_bounce_with_a_readable_diagnostic() -> None:
    result = classify("gmail_dsn_address_not_found.eml")

    assert result.kind is InboundKind.BOUNCE
    assert only_event_type(result) is EventType.BOUNCED_HARD
    event = result.events[0]
    assert event.recipient == "chris.novak@example.org"
    assert event.detail["status"] == "5.1.1"
    assert event.detail["remote_mta"] == "aspmx.l.google.example"
    diagnostic = event.detail["diagnostic"]
    assert diagnostic.startswith("550-5.1.1 The email account that you tried to reach does not")
    assert "550-5.1.1 double-checking" not in diagnostic  # continuation codes squashed
    assert result.references == ("<attempt-47.xyz@aicmo.example>",)


def test_sendmail_dsn_is_a_hard_bounce() -> None:
    result = classify("sendmail_dsn_user_unknown.eml")

    assert result.kind is InboundKind.BOUNCE
    assert only_event_type(result) is EventType.BOUNCED_HARD
    event = result.events[0]
    assert event.recipient == "omar.haddad@example.org"
    assert event.detail["status"] == "5.1.1"
    assert event.detail["diagnostic_type"] == "smtp"
    assert "<attempt-50.xyz@aicmo.example>" in result.references


def test_amazon_ses_bounce_is_a_hard_bounce() -> None:
    result = classify("amazon_ses_bounce.eml")

    assert result.kind is InboundKind.BOUNCE
    assert only_event_type(result) is EventType.BOUNCED_HARD
    event = result.events[0]
    assert event.recipient == "liam.obrien@example.com"
    assert event.detail["status"] == "5.1.1"
    assert event.detail["reporting_mta"] == "a27-30.smtp-out.us-west-2.amazonses.example"
    assert result.references == ("<attempt-52.xyz@aicmo.example>",)


def test_spam_block_is_a_hard_bounce_flagged_as_policy() -> None:
    result = classify("spam_block_5_7_1.eml")

    assert result.kind is InboundKind.BOUNCE
    assert only_event_type(result) is EventType.BOUNCED_HARD
    event = result.events[0]
    assert event.recipient == "ella.kim@example.com"
    assert event.detail["status"] == "5.7.1"
    assert event.detail["policy"] is True
    assert "likely unsolicited mail" in event.detail["diagnostic"]
    assert "<attempt-54.xyz@aicmo.example>" in result.references


def test_success_dsn_reports_no_bounce() -> None:
    result = classify("postfix_dsn_relayed_success.eml")

    assert result.kind is InboundKind.UNKNOWN
    assert only_event_type(result) is EventType.UNKNOWN
    event = result.events[0]
    assert event.reason == "delivery report without failures"
    assert event.detail["actions"] == ["relayed"]
    assert event.raw
    assert "<attempt-68.xyz@aicmo.example>" in result.references


# Bounces without a DSN part: flufl.bounce detectors plus status codes read from the text --


def test_classic_exim_bounce_without_dsn_is_a_hard_bounce_found_by_the_heuristics() -> None:
    result = classify("exim_classic_user_unknown.eml")

    assert result.kind is InboundKind.BOUNCE
    assert only_event_type(result) is EventType.BOUNCED_HARD
    event = result.events[0]
    assert event.recipient == "priya.shah@example.com"
    assert event.detail["status"] == "5.1.1"
    assert event.detail["format"] == "heuristic"
    assert event.detail["remote_mta"] == "mx.example.com"
    assert result.references == ("<attempt-44.xyz@aicmo.example>",)


def test_mailbox_full_is_a_soft_bounce_even_with_a_5_class_code() -> None:
    result = classify("mailbox_full_5_2_2.eml")

    assert result.kind is InboundKind.BOUNCE
    assert only_event_type(result) is EventType.BOUNCED_SOFT
    event = result.events[0]
    assert event.recipient == "zoe.martin@example.org"
    assert event.detail["status"] == "5.2.2"
    # The three lines of the multi-line SMTP reply are joined into one diagnostic.
    assert (
        "out of storage space. Please direct the recipient to https://"
        in (event.detail["diagnostic"])
    )
    assert result.references == ("<attempt-53.xyz@aicmo.example>",)


def test_yahoo_dd_bounce_infers_user_unknown_from_a_bare_554() -> None:
    result = classify("yahoo_dd_no_account.eml")

    assert result.kind is InboundKind.BOUNCE
    assert only_event_type(result) is EventType.BOUNCED_HARD
    event = result.events[0]
    assert event.recipient == "kim.lo@yahoo.example"
    assert event.detail["status"] == "5.1.1"
    assert event.detail["status_inferred"] is True
    assert "dd This user doesn't have a yahoo.example account" in event.detail["diagnostic"]
    assert result.references == ("<attempt-48.xyz@aicmo.example>",)


def test_qmail_bounce_reads_the_hash_status_code() -> None:
    result = classify("qmail_no_mailbox.eml")

    assert result.kind is InboundKind.BOUNCE
    assert only_event_type(result) is EventType.BOUNCED_HARD
    event = result.events[0]
    assert event.recipient == "lena.fischer@example.net"
    assert event.detail["status"] == "5.1.1"
    assert event.detail["diagnostic"] == "Sorry, no mailbox here by that name. (#5.1.1)"
    assert event.detail["reporting_mta"] == "mail.example.net"
    assert result.message_id is None  # qmail adds none
    assert result.references == ("<attempt-49.xyz@aicmo.example>",)


def test_exchange_text_ndr_without_report_part_names_the_only_failed_address() -> None:
    result = classify("exchange_text_ndr_recipnotfound.eml")

    assert result.kind is InboundKind.BOUNCE
    assert only_event_type(result) is EventType.BOUNCED_HARD
    event = result.events[0]
    assert event.recipient == "grace.lee@example.com"
    assert event.detail["status"] == "5.1.1"
    assert "RESOLVER.ADR.RecipNotFound" in event.detail["diagnostic"]
    assert result.references == ("<attempt-69.xyz@aicmo.example>",)


def test_legacy_sendmail_text_bounce_is_a_hard_bounce() -> None:
    result = classify("sendmail_legacy_user_unknown.eml")

    assert result.kind is InboundKind.BOUNCE
    assert only_event_type(result) is EventType.BOUNCED_HARD
    event = result.events[0]
    assert event.recipient == "noah.wright@legacy.example.com"
    assert event.detail["status"] == "5.1.1"
    assert (
        event.detail["diagnostic"] == "550 5.1.1 <noah.wright@legacy.example.com>... User unknown"
    )
    assert result.references == ("<attempt-51.xyz@aicmo.example>",)


# Feedback loops ------------------------------------------------------------------------------


def test_yahoo_arf_report_is_a_complaint_by_the_original_recipient() -> None:
    result = classify("arf_yahoo_abuse.eml")

    assert result.kind is InboundKind.COMPLAINT
    assert only_event_type(result) is EventType.COMPLAINED
    event = result.events[0]
    assert event.recipient == "olivia.brown@yahoo.example"
    assert event.detail["feedback_type"] == "abuse"
    assert event.detail["user_agent"] == "Yahoo!-Mail-Feedback/2.0"
    assert event.detail["format"] == "arf"
    assert result.references == ("<attempt-55.xyz@aicmo.example>",)


def test_aol_arf_report_with_redacted_recipient_is_a_complaint_matched_by_message_id() -> None:
    result = classify("arf_aol_abuse_redacted.eml")

    assert result.kind is InboundKind.COMPLAINT
    assert only_event_type(result) is EventType.COMPLAINED
    event = result.events[0]
    assert event.recipient is None  # "redacted" is not guessed into an address
    assert event.detail["source_ip"] == "198.51.100.5"
    assert result.references == ("<attempt-56.xyz@aicmo.example>",)


def test_arf_report_without_original_rcpt_to_takes_the_recipient_from_the_attached_message() -> (
    None
):
    result = classify("arf_abuse_recipient_from_original.eml")

    assert result.kind is InboundKind.COMPLAINT
    assert only_event_type(result) is EventType.COMPLAINED
    assert result.events[0].recipient == "hugo.silva@example.net"
    assert result.references == ("<attempt-57.xyz@aicmo.example>",)


def test_hotmail_jmrp_notice_is_a_complaint_for_the_hmxmr_recipient() -> None:
    result = classify("jmrp_hotmail_complaint.eml")

    assert result.kind is InboundKind.COMPLAINT
    assert only_event_type(result) is EventType.COMPLAINED
    event = result.events[0]
    assert event.recipient == "ava.jones@hotmail.example"
    assert event.detail["format"] == "jmrp"
    assert result.references == ("<attempt-58.xyz@aicmo.example>",)


# Automatic replies ---------------------------------------------------------------------------


def test_outlook_automatic_reply_is_an_auto_reply_with_its_return_date() -> None:
    result = classify("outlook_automatic_reply.eml")

    assert result.kind is InboundKind.AUTO_REPLY
    assert only_event_type(result) is EventType.AUTO_REPLY_RECEIVED
    event = result.events[0]
    assert event.recipient == "ben.carter@example.com"
    assert event.detail["return_date"] == "2026-12-03"
    assert "X-Auto-Response-Suppress: all" in event.detail["signals"]
    assert result.references == ("<attempt-59.xyz@aicmo.example>",)
    assert result.reply_text is None


def test_german_abwesenheitsnotiz_is_an_auto_reply_with_its_return_date() -> None:
    result = classify("german_abwesenheitsnotiz.eml")

    assert result.kind is InboundKind.AUTO_REPLY
    assert only_event_type(result) is EventType.AUTO_REPLY_RECEIVED
    event = result.events[0]
    assert event.recipient == "katrin.vogel@example.net"
    assert result.subject == "Abwesenheitsnotiz: Kurze Frage zu Ihren Einstellungsplänen im Q4"
    # "Zurück am 03.12.2026" wins over "bis einschließlich 2. Dezember".
    assert event.detail["return_date"] == "2026-12-03"
    assert "Auto-Submitted: auto-replied" in event.detail["signals"]
    assert result.references == ("<attempt-60.xyz@aicmo.example>",)


def test_vacation_reply_with_only_precedence_bulk_is_an_auto_reply_returning_next_year() -> None:
    result = classify(
        "vacation_precedence_bulk.eml", received_at=datetime(2026, 12, 18, 8, 0, tzinfo=UTC)
    )

    assert result.kind is InboundKind.AUTO_REPLY
    assert only_event_type(result) is EventType.AUTO_REPLY_RECEIVED
    event = result.events[0]
    assert event.recipient == "lucas.moreau@example.org"
    assert event.detail["signals"] == ["Precedence: bulk"]
    assert event.detail["return_date"] == "2027-01-07"
    assert result.references == ("<attempt-61.xyz@aicmo.example>",)


def test_spanish_automatic_reply_is_an_auto_reply() -> None:
    result = classify("spanish_respuesta_automatica.eml")

    assert result.kind is InboundKind.AUTO_REPLY
    assert only_event_type(result) is EventType.AUTO_REPLY_RECEIVED
    event = result.events[0]
    assert event.recipient == "lucia.romero@example.com"
    assert result.subject.startswith("Respuesta automática: ")
    assert "X-Autoreply present" in event.detail["signals"]
    assert event.detail["return_date"] == "2026-12-03"
    assert result.references == ("<attempt-66.xyz@aicmo.example>",)


# Human replies -------------------------------------------------------------------------------


def test_gmail_human_reply_is_a_reply_without_the_quoted_history() -> None:
    result = classify("gmail_human_reply.eml")

    assert result.kind is InboundKind.REPLY
    assert only_event_type(result) is EventType.REPLY_RECEIVED
    assert result.events[0].recipient == "jane.doe@example.org"
    assert result.from_address == "jane.doe@example.org"
    assert result.references == ("<abc.123@aicmo.example>",)
    assert result.message_id == "<CAF8xK2m9Qz+7Lr3TqYh0VwJ5eNcP1sD@mail.gmail.example>"
    assert result.reply_text == (
        "Hi Alex,\n\n"
        "Thanks for reaching out — yes, we're hiring for two of those roles right now.\n"
        "Could you send over a couple of anonymised profiles?\n\n"
        "Best,\nJane"
    )


def test_outlook_reply_drops_the_original_message_and_the_signature() -> None:
    result = classify("outlook_human_reply.eml")

    assert result.kind is InboundKind.REPLY
    assert only_event_type(result) is EventType.REPLY_RECEIVED
    assert result.events[0].recipient == "ravi.patel@example.com"
    assert result.references == ("<attempt-62.xyz@aicmo.example>",)
    assert result.reply_text == (
        "Hi Alex,\n\n"
        "Not right now, but check back with me in Q1 - our budget opens in January.\n\n"
        "Thanks,\nRavi"
    )


def test_html_only_reply_is_a_reply_without_the_blockquote() -> None:
    result = classify("html_only_reply.eml")

    assert result.kind is InboundKind.REPLY
    assert result.events[0].recipient == "noor.ali@example.org"
    assert result.reply_text == "Yes — please send me the deck.\nThanks!\nNoor"
    assert result.references == ("<attempt-67.xyz@aicmo.example>",)


def test_reply_quoting_our_unsubscribe_footer_is_still_a_reply() -> None:
    result = classify("reply_quoting_unsubscribe_footer.eml")

    assert result.kind is InboundKind.REPLY
    assert only_event_type(result) is EventType.REPLY_RECEIVED
    assert result.events[0].recipient == "mia.wong@example.org"
    assert (
        result.reply_text == "Sounds good, let's talk Thursday. 10am Pacific works for me.\n\nMia"
    )
    assert result.references == ("<attempt-64.xyz@aicmo.example>",)


def test_french_reply_asking_to_be_unsubscribed_is_an_unsubscribe_request() -> None:
    result = classify("french_unsubscribe_reply.eml")

    assert result.kind is InboundKind.UNSUBSCRIBE_REQUEST
    assert only_event_type(result) is EventType.UNSUBSCRIBED
    event = result.events[0]
    assert event.recipient == "stephanie.dubois@example.net"
    assert event.detail == {"phrase": "désinscrire", "where": "body", "language": "fr"}
    assert result.reply_text is not None
    assert result.reply_text.startswith("Bonjour,\n\nMerci de me désinscrire")
    assert "a écrit" not in result.reply_text
    assert result.references == ("<attempt-63.xyz@aicmo.example>",)


# Neither -------------------------------------------------------------------------------------


def test_own_sent_copy_is_unknown_and_never_a_reply() -> None:
    result = classify("own_sent_copy.eml")

    assert result.kind is InboundKind.UNKNOWN
    assert only_event_type(result) is EventType.UNKNOWN
    assert result.events[0].reason == "own message"
    assert result.events[0].raw
    assert result.message_id == "<attempt-65.xyz@aicmo.example>"
    assert result.references == ("<attempt-59.xyz@aicmo.example>",)


def test_read_receipt_is_unknown_but_points_at_the_read_message() -> None:
    result = classify("read_receipt_mdn.eml")

    assert result.kind is InboundKind.UNKNOWN
    assert only_event_type(result) is EventType.UNKNOWN
    event = result.events[0]
    assert event.reason == "read receipt"
    assert event.recipient == "ravi.patel@example.com"
    assert event.detail["disposition"].endswith("displayed")
    assert result.references == ("<attempt-62.xyz@aicmo.example>",)
