"""The interface every outgoing-mail transport implements, and the errors its ``send`` raises.

A transport hands one finished message (bytes) to something outside aicmo: an SMTP server
(:mod:`aicmo.transports.smtp`) or the local outbox directory
(:mod:`aicmo.transports.outbox`). It returns a :class:`SendReceipt` only when that hand-over
really happened, and says in the receipt which transport did it and what the other side
answered. It never reads the clock (the caller passes ``now``), never decides about retries,
suppression or rate limits (the service layer does), and never puts a secret in an error
message, a repr or a log line.

Errors raised by :meth:`Transport.send` (all subclasses of :class:`aicmo.errors.ChannelError`,
so callers may catch either the generic or the specific class):

* :class:`TransientSendError` - nothing was handed over and trying again later is safe
  (connection refused, timeout before the payload, any 4xx reply, 421 service closing);
* :class:`PermanentSendError` - the other side refused for good (any 5xx reply);
  ``hard_bounce`` says whether the *recipient address itself* is bad (see
  :func:`aicmo.transports.smtp.is_hard_bounce` for the table);
* :class:`SendConfigurationError` - the transport's settings cannot work (a reserved host,
  a server without STARTTLS, an outbox directory that cannot be written); nothing was
  sent. It is both a :class:`~aicmo.errors.ConfigurationError` and a
  :class:`TransientSendError`: once the operator fixes the settings, sending is safe;
* :class:`SendOutcomeUnknownError` - the payload was (at least partly) transmitted and the
  final answer never came: the message may have been accepted, so it must not be resent
  blindly (invariant 1).

Each carries ``stage`` (where it failed: ``"connect"``, ``"ehlo"``, ``"auth"``, ``"mail"``,
``"rcpt"``, ``"data"`` for SMTP; ``"write"`` for the outbox), ``code`` (the reply code, or
``None`` when there was no reply) and ``enhanced`` (the RFC 3463 status such as ``"5.1.1"``,
or ``None``). A failure at ``connect``, ``ehlo`` or ``auth`` concerns the mailbox settings or
the server, not the recipient: callers should pause the mailbox rather than give up on the
lead.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, runtime_checkable

from aicmo.errors import (
    ChannelError,
    ConfigurationError,
    OutcomeUnknownError,
    PermanentChannelError,
    TransientChannelError,
)

__all__ = [
    "PermanentSendError",
    "SendConfigurationError",
    "SendOutcomeUnknownError",
    "SendReceipt",
    "TransientSendError",
    "Transport",
]


@dataclass(frozen=True, slots=True)
class SendReceipt:
    """Proof that a transport handed the message over.

    Attributes:
        transport: the transport's ``name`` (``"smtp"`` or ``"outbox"``).
        accepted_at: the caller's ``now`` at the time of the send (never read from a clock).
        response: what the other side said, e.g. ``"250 2.0.0 Ok: queued as ABC"``, or for
            the outbox ``"written to local outbox /path/x.eml (not delivered: …)"``.
        path: the file the outbox wrote; ``None`` for network transports.
    """

    transport: str
    accepted_at: datetime
    response: str
    path: str | None = None


@runtime_checkable
class Transport(Protocol):
    """Something that can hand one message to the outside world.

    Implementations are not required to be thread-safe across processes, but must keep at
    most one message in flight per instance.
    """

    name: str

    def send(
        self, message: bytes, *, mail_from: str, rcpt_to: str, now: datetime, key: str
    ) -> SendReceipt:
        """Hand ``message`` over for the one recipient ``rcpt_to``.

        Args:
            message: the complete RFC 5322 message, headers and body, as bytes.
            mail_from: the envelope sender (return path); may differ from the From header.
            rcpt_to: the envelope recipient.
            now: the current time, passed in by the caller; becomes ``accepted_at``.
            key: the attempt's idempotency key (invariant 1); transports that can use it to
                avoid a second copy do so.

        Returns:
            A receipt naming the transport and quoting the other side's answer.

        Raises:
            TransientSendError: nothing was handed over; retrying later is safe.
            PermanentSendError: refused for good.
            SendOutcomeUnknownError: the message may have been accepted; do not resend
                blindly.
            SendConfigurationError: the transport's settings cannot work; nothing was sent.
        """
        ...

    def close(self) -> None:
        """Release connections and files; the transport may be used again afterwards."""
        ...


class _SendFailure(ChannelError):
    """What every send error carries: where it failed and what the server answered (see
    the module docstring for ``stage``, ``code`` and ``enhanced``)."""

    def __init__(
        self,
        message: str | None = None,
        *,
        stage: str,
        code: int | None = None,
        enhanced: str | None = None,
    ) -> None:
        super().__init__(message)
        self.stage = stage
        self.code = code
        self.enhanced = enhanced


class TransientSendError(_SendFailure, TransientChannelError):
    """The transport failed before the message was handed over; retrying later is safe."""


class PermanentSendError(_SendFailure, PermanentChannelError):
    """The other side refused the message for good; retrying will not help."""

    def __init__(
        self,
        message: str | None = None,
        *,
        stage: str,
        code: int | None = None,
        enhanced: str | None = None,
        hard_bounce: bool = False,
    ) -> None:
        super().__init__(message, stage=stage, code=code, enhanced=enhanced)
        #: True only when the recipient address itself is bad (suppress it).
        self.hard_bounce = hard_bounce


class SendConfigurationError(ConfigurationError, TransientSendError):
    """The transport is not configured so that it can work; nothing was sent, and sending
    again is safe once the settings are fixed."""


class SendOutcomeUnknownError(_SendFailure, OutcomeUnknownError):
    """The message was (partly) transmitted but no final answer came; it may have been
    accepted and must not be resent blindly."""

    def __init__(
        self,
        message: str | None = None,
        *,
        stage: str = "data",
        code: int | None = None,
        enhanced: str | None = None,
    ) -> None:
        super().__init__(message, stage=stage, code=code, enhanced=enhanced)
