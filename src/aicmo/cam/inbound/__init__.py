"""Inbound email classification: replies, auto-replies, bounces, complaints, opt-outs.

Pure: no I/O, no network, no clock reads (the receive time is passed in). The IMAP poller
feeds raw messages to :func:`classify_message`; the service layer records the events and
matches ``references`` to our sent attempts.
"""

from aicmo.cam.inbound.classify import classify_message
from aicmo.cam.inbound.result import InboundKind, InboundResult

__all__ = ["InboundKind", "InboundResult", "classify_message"]
