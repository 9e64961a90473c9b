"""What an SMTP server's negative reply means: transient or permanent, and is it a hard bounce.

Pure functions over (stage, code, text); :mod:`aicmo.transports.smtp` documents the whole
reply-to-error table.
"""

from __future__ import annotations

import re

from aicmo.transports.base import PermanentSendError, TransientSendError

__all__ = ["classify_reply", "is_hard_bounce", "parse_enhanced_status"]

_ENHANCED_STATUS = re.compile(r"^\s*([245]\.\d{1,3}\.\d{1,3})(?![\d.])")
_ADDRESS_HARD_BOUNCE_CODES = frozenset({550, 551, 553})
_SENDER_ADDRESS_STATUSES = frozenset({"5.1.7", "5.1.8"})


def parse_enhanced_status(text: str) -> str | None:
    """The RFC 3463 enhanced status code at the start of a reply text, e.g. ``"5.1.1"``."""
    match = _ENHANCED_STATUS.match(text)
    return match.group(1) if match else None


def is_hard_bounce(stage: str, code: int, enhanced: str | None) -> bool:
    """Whether a refusal means the recipient address itself is bad (and must be suppressed).

    True only for a 5xx answer to RCPT TO whose enhanced status is 5.1.x (bad mailbox, bad
    domain, bad syntax, moved) other than 5.1.7/5.1.8 (those concern the sender), or, when the
    server gives no enhanced status, whose code is 550, 551 or 553. A policy refusal (5.7.x),
    a full mailbox (5.2.2) or anything refused at MAIL or DATA is permanent for this message
    but says nothing bad about the address.
    """
    if stage != "rcpt" or not 500 <= code <= 599:
        return False
    if enhanced is not None:
        return enhanced.startswith("5.1.") and enhanced not in _SENDER_ADDRESS_STATUSES
    return code in _ADDRESS_HARD_BOUNCE_CODES


def classify_reply(
    stage: str, code: int, text: str, *, prefix: str = "The SMTP server refused"
) -> TransientSendError | PermanentSendError:
    """The error for a negative reply received before any of the payload was sent.

    4xx (and anything that is not a 5xx, such as a garbled reply) is transient: nothing was
    handed over, so trying again later is safe. 5xx is permanent, with ``hard_bounce`` from
    :func:`is_hard_bounce`.
    """
    enhanced = parse_enhanced_status(text)
    command = _STAGE_COMMANDS.get(stage, stage)
    message = f"{prefix} {command}: {code} {text}".rstrip()
    if 500 <= code <= 599:
        return PermanentSendError(
            message,
            stage=stage,
            code=code,
            enhanced=enhanced,
            hard_bounce=is_hard_bounce(stage, code, enhanced),
        )
    return TransientSendError(message, stage=stage, code=code, enhanced=enhanced)


_STAGE_COMMANDS = {
    "connect": "the connection",
    "ehlo": "EHLO",
    "auth": "AUTH",
    "mail": "MAIL FROM",
    "rcpt": "RCPT TO",
    "data": "DATA",
}
