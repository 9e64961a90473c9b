"""An answer in an email conversation: its subject and its References. Pure: no I/O.

Mail clients thread a message by ``In-Reply-To`` (the Message-ID it answers) and
``References`` (the chain of Message-IDs before it, RFC 5322 §3.6.4); the subject only
helps the people reading it, so "Re: " is put in front once, never doubled.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

#: Reply prefixes mail clients write (English and French "Re", German "AW", Nordic "SV"
#: and "VS", Dutch "Antw", Italian "Rif", Polish "Odp", Turkish "YNT"), with an optional
#: counter ("Re[2]:", "RE (3):").
_REPLY_PREFIX_RE = re.compile(
    r"^\s*(?:re|aw|sv|vs|antw|rif|odp|ynt)\s*(?:\[\d+\]|\(\d+\))?\s*:\s*", re.I
)
#: The References an answer carries at most: the first (where the thread began) and
#: the newest ones, as RFC 5322 suggests when trimming a long chain.
MAX_REFERENCES = 20
#: A Message-ID a header may carry: ``<left@right>``, printable ASCII without spaces,
#: within the 998 characters of a header line (RFC 5322 §3.6.4, §2.1.1).
_MESSAGE_ID_RE = re.compile(r"<[!-;=?-~]+@[!-;=?-~]+>")
MAX_MESSAGE_ID = 998
#: The subject of an answer whose conversation had none.
NO_SUBJECT = "Re: your message"


def reply_subject(subject: str | None) -> str:
    """``Re: <subject>``, keeping a reply prefix that is already there (any language)."""
    text = " ".join((subject or "").split())
    if not text:
        return NO_SUBJECT
    if _REPLY_PREFIX_RE.match(text):
        return text
    return f"Re: {text}"


def is_message_id(value: str | None) -> bool:
    """Whether ``value`` can go in In-Reply-To or References as it is (a malformed id
    from another mailer is left out of the thread rather than refuse the answer)."""
    return bool(
        value and len(value) <= MAX_MESSAGE_ID and _MESSAGE_ID_RE.fullmatch(value) is not None
    )


def thread_references(earlier: Iterable[str | None], answered: str | None) -> tuple[str, ...]:
    """The References of an answer: the chain before the message answered, then that
    message's id; each id once, in order, trimmed to :data:`MAX_REFERENCES`; ids that
    are not well-formed are left out."""
    chain = [r for r in dict.fromkeys((*earlier, answered)) if r and is_message_id(r)]
    if len(chain) > MAX_REFERENCES:
        chain = [chain[0], *chain[-(MAX_REFERENCES - 1) :]]
    return tuple(chain)
