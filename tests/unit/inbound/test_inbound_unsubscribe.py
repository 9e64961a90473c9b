"""Opt-out phrases in a reply's subject or opening lines, and the look-alikes that are not."""

from __future__ import annotations

import pytest

from aicmo.cam.inbound.optout import LEADING_LINES, find_unsubscribe_request


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


@pytest.mark.parametrize(
    "subject", ["unsubscribe", "RE: Unsubscribe", "AW: Abmelden", "Re: Re: remove me"]
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
    ],
)
def test_look_alike_sentences_are_not_opt_outs(text: str) -> None:
    assert find_unsubscribe_request("Re: Quick question", text) is None


def test_only_the_opening_lines_are_read() -> None:
    lines = [f"Line {i}." for i in range(LEADING_LINES)] + ["Please unsubscribe me."]

    assert find_unsubscribe_request("Re: x", "\n".join(lines)) is None
