"""Out-of-office notices told from their text alone, and the replies that only look like one."""

from __future__ import annotations

import pytest

from aicmo.cam.inbound.absence import MAX_NOTICE_CHARS, find_absence_notice


@pytest.mark.parametrize(
    "text",
    [
        "I am out of office until Monday.",
        "Thank you for your email. I am currently out of the office until 21 October.",
        "I will be out of the country through next week with no access to email.",
        "On leave until Monday 19 Oct. For urgent matters contact Sam.",
        "Ich bin bis zum 25.08. nicht im Hause.\n\nIn dringenden Fällen bitte an Frau Muster.",
        "Bin bis 1.01.2016 im Urlaub.",
        "Je suis absent jusqu'au 4 janvier. Pour toute urgence, contactez accueil@example.fr.",
        "Estou de férias até 10 de fevereiro. Em caso de urgência, contacte a Ana.",
        "Estoy fuera de la oficina hasta el 7 de enero. Para asuntos urgentes, escriba a info.",
        "Ik ben met vakantie tot 5 augustus. Voor dringende zaken belt u Jan.",
        "您好，我已休假，1月10日返回。如有紧急事宜，请联系张先生。",
        # Routing lines that also read like requests to us.
        "I am out of the office until 3 June. For urgent matters call me on my mobile.",
        "I am on annual leave until 12 May. I will be happy to help you upon my return.",
        "Estou de férias até 10 de janeiro. Para assuntos urgentes, envie um e-mail para geral.",
        "Ich bin bis 3.1. im Urlaub. Bitte schicken Sie Ihre Anfrage an info@firma.de.",
        "您好，我正在休假，1月4日返回，您的邮件将转给我的同事处理。",
    ],
)
def test_notices_are_recognised_from_their_text(text: str) -> None:
    assert find_absence_notice(text) is not None


@pytest.mark.parametrize(
    "text",
    [
        "Automatic reply: I am away.",
        "自动回复：您好，我正在休假。",
        "Hi, I am on holidays, and this is a dumb auto-responder.",
    ],
)
def test_a_text_that_says_it_is_automatic_is_a_notice(text: str) -> None:
    notice = find_absence_notice(text)

    assert notice is not None
    assert notice.basis == "automatic"


@pytest.mark.parametrize(
    "text",
    [
        # In the past.
        "I was out of the office last week, but yes let's talk.",
        "Ich war bis gestern im Urlaub, daher die späte Antwort.",
        "我上周在休假，刚回来。",
        # Talking business after the absence.
        "I'm out of the office until Monday, but yes, the sponsorship sounds interesting.",
        "I'm away this week. Send me the deck and I'll look at it Monday.",
        "Ich bin bis Freitag nicht im Büro. Das Angebot leite ich an Herrn Weber weiter.",
        "Je suis en congé cette semaine, mais nous sommes intéressés par le stand.",
        "Thanks, Alex. I'm travelling until Friday but I've forwarded this to Kim.",
        "Danke, ich bin ab Montag wieder im Büro und melde mich dann bei Ihnen.",
        "谢谢，我下周出差，回来后再联系您。",
        # Not an absence.
        "I'm back in the office, let's talk.",
        "I'll be back with an answer by Friday.",
        "I will return the signed form tomorrow.",
        "Sorry for the auto-reply earlier, I'm back now. Yes, we'd like a booth.",
    ],
)
def test_replies_that_mention_an_absence_are_not_notices(text: str) -> None:
    assert find_absence_notice(text) is None


def test_a_long_text_is_a_person_writing() -> None:
    text = "I am out of the office until Monday with limited access to email.\n\n" + "x " * (
        MAX_NOTICE_CHARS // 2
    )

    assert find_absence_notice(text) is None


def test_the_phrase_is_reported_as_written() -> None:
    notice = find_absence_notice("Ich bin bis 26.7. nicht im Hause. In dringenden Fällen: Herr X.")

    assert notice is not None
    assert notice.phrase == "nicht im Hause"
    assert notice.basis == "absence"
