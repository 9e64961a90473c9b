"""Opt-out requests written as a reply ("please remove me"). Pure: no I/O.

Only the subject and the first lines of the *new* text are read. Quoted history often holds
our own footer ("To unsubscribe, reply STOP"), and a long reply that mentions
unsubscribing somewhere deep down is usually about something else. Missing an opt-out is
costly (complaints, law), so the phrase list is generous; false positives are limited by
looking only where people actually put the request.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from aicmo.cam.inbound.text import fold

#: How many non-empty lines of the new text are read.
LEADING_LINES = 5

_REPLY_PREFIX_RE = re.compile(r"^(?:\s*(?:re|aw|sv|vs|antw|r|rif|res|ref|fw|fwd|wg|tr)\s*:)+\s*")

#: Phrases on folded (lower-case, accent-free) text, by language.
_PHRASES: tuple[tuple[str, str], ...] = (
    ("en", r"\bunsubscribe\b"),
    ("en", r"\bremove (?:me|my (?:e-?mail|address|details|name))\b"),
    ("en", r"\btake (?:me|my (?:e-?mail|address|name)) off\b"),
    ("en", r"\bstop (?:e-?mailing|emailing|sending|contacting|writing to) me\b"),
    ("en", r"\bstop (?:e-?mailing|sending (?:me )?(?:e-?mails|messages))\b"),
    ("en", r"\bnot interested\b.{0,30}\bremove\b"),
    ("en", r"\bopt(?:ing)?[ -]?out\b"),
    ("en", r"\b(?:do not|don'?t) (?:contact|e-?mail|email|write to) me\b"),
    ("en", r"^stop[.!]*$"),
    ("fr", r"\bdesinscri(?:re|vez|s|ption)\b"),
    ("fr", r"\bdesabonn(?:er|ez|ement)\b"),
    ("fr", r"\bretirez?[- ]moi\b"),
    ("fr", r"\bne (?:plus|pas) (?:me )?(?:contacter|recevoir|ecrire)\b"),
    ("de", r"\babmelden\b"),
    ("de", r"\b(?:aus|ent)tragen\b"),
    ("de", r"\babbestellen\b"),
    ("de", r"\bkeine (?:weiteren )?(?:e-?mails|nachrichten|zusendungen)\b"),
    ("es", r"\bdar(?:se|me)? de baja\b"),
    ("es", r"\b(?:denme|deme) de baja\b"),
    ("es", r"^baja[.!]*$"),
    ("es", r"\bno (?:me )?(?:contacten|escriban|envien)\b"),
    ("nl", r"\buitschrijven\b"),
    ("nl", r"\bafmelden\b"),
    ("nl", r"\bverwijder (?:mij|me|mijn)\b"),
    ("pt", r"\bcancelar (?:a )?(?:minha )?inscricao\b"),
    ("pt", r"\bdescadastr(?:ar|e|em)\b"),
    ("pt", r"\bremov(?:a|am|er)[- ]me\b"),
    ("it", r"\bcancellami\b|\bcancellatemi\b|\bcancellarmi\b"),
    ("it", r"\bdisiscri(?:vere|vimi|zione)\b"),
    ("it", r"\brimuove(?:temi|rmi)\b"),
    ("it", r"\bnon (?:mi )?(?:contattate|scrivete)\b"),
)
_COMPILED: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (language, re.compile(pattern, re.M)) for language, pattern in _PHRASES
)


@dataclass(frozen=True, slots=True)
class UnsubscribeRequest:
    #: The words that triggered it, as the sender wrote them.
    phrase: str
    #: "subject" or "body".
    where: str
    language: str


def _search(text: str) -> tuple[str, str] | None:
    folded = fold(text)
    for language, pattern in _COMPILED:
        match = pattern.search(folded)
        if match:
            return text[match.start() : match.end()].strip(), language
    return None


def find_unsubscribe_request(subject: str, new_text: str) -> UnsubscribeRequest | None:
    """The opt-out request in a reply's subject or opening lines, if there is one."""
    subject_hit = _search(_REPLY_PREFIX_RE.sub("", subject).strip())
    if subject_hit:
        return UnsubscribeRequest(subject_hit[0], "subject", subject_hit[1])
    leading = [line.strip() for line in new_text.split("\n") if line.strip()][:LEADING_LINES]
    body_hit = _search("\n".join(leading))
    if body_hit:
        return UnsubscribeRequest(body_hit[0], "body", body_hit[1])
    return None
