"""Reading the return date out of an out-of-office body, relative to its receive time."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from aicmo.cam.inbound.return_date import find_return_date

# A Tuesday.
RECEIVED = datetime(2026, 11, 3, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("I'm back on 3 December.", date(2026, 12, 3)),
        ("I will be back on December 3rd.", date(2026, 12, 3)),
        ("Returning on 2026-12-03.", date(2026, 12, 3)),
        ("Out of the office until Thursday, December 3, 2026.", date(2026, 12, 3)),
        ("Back in the office on 12/25.", date(2026, 12, 25)),
        ("Back on 25/12/2026.", date(2026, 12, 25)),
        ("I'm out from 1 December until 3 December.", date(2026, 12, 3)),
        ("Zurück am 03.12.2026.", date(2026, 12, 3)),
        ("Ich bin ab dem 4.12. wieder im Büro.", date(2026, 12, 4)),
        ("Ich bin vom 01.12. bis 03.12.2026 nicht erreichbar.", date(2026, 12, 3)),
        (
            "Ich bin bis einschließlich 2. Dezember abwesend, zurück am 3. Dezember.",
            date(2026, 12, 3),
        ),
        ("Je serai de retour le 3 décembre.", date(2026, 12, 3)),
        ("Absent jusqu'au 1er décembre inclus.", date(2026, 12, 1)),
        ("Estaré fuera de la oficina hasta el 3 de diciembre de 2026.", date(2026, 12, 3)),
        ("Regreso el 3 de diciembre.", date(2026, 12, 3)),
        ("Ik ben vanaf 4 december weer aanwezig.", date(2026, 12, 4)),
        ("Ik ben terug op 3 december.", date(2026, 12, 3)),
        ("Retorno em 3 de dezembro.", date(2026, 12, 3)),
        ("Estarei ausente até 3 de dezembro.", date(2026, 12, 3)),
        ("Rientro il 3 dicembre.", date(2026, 12, 3)),
        ("Sarò fuori sede fino al 5 gennaio 2027.", date(2027, 1, 5)),
        ("I will be back on Monday.", date(2026, 11, 9)),
        ("Back on Tuesday.", date(2026, 11, 10)),
    ],
)
def test_return_date_is_read_in_several_languages(text: str, expected: date) -> None:
    assert find_return_date(text, RECEIVED) == expected


def test_date_without_a_year_in_january_means_next_year_when_written_in_december() -> None:
    received = datetime(2026, 12, 18, 8, 0, tzinfo=UTC)

    assert find_return_date("I'll be back on 7 January.", received) == date(2027, 1, 7)


@pytest.mark.parametrize(
    "text",
    [
        "Back on 04/05.",  # 4 May or April 5th: not guessed
        "Back on 2 November.",  # yesterday, not next November
        "Returning on 2025-12-03.",  # past
        "Returning on 2031-12-03.",  # years ahead: a misreading
        "I was in Berlin on 3 December.",  # no return word
        "Please call 555 0100 until noon.",
        "",
    ],
)
def test_no_return_date_when_none_is_announced_for_the_future(text: str) -> None:
    assert find_return_date(text, RECEIVED) is None


def test_naive_receive_time_is_accepted() -> None:
    assert find_return_date("Back on 3 December.", datetime(2026, 11, 3)) == date(2026, 12, 3)
