"""The date an out-of-office reply says its author is back. Pure: no I/O, no clock.

Used to schedule the next touch after the person returns rather than into a full inbox.
Best effort by design: a date counts only when a "back/until/return" word (in one of the
supported languages) stands shortly before it, it is resolved against the time the reply
was received (never the clock), and only future dates within a year are kept. Numeric
dates that could be read day-first or month-first ("04/05") are skipped, not guessed.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

from aicmo.cam.inbound.text import fold

#: How far before a date a trigger word may stand (characters, same sentence).
TRIGGER_WINDOW = 45
#: Dates further out than this are misreadings, not holidays.
MAX_AHEAD = timedelta(days=366)
#: A year-less date this recently past is read as past, not as next year's.
RECENT_PAST = timedelta(days=90)

_MONTHS: dict[str, int] = {}
for _number, _names in enumerate(
    (
        "january jan januar janner janvier janv enero januari janeiro gennaio",
        "february feb februar fevrier fevr febrero februari fevereiro febbraio",
        "march mar marz maerz mars marzo maart marco",
        "april apr avril avr abril aprile",
        "may mai mayo mei maio maggio",
        "june jun juni juin junio junho giugno",
        "july jul juli juillet juil julio julho luglio",
        "august aug aout agosto augustus",
        "september sep sept septembre septiembre setiembre setembro settembre",
        "october oct oktober octobre octubre outubro ottobre okt",
        "november nov novembre noviembre novembro",
        "december dec dezember dez decembre diciembre dicembre dezembro",
    ),
    start=1,
):
    for _name in _names.split():
        _MONTHS.setdefault(_name, _number)

_WEEKDAYS: dict[str, int] = {}
for _number, _names in enumerate(
    (
        "monday montag lundi lunes maandag segunda lunedi",
        "tuesday dienstag mardi martes dinsdag terca martedi",
        "wednesday mittwoch mercredi miercoles woensdag quarta mercoledi",
        "thursday donnerstag jeudi jueves donderdag quinta giovedi",
        "friday freitag vendredi viernes vrijdag sexta venerdi",
        "saturday samstag sonnabend samedi sabado zaterdag sabato",
        "sunday sonntag dimanche domingo zondag domenica",
    )
):
    for _name in _names.split():
        _WEEKDAYS.setdefault(_name, _number)

_MONTH_ALT = "|".join(sorted(_MONTHS, key=len, reverse=True))
_WEEKDAY_ALT = "|".join(sorted(_WEEKDAYS, key=len, reverse=True))

#: Words that announce the return itself ("back on", "zurück am"); preferred.
_RETURN_BEFORE_RE = re.compile(
    r"\b(?:back|return|returning|returns|reachable|available|zuruck|zurueck|wieder|retour"
    r"|rentre|rentrerai|reviens|regreso|regresare|vuelta|volvere|terug|weer|retorno|regresso"
    r"|volto|voltarei|rientro|rientrero|ritorno|again)\b"
)
#: The same, written after the date within the same clause: "ab dem 3.12. wieder im Büro",
#: "vanaf 4 december weer aanwezig" (German and Dutch put the word after the date).
_RETURN_AFTER_RE = re.compile(r"^[ .]*(?:\w+ +){0,3}?(?:wieder|weer|zuruck|zurueck|terug)\b")
#: Words that end the absence ("until", "bis"): the date may be the last day away.
_UNTIL_BEFORE_RE = re.compile(r"\b(?:until|till|til|through|bis|jusqu|hasta|tot|ate|fino)\b")

_ISO_RE = re.compile(r"\b(?P<y>20\d\d)-(?P<m>\d{1,2})-(?P<d>\d{1,2})\b")
_DOTTED_RE = re.compile(r"(?<![\d.])(?P<d>\d{1,2})\.(?P<m>\d{1,2})\.(?:(?P<y>\d{4}|\d\d)\b)?")
_SLASHED_RE = re.compile(r"(?<![\d/])(?P<a>\d{1,2})/(?P<b>\d{1,2})(?:/(?P<y>\d{4}|\d\d))?\b")
_DAY_MONTH_RE = re.compile(
    r"\b(?P<d>\d{1,2})(?:st|nd|rd|th|er|e|o|º)?\.?\s+(?:of\s+|de\s+)?"
    rf"(?P<month>{_MONTH_ALT})\b\.?(?:,?\s+(?:de\s+)?(?P<y>20\d\d)\b)?"
)
_MONTH_DAY_RE = re.compile(
    rf"\b(?P<month>{_MONTH_ALT})\b\.?\s+(?P<d>\d{{1,2}})(?:st|nd|rd|th)?\b"
    r"(?:,?\s+(?P<y>20\d\d)\b)?"
)
_WEEKDAY_RE = re.compile(rf"\b(?P<weekday>{_WEEKDAY_ALT})(?:-feira)?\b")


def _year(raw: str | None) -> int | None:
    if not raw:
        return None
    year = int(raw)
    return year + 2000 if year < 100 else year


def _make(year: int | None, month: int, day: int, today: date) -> date | None:
    """The date meant; without a year, the next occurrence unless it just passed.

    "back on 7 January" written in December means next year; "since 2 November" written
    on 3 November means yesterday, not next November.
    """
    try:
        if year is not None:
            return date(year, month, day)
        candidate = date(today.year, month, day)
        if candidate <= today - RECENT_PAST:
            candidate = date(today.year + 1, month, day)
        return candidate
    except ValueError:
        return None


def _dates(folded: str, today: date) -> list[tuple[int, int, date]]:
    """Every full date in the text as (start, end, date), in text order."""
    found: list[tuple[int, int, date]] = []

    def add(match: re.Match[str], year: int | None, month: int, day: int) -> None:
        made = _make(year, month, day, today)
        if made:
            found.append((match.start(), match.end(), made))

    for match in _ISO_RE.finditer(folded):
        add(match, int(match["y"]), int(match["m"]), int(match["d"]))
    for match in _DOTTED_RE.finditer(folded):
        add(match, _year(match["y"]), int(match["m"]), int(match["d"]))
    for match in _SLASHED_RE.finditer(folded):
        first, second = int(match["a"]), int(match["b"])
        if first > 12 >= second:
            add(match, _year(match["y"]), second, first)
        elif second > 12 >= first:
            add(match, _year(match["y"]), first, second)
        elif first == second:
            add(match, _year(match["y"]), first, first)
        # else: 04/05 is April 5th or 4 May; not guessed.
    for match in _DAY_MONTH_RE.finditer(folded):
        add(match, _year(match["y"]), _MONTHS[match["month"]], int(match["d"]))
    for match in _MONTH_DAY_RE.finditer(folded):
        add(match, _year(match["y"]), _MONTHS[match["month"]], int(match["d"]))
    found.sort(key=lambda item: item[0])
    return found


def _before(folded: str, position: int) -> str:
    """The text just before ``position`` within the same sentence."""
    before = folded[max(0, position - TRIGGER_WINDOW) : position]
    for separator in ("\n", ". ", "! ", "? ", "; "):
        cut = before.rfind(separator)
        # "vom 01.12. bis 03.12." : a dot after a number is no sentence end.
        if cut >= 0 and not before[:cut].rstrip().endswith(tuple("0123456789")):
            before = before[cut + len(separator) :]
    return before


def _after(folded: str, position: int) -> str:
    after = folded[position : position + 30]
    return after.split("\n")[0]


def find_return_date(text: str, received_at: datetime) -> date | None:
    """The future date an auto-reply announces its author's return by, if any.

    A date introduced as the return ("back on") wins over one introduced as the end of
    the absence ("until"), whichever comes first in the text.
    """
    today = received_at.date()
    folded = fold(text[:8000])
    candidates = [
        (start, end, found)
        for start, end, found in _dates(folded, today)
        if today < found <= today + MAX_AHEAD
    ]
    for start, end, found in candidates:
        if _RETURN_BEFORE_RE.search(_before(folded, start)) or _RETURN_AFTER_RE.match(
            _after(folded, end)
        ):
            return found
    for start, _end, found in candidates:
        if _UNTIL_BEFORE_RE.search(_before(folded, start)):
            return found
    for match in _WEEKDAY_RE.finditer(folded):
        before = _before(folded, match.start())
        if _RETURN_BEFORE_RE.search(before) or _UNTIL_BEFORE_RE.search(before):
            ahead = (_WEEKDAYS[match["weekday"]] - today.weekday()) % 7 or 7
            return today + timedelta(days=ahead)
    return None
