"""Stripping quoted history from replies, in the styles of the common clients and languages."""

from __future__ import annotations

import pytest

from aicmo.cam.inbound.quotes import visible_text
from aicmo.cam.inbound.text import html_to_text

NEW = "Yes, Thursday works.\n\nJane"


@pytest.mark.parametrize(
    "attribution",
    [
        "On Tue, Nov 3, 2026 at 10:02 AM Alex Martin <alex@aicmo.example> wrote:",
        "On 3 Nov 2026, at 10:02, Alex Martin <alex@aicmo.example> wrote:",
        "On Tue, Nov 3, 2026 at 10:02 AM Alex Martin <\nalex@aicmo.example> wrote:",
        "On Tue, Nov 3, 2026 at 10:02 AM\nAlex Martin <alex@aicmo.example>\nwrote:",
        "Le mar. 3 nov. 2026 à 10:02, Alex Martin <alex@aicmo.example> a écrit :",
        "Le 03/11/2026 à 10:02, Alex Martin a écrit\u00a0:",
        "Am Di., 3. Nov. 2026 um 10:02 Uhr schrieb Alex Martin <alex@aicmo.example>:",
        "Am 03.11.2026 um 10:02 schrieb Alex Martin:",
        "El mar, 3 nov 2026 a las 10:02, Alex Martin (<alex@aicmo.example>) escribió:",
        "Op di 3 nov. 2026 om 10:02 schreef Alex Martin <alex@aicmo.example>:",
        "Em ter., 3 de nov. de 2026 às 10:02, Alex Martin <alex@aicmo.example> escreveu:",
        "Il giorno mar 3 nov 2026 alle ore 10:02 Alex Martin <alex@aicmo.example> ha scritto:",
        "Il 03/11/2026 10:02, Alex Martin ha scritto:",
        "Alex Martin <alex@aicmo.example> wrote:",
    ],
)
def test_attribution_line_and_everything_after_it_is_history(attribution: str) -> None:
    body = f"{NEW}\n\n{attribution}\nHi Jane,\nOur footer: unsubscribe here.\n"

    assert visible_text(body) == NEW


@pytest.mark.parametrize(
    "separator",
    [
        "-----Original Message-----",
        "-----Ursprüngliche Nachricht-----",
        "-----Message d'origine-----",
        "-----Mensaje original-----",
        "-----Oorspronkelijk bericht-----",
        "-----Mensagem original-----",
        "-----Messaggio originale-----",
        "________________________________",
    ],
)
def test_outlook_separators_start_the_history(separator: str) -> None:
    body = f"{NEW}\n\n{separator}\nFrom: Alex\nThe original text.\n"

    assert visible_text(body) == NEW


@pytest.mark.parametrize(
    "header_block",
    [
        "From: Alex Martin <alex@aicmo.example>\nSent: Tuesday, November 3, 2026 10:02 AM\n"
        "To: Jane Doe\nSubject: Quick question",
        "Von: Alex Martin <alex@aicmo.example>\nGesendet: Dienstag, 3. November 2026 10:02\n"
        "An: Jane Doe\nBetreff: Kurze Frage",
        "De : Alex Martin <alex@aicmo.example>\nEnvoyé : mardi 3 novembre 2026 10:02\n"
        "À : Jane Doe\nObjet : Question rapide",
        "*From:* Alex Martin <alex@aicmo.example>\n*Sent:* Tuesday, November 3, 2026\n"
        "*To:* Jane Doe",
        "De: Alex Martin <alex@aicmo.example>\nEnviado: martes, 3 de noviembre de 2026\n"
        "Para: Jane Doe\nAsunto: Pregunta rápida",
        "Van: Alex Martin <alex@aicmo.example>\nVerzonden: dinsdag 3 november 2026\n"
        "Aan: Jane Doe\nOnderwerp: Korte vraag",
        "Da: Alex Martin <alex@aicmo.example>\nInviato: martedì 3 novembre 2026\n"
        "A: Jane Doe\nOggetto: Domanda veloce",
    ],
)
def test_outlook_header_block_starts_the_history(header_block: str) -> None:
    body = f"{NEW}\n\n{header_block}\n\nHi Jane,\nOriginal text.\n"

    assert visible_text(body) == NEW


def test_a_from_line_alone_in_the_new_text_is_kept() -> None:
    body = "From: the team's point of view, Thursday works.\n\nJane"

    assert visible_text(body) == body


def test_inline_answers_between_quotes_are_kept() -> None:
    body = "> Would Thursday work?\nYes, 10am.\n> And could you bring the numbers?\nSure.\n"

    assert visible_text(body) == "Yes, 10am.\nSure."


def test_greeting_before_an_attribution_is_kept() -> None:
    body = "Hi Alex,\nOn Tue, Nov 3, 2026 at 10:02 AM Alex Martin <alex@aicmo.example> wrote:\n> x"

    assert visible_text(body) == "Hi Alex,"


def test_signature_after_the_delimiter_is_dropped() -> None:
    body = "Thursday works.\n\n-- \nJane Doe | CTO | Example Org\n+1 555 0100\n"

    assert visible_text(body) == "Thursday works."


@pytest.mark.parametrize(
    "trailer",
    [
        "Sent from my iPhone",
        "Von meinem iPhone gesendet",
        "Envoyé de mon iPad",
        "Enviado desde mi Android",
        "Get Outlook for iOS",
    ],
)
def test_mobile_trailer_is_dropped(trailer: str) -> None:
    assert visible_text(f"Thursday works.\n\n{trailer}\n") == "Thursday works."


def test_crlf_and_blank_line_runs_are_normalised() -> None:
    assert visible_text("Thursday\r\n\r\n\r\n\r\nworks.\r\n") == "Thursday\n\nworks."


def test_html_blockquote_becomes_quoted_lines() -> None:
    html = (
        "<div>Yes please.</div><blockquote><p>Old text</p>"
        "<blockquote>Older</blockquote></blockquote><style>p{}</style>"
    )

    assert html_to_text(html) == "Yes please.\n> Old text\n> > Older"


def test_broken_html_still_gives_text() -> None:
    assert "hello" in html_to_text("<div><p>hello<blockquote><<!-- </b")
