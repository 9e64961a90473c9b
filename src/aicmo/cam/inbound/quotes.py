"""The new text of a reply, without the quoted history under it. Pure: no I/O.

Everything downstream of a reply reads only what the person wrote now: the unsubscribe
check (our own footer, quoted back, says "unsubscribe"), the CRM timeline and any later
intent scoring. Clients mark history in a handful of ways, all handled here:

* ``>``-prefixed lines (dropped wherever they are, so inline answers survive);
* an attribution line, "On <date>, <name> wrote:" and its translations, sometimes wrapped
  over two or three lines by the client (everything from there on is history);
* Outlook's "-----Original Message-----" separator and its translations;
* Outlook's header block, "From: … / Sent: …" (also "Von: … / Gesendet: …" and so on);
* the RFC 3676 signature delimiter ``-- `` and mobile "Sent from my iPhone" trailers.
"""

from __future__ import annotations

import re

from aicmo.cam.inbound.text import clean_text, fold

#: How much of a body is searched for the new text (characters).
MAX_CHARS = 200_000

_ATTRIBUTION_RES: tuple[re.Pattern[str], ...] = tuple(
    re.compile(pattern)
    for pattern in (
        r"^on\b.{0,300}\bwrote\s*:$",  # English (Gmail, Apple Mail, Thunderbird)
        r"^le\b.{0,300}\ba ecrit\s*:$",  # French
        r"^am\b.{0,300}\bschrieb\b.{0,300}:$",  # German
        r"^el\b.{0,300}\bescribio\s*:$",  # Spanish
        r"^op\b.{0,300}\bschreef\b.{0,300}:$",  # Dutch
        r"^(?:em|no dia)\b.{0,300}\bescreveu\s*:$",  # Portuguese
        r"^il\b.{0,300}\bha scritto\s*:$",  # Italian
        # "Jane Doe <jane@example.org> wrote:" without a date, in any of the languages.
        r"^.{0,200}@.{0,200}\b(?:wrote|schrieb|a ecrit|escribio|schreef|escreveu|ha scritto)\s*:$",
    )
)

_ORIGINAL_MESSAGE_RE = re.compile(
    r"^-{3,}\s*(?:original message|ursprungliche nachricht|message d'origine"
    r"|mensaje original|oorspronkelijk bericht|mensagem original|messaggio originale"
    r"|forwarded message|weitergeleitete nachricht|message transfere)\s*-{3,}$"
)
_UNDERSCORE_RULE_RE = re.compile(r"^_{20,}$")
_FROM_RE = re.compile(r"^\*?(?:from|von|de|van|da|fra|fran|od)\s*:\*?\s*\S")
_HEADER_FOLLOW_RE = re.compile(
    r"^\*?(?:sent|date|gesendet|datum|envoye|enviado|enviada|fecha|verzonden|verstuurd"
    r"|inviato|data|to|an|a|para|aan|subject|betreff|objet|asunto|onderwerp|assunto"
    r"|oggetto)\s*:"
)
_MOBILE_TRAILER_RE = re.compile(
    r"^(?:sent from my \w+|get outlook for \w+|von meinem \w+ gesendet|envoye de mon \w+"
    r"|enviado desde mi \w+|verzonden (?:met|vanaf) mijn \w+|enviado do meu \w+"
    r"|inviato da(?:l mio)? \w+)\b.{0,40}$"
)


_ATTRIBUTION_START_RE = re.compile(r"^(?:on|le|am|el|op|em|no dia|il)\b|@|<")


def _is_attribution(folded: list[str], index: int) -> bool:
    """Whether an attribution starts at ``index``, possibly wrapped over three lines."""
    if not _ATTRIBUTION_START_RE.search(folded[index]):
        return False
    joined = ""
    for offset in range(3):
        if index + offset >= len(folded):
            return False
        piece = folded[index + offset]
        if offset and not piece:
            return False
        joined = f"{joined} {piece}".strip()
        if any(pattern.match(joined) for pattern in _ATTRIBUTION_RES):
            return True
    return False


def _is_outlook_header(folded: list[str], index: int) -> bool:
    """A "From:" line followed within four lines by "Sent:"/"To:"/"Subject:" fields."""
    if not _FROM_RE.match(folded[index]):
        return False
    following = folded[index + 1 : index + 5]
    return sum(bool(_HEADER_FOLLOW_RE.match(line)) for line in following) >= 2


def _is_history_start(folded: list[str], index: int) -> bool:
    line = folded[index]
    if _ORIGINAL_MESSAGE_RE.match(line) or _UNDERSCORE_RULE_RE.match(line):
        return True
    return _is_attribution(folded, index) or _is_outlook_header(folded, index)


def visible_text(body: str) -> str:
    """What the sender wrote in this message: quotes, history and signature removed.

    Only the first ``MAX_CHARS`` of the body are read: nobody types more than that as a
    reply, and pathological bodies must not stall the inbox poller.
    """
    lines = clean_text(body[:MAX_CHARS]).split("\n")
    folded = [fold(line.strip()) for line in lines]
    kept: list[str] = []
    for index, line in enumerate(lines):
        if line.rstrip() == "--":
            break
        if _is_history_start(folded, index):
            break
        if folded[index].startswith(">"):
            continue
        kept.append(line)
    while kept and (not kept[-1].strip() or _MOBILE_TRAILER_RE.match(fold(kept[-1].strip()))):
        kept.pop()
    return clean_text("\n".join(kept))
