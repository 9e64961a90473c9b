"""SMTP status codes: what they mean and whether they end a lead's email address. Pure: no I/O.

A bounce matters to an outreach engine for one decision: may this address be mailed again?
RFC 3463 classes answer most of it (``5`` permanent, ``4`` transient), but a few permanent
codes describe the message or a passing state of the mailbox rather than the address, and
deliverability practice (large ESPs, Mailchimp, SES dashboards) treats those as soft:

* ``5.2.2`` mailbox full: the address exists and its owner can make room; suppressing it
  for good would lose a real person. Repeated soft bounces are capped by the service layer.
* ``5.2.3`` / ``5.3.4`` message too large: a property of our message, not of the address.
* ``5.3.1`` mail system full: the receiving system's state, not the address.

``5.7.x`` are policy rejections (spam filtering, reputation, authentication). They stay
hard, so sending stops, but are flagged ``policy`` because the address itself may be fine:
the fix is on our side (content, domain reputation, SPF/DKIM/DMARC), not in the lead list.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum


class Severity(StrEnum):
    """What a delivery report means for the address."""

    HARD = "HARD"
    SOFT = "SOFT"
    #: Delivered, relayed or expanded: nothing failed.
    NONE = "NONE"


@dataclass(frozen=True, slots=True)
class StatusInfo:
    description: str
    #: Overrides the class's severity (only used to soften some ``5.x.x``).
    severity: Severity | None = None
    policy: bool = False


#: ``subject.detail`` → meaning, after RFC 3463 and the IANA registry, plus the codes big
#: providers emit (Microsoft's ``x.1.10``, Google's ``x.7.26``).
STATUS_DETAILS: dict[str, StatusInfo] = {
    "0.0": StatusInfo("other undefined status"),
    "1.0": StatusInfo("other address status"),
    "1.1": StatusInfo("bad destination mailbox address"),
    "1.2": StatusInfo("bad destination system address"),
    "1.3": StatusInfo("bad destination mailbox address syntax"),
    "1.4": StatusInfo("destination mailbox address ambiguous"),
    "1.5": StatusInfo("destination address valid"),
    "1.6": StatusInfo("destination mailbox has moved"),
    "1.7": StatusInfo("bad sender's mailbox address syntax"),
    "1.8": StatusInfo("bad sender's system address"),
    "1.10": StatusInfo("recipient not found"),
    "2.0": StatusInfo("other or undefined mailbox status"),
    "2.1": StatusInfo("mailbox disabled"),
    "2.2": StatusInfo("mailbox full", severity=Severity.SOFT),
    "2.3": StatusInfo("message length exceeds administrative limit", severity=Severity.SOFT),
    "2.4": StatusInfo("mailing list expansion problem"),
    "3.0": StatusInfo("other or undefined mail system status"),
    "3.1": StatusInfo("mail system full", severity=Severity.SOFT),
    "3.2": StatusInfo("system not accepting network messages"),
    "3.3": StatusInfo("system not capable of selected features"),
    "3.4": StatusInfo("message too big for system", severity=Severity.SOFT),
    "3.5": StatusInfo("system incorrectly configured"),
    "4.0": StatusInfo("other or undefined network or routing status"),
    "4.1": StatusInfo("no answer from host"),
    "4.2": StatusInfo("bad connection"),
    "4.3": StatusInfo("directory server failure"),
    "4.4": StatusInfo("unable to route"),
    "4.5": StatusInfo("mail system congestion"),
    "4.6": StatusInfo("routing loop detected"),
    "4.7": StatusInfo("delivery time expired"),
    "5.0": StatusInfo("other or undefined protocol status"),
    "5.1": StatusInfo("invalid command"),
    "5.2": StatusInfo("syntax error"),
    "5.3": StatusInfo("too many recipients"),
    "5.4": StatusInfo("invalid command arguments"),
    "5.5": StatusInfo("wrong protocol version"),
    "6.0": StatusInfo("other or undefined media error"),
    "6.1": StatusInfo("media not supported"),
    "6.3": StatusInfo("conversion required but not supported"),
    "7.0": StatusInfo("other or undefined security status", policy=True),
    "7.1": StatusInfo("delivery not authorized, message refused", policy=True),
    "7.2": StatusInfo("mailing list expansion prohibited", policy=True),
    "7.7": StatusInfo("message integrity failure", policy=True),
    "7.23": StatusInfo("SPF validation failed", policy=True),
    "7.25": StatusInfo("reverse DNS validation failed", policy=True),
    "7.26": StatusInfo("multiple authentication checks failed", policy=True),
}

#: Fallback per subject when the detail is unknown (e.g. a vendor's ``5.7.509``).
STATUS_SUBJECTS: dict[str, StatusInfo] = {
    "0": StatusInfo("other or undefined status"),
    "1": StatusInfo("addressing status"),
    "2": StatusInfo("mailbox status"),
    "3": StatusInfo("mail system status"),
    "4": StatusInfo("network and routing status"),
    "5": StatusInfo("mail delivery protocol status"),
    "6": StatusInfo("message content or media status"),
    "7": StatusInfo("security or policy status", policy=True),
}

_CLASS_SEVERITY: dict[str, Severity] = {
    "2": Severity.NONE,
    "4": Severity.SOFT,
    "5": Severity.HARD,
}

#: Wording → ``subject.detail`` for MTAs that give only a basic code ("554 delivery error").
#: Checked in order: "recipient address rejected: access denied" is an unknown user.
KEYWORD_STATUS: tuple[tuple[re.Pattern[str], str], ...] = (
    (
        re.compile(
            r"mailbox (?:is )?full|quota|exceeded (?:the |their )?storage"
            r"|insufficient (?:system )?storage|mailbox size limit|out of storage",
            re.IGNORECASE,
        ),
        "2.2",
    ),
    (
        re.compile(
            r"user unknown|unknown user|no such (?:user|recipient|mailbox|address)"
            r"|does ?n[o']?t exist|doesn'?t have an? .{0,40}account|not found"
            r"|invalid (?:recipient|mailbox|address)|no mailbox|(?:recipient )?address rejected"
            r"|mailbox unavailable|unknown recipient|recipient unknown|no longer (?:active|valid)",
            re.IGNORECASE,
        ),
        "1.1",
    ),
    (
        re.compile(
            r"spam|unsolicited|block ?list|black ?list|blocked|reputation|policy"
            r"|not authori[sz]ed",
            re.IGNORECASE,
        ),
        "7.1",
    ),
    (re.compile(r"disabled|inactive|suspended|deactivated", re.IGNORECASE), "2.1"),
    (
        re.compile(
            r"host (?:or domain name )?not found|domain not found|no mx|name service error"
            r"|unrouteable|unroutable",
            re.IGNORECASE,
        ),
        "1.2",
    ),
    (re.compile(r"timed? ?out|connection refused|try again later", re.IGNORECASE), "4.1"),
    (
        re.compile(
            r"message (?:is )?too (?:big|large)|message size|exceeds? (?:the )?(?:maximum )?"
            r"(?:message )?size|maximum (?:inbound |incoming )?message size",
            re.IGNORECASE,
        ),
        "3.4",
    ),
)

#: A final failure only because the retry period ran out (Exim's "retry timeout exceeded",
#: qmail's "in the queue too long"): the address was never refused, so the failure is
#: soft even under a ``5.x.x`` code.
EXPIRED_RE = re.compile(
    r"retry time(?:out)? (?:exceeded|not reached)|(?:too long|expired) in (?:the )?queue"
    r"|in the queue too long|message (?:has )?expired|delivery time expired"
    r"|could not be delivered within|exceeded maximum delivery attempts"
    r"|after \d+ attempt\(?s?\)? to deliver",
    re.IGNORECASE,
)

#: A notice that delivery is still being tried: a delay, not a failure.
DELAY_RE = re.compile(
    r"\(delay\)|has not yet been delivered|not been delivered yet|(?:is|has been|was) delayed"
    r"|delivery (?:has been |is )?delayed|delayed mail|message delayed|mail delivery delayed"
    r"|still (?:being )?(?:retried|trying|awaiting delivery)|will (?:continue to )?(?:be )?retr"
    r"|(?:will|we'll) (?:continue to )?(?:try|attempt) (?:to )?(?:re)?deliver"
    r"|will continue to (?:try|attempt)|attempts will continue"
    r"|this is (?:just |only )?a warning|warning message only|advisory[- ]only|postponed",
    re.IGNORECASE,
)

_STATUS_RE = re.compile(r"^\s*([245])\.(\d{1,3})\.(\d{1,3})\b")


def normalize_status(value: str) -> str | None:
    """``"5.1.1"`` from ``"5.1.1 (bad destination mailbox address)"``; ``None`` if absent."""
    match = _STATUS_RE.match(value)
    if not match:
        return None
    return f"{match.group(1)}.{int(match.group(2))}.{int(match.group(3))}"


def status_info(status: str) -> StatusInfo:
    """The meaning of an enhanced status code, falling back from detail to subject."""
    _klass, _, rest = status.partition(".")
    subject = rest.partition(".")[0]
    return (
        STATUS_DETAILS.get(rest)
        or STATUS_SUBJECTS.get(subject)
        or StatusInfo("unrecognised status")
    )


def status_severity(status: str) -> Severity:
    """Hard or soft, per the class and the softening table above."""
    klass = status[:1]
    base = _CLASS_SEVERITY.get(klass, Severity.HARD)
    if base is Severity.HARD:
        override = status_info(status).severity
        if override is not None:
            return override
    return base


def is_policy(status: str) -> bool:
    """Whether the code rejects the message for policy (spam, reputation, authentication)."""
    return status_info(status).policy


def is_expiry(text: str) -> bool:
    """Whether ``text`` says the retry period ran out (soft, see ``EXPIRED_RE``)."""
    return EXPIRED_RE.search(text) is not None


def is_delay(text: str) -> bool:
    """Whether ``text`` is a delay warning (delivery still being tried)."""
    return DELAY_RE.search(text) is not None


def infer_detail(text: str) -> str | None:
    """The ``subject.detail`` the wording of a diagnostic suggests, if any."""
    for pattern, detail in KEYWORD_STATUS:
        if pattern.search(text):
            return detail
    return None
