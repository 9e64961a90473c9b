"""A mailbox connection check as steps a person reads: what worked, what failed, what to do.

The transports' ``diagnose`` names only the first stage that failed; this turns that into
every step of the session (those before it passed, the failed one with the server's words
and a hint, those after it not tried, those the mailbox does not use skipped). Pure: no
I/O, no clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

StepStatus = Literal["ok", "failed", "skipped", "not tried"]

#: The stages of each protocol, in the order a session goes through them.
SMTP_STAGES: tuple[str, ...] = ("dns", "tcp", "tls", "auth")
IMAP_STAGES: tuple[str, ...] = ("dns", "tcp", "tls", "auth", "folder")

#: A refusal before any connection (the host is this machine, or the settings are unusable):
#: reported on the first step.
BEFORE_CONNECTING = ("address", "config")

_LABELS = {
    ("smtp", "dns"): "Find the server (DNS)",
    ("smtp", "tcp"): "Connect and greet (EHLO)",
    ("smtp", "tls"): "Encrypt (TLS / STARTTLS)",
    ("smtp", "auth"): "Log in (AUTH)",
    ("imap", "dns"): "Find the server (DNS)",
    ("imap", "tcp"): "Connect",
    ("imap", "tls"): "Encrypt (TLS / STARTTLS)",
    ("imap", "auth"): "Log in",
    ("imap", "folder"): "Open the folder",
}

_HINTS = {
    "dns": "Check the host name: it is your provider's server, e.g. smtp.gmail.com or "
    "imap.gmail.com.",
    "tcp": "Check the host and the port, and that this server may connect out to it "
    "(firewall). Usual ports: SMTP 587 (starttls), 465 (tls); IMAP 993 (tls), 143 (starttls).",
    "tls": "Check that the security mode matches the port (starttls: SMTP 587 / IMAP 143; "
    "tls: SMTP 465 / IMAP 993) and that the server's certificate is valid for the host name.",
    "auth": "Check the user name and set the password again (Set password); many providers "
    "need an app password when two-step sign-in is on.",
    "folder": "Check the folder name (INBOX on most servers; names are case-sensitive on some).",
    "address": "The dashboard does not connect to this machine's own addresses; test a "
    "mailbox on this machine from its command line: aicmo mailbox test NAME.",
    "config": "Correct the mailbox's settings (or set its password again) and test again.",
}


@dataclass(frozen=True, slots=True)
class CheckStep:
    """One step of a connection check."""

    label: str
    status: StepStatus
    message: str = ""
    hint: str = ""


def check_steps(
    protocol: Literal["smtp", "imap"],
    ok: bool,
    stage: str,
    message: str,
    *,
    encrypted: bool,
    authenticates: bool,
) -> list[CheckStep]:
    """The steps of one protocol's check from its first failed ``stage`` (``ok`` when all
    passed): ``encrypted`` False skips TLS, ``authenticates`` False skips the login."""
    stages = SMTP_STAGES if protocol == "smtp" else IMAP_STAGES
    failed_at = -1 if ok else (stages.index(stage) if stage in stages else 0)
    steps: list[CheckStep] = []
    for index, name in enumerate(stages):
        label = _LABELS[(protocol, name)]
        unused = (name == "tls" and not encrypted) or (name == "auth" and not authenticates)
        if not ok and index == failed_at:
            hint = _HINTS.get(stage if stage in BEFORE_CONNECTING else name, "")
            steps.append(CheckStep(label, "failed", message, hint))
        elif unused:
            why = "no encryption configured" if name == "tls" else "no login configured"
            steps.append(CheckStep(label, "skipped", why))
        elif ok or index < failed_at:
            steps.append(CheckStep(label, "ok"))
        else:
            steps.append(CheckStep(label, "not tried"))
    return steps
