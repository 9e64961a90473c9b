"""Opt-out phrases in a reply's subject or opening lines, and the look-alikes that are not."""

from __future__ import annotations

import pytest

from aicmo.cam.inbound.optout import LANGUAGES, LEADING_LINES, find_unsubscribe_request


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("Please unsubscribe me.", "en"),
        ("Remove me from your list.", "en"),
        ("Take me off your mailing list.", "en"),
        ("Stop emailing me.", "en"),
        ("Not interested, remove me.", "en"),
        ("I'd like to opt out.", "en"),
        ("Do not contact me again.", "en"),
        ("Merci de me désinscrire.", "fr"),
        ("Merci de me desinscrire.", "fr"),
        ("Je souhaite me désabonner.", "fr"),
        ("Bitte abmelden.", "de"),
        ("Bitte tragen Sie mich aus dem Verteiler aus, bitte austragen.", "de"),
        ("Quiero darme de baja.", "es"),
        ("Por favor, dar de baja este correo.", "es"),
        ("BAJA", "es"),
        ("Graag uitschrijven.", "nl"),
        ("Quero cancelar inscrição.", "pt"),
        ("Por favor, descadastrar meu e-mail.", "pt"),
        ("Cancellami dalla vostra lista.", "it"),
        ("please remove it", "en"),
        ("Not interested. Please remove it.", "en"),
        ("Is there any way to be removed from the mailing list??", "en"),
        ("I'd like to be removed from your distribution list.", "en"),
        ("Please take this address off your list.", "en"),
        ("Stop sending me these emails.", "en"),
        ("No more emails please.", "en"),
        ("Merci de ne plus m'envoyer de messages.", "fr"),
        ("Bitte nehmen Sie mich aus Ihrem Verteiler.", "de"),
        ("Bitte schicken Sie mir keine E-Mails mehr.", "de"),
        ("No quiero recibir más correos.", "es"),
        ("Por favor, remova meu e-mail da sua lista.", "pt"),
        ("Não quero receber mais e-mails de vocês.", "pt"),
        ("退订", "zh"),
        ("请把我的邮箱移出订阅列表，谢谢。", "zh"),
        ("请不要再给我发这类邮件了。", "zh"),
        ("取消订阅", "zh"),
    ],
)
def test_opt_out_phrases_are_found_in_the_opening_lines(text: str, language: str) -> None:
    request = find_unsubscribe_request("Re: Quick question", f"Hi Alex,\n\n{text}\n\nJane")

    assert request is not None
    assert request.where == "body"
    assert request.language == language


def test_phrase_is_reported_as_written() -> None:
    request = find_unsubscribe_request("Re: x", "Merci de me DÉSINSCRIRE.")

    assert request is not None
    assert request.phrase == "DÉSINSCRIRE"


def test_every_claimed_language_has_a_recognised_phrase() -> None:
    """The languages the docstring claims are exactly those with a tested phrase."""
    samples = {
        "en": "Please unsubscribe me.",
        "fr": "Merci de me désinscrire.",
        "de": "Bitte abmelden.",
        "es": "Quiero darme de baja.",
        "nl": "Graag uitschrijven.",
        "pt": "Por favor, descadastrar meu e-mail.",
        "it": "Cancellami dalla vostra lista.",
        "zh": "退订",
    }

    assert set(samples) == set(LANGUAGES)
    for language, text in samples.items():
        request = find_unsubscribe_request("Re: x", text)
        assert request is not None, language
        assert request.language == language


@pytest.mark.parametrize(
    "subject",
    ["unsubscribe", "RE: Unsubscribe", "AW: Abmelden", "Re: Re: remove me", "回复：退订"],
)
def test_opt_out_in_the_subject_is_found(subject: str) -> None:
    request = find_unsubscribe_request(subject, "")

    assert request is not None
    assert request.where == "subject"


@pytest.mark.parametrize(
    "text",
    [
        "Not interested right now, maybe in Q2.",
        "Let's remove the blockers first.",
        "Can you take me through the pricing?",
        "Stop by our booth at the conference.",
        "We use Baja as our codename.",
        "Sounds good, let's talk Thursday.",
        "Could you please remove the attachment and resend?",
        "Can you remove John from the thread and add me instead?",
        "The old logo is still on page 2, please remove it before you send the deck.",
        "Can you take John off the list? He left.",
        "Take me off the cc and add Priya.",
        "Bitte nehmen Sie Herrn Müller aus dem Verteiler.",
        "Bitte entfernen Sie den Anhang.",
        "请删除附件里的旧报价，然后重新发给我。",
        "I'm back in the office, let's talk.",
    ],
)
def test_look_alike_sentences_are_not_opt_outs(text: str) -> None:
    assert find_unsubscribe_request("Re: Quick question", text) is None


def test_only_the_opening_lines_are_read() -> None:
    lines = [f"Line {i}." for i in range(LEADING_LINES)] + ["Please unsubscribe me."]

    assert find_unsubscribe_request("Re: x", "\n".join(lines)) is None
