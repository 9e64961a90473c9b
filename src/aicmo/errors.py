"""The one exception tree of aicmo.

Each error's docstring is its default message. Entry points (CLI, API) map these to exit
codes and HTTP statuses; nothing below them does. Messages never carry secrets.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any


class AicmoError(Exception):
    """aicmo could not complete the operation."""

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or (self.__doc__ or "").strip())

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else ""

    def __reduce__(self) -> tuple[Any, ...]:
        # Rebuilt from its args and attributes, not by calling __init__ again (as pickling
        # would, and fail at for the subclasses' keyword-only fields): errors cross from
        # the sending process to the worker.
        return (_restore, (type(self), self.args, self.__dict__))


def _restore(cls: type[AicmoError], args: tuple[Any, ...], state: dict[str, Any]) -> AicmoError:
    error = cls.__new__(cls)
    error.args = args
    error.__dict__.update(state)
    return error


class ConfigurationError(AicmoError):
    """aicmo is not configured for this operation."""


class ValidationError(AicmoError, ValueError):
    """The input is not valid."""

    def __init__(
        self, message: str | None = None, *, field: str | None = None, line: int | None = None
    ) -> None:
        super().__init__(message)
        self.field = field
        self.line = line


class NotFoundError(AicmoError, LookupError):
    """No such record."""


class ConflictError(AicmoError):
    """The change conflicts with a record that already exists."""


class AuthenticationError(AicmoError):
    """Not signed in, or the credentials are not valid."""


class PermissionDeniedError(AicmoError):
    """Your role does not allow this in this workspace."""


class SuppressedError(AicmoError):
    """The recipient is on the suppression list; nothing was sent."""


class RateLimitedError(AicmoError):
    """A rate limit is reached; try again later."""

    def __init__(self, message: str | None = None, *, retry_at: datetime | None = None) -> None:
        super().__init__(message)
        self.retry_at = retry_at


class MailboxesDisabledError(RateLimitedError):
    """The workspace has SMTP mailboxes and every one is disabled: email waits until one
    is enabled (never the local outbox, which would look sent and deliver nothing)."""


class PayloadTooLargeError(ValidationError):
    """The input is larger than aicmo accepts here."""


class ImportFileError(ValidationError):
    """The file cannot be imported as a whole (encoding, header, format)."""


class ChannelError(AicmoError):
    """The channel could not deliver the message."""


class TransientChannelError(ChannelError):
    """The channel failed for now; the attempt may be retried later."""


class PermanentChannelError(ChannelError):
    """The channel refused the message for good; retrying will not help."""


class OutcomeUnknownError(ChannelError):
    """The send may or may not have happened; it must not be retried blindly."""


class UnsupportedFeatureError(ChannelError):
    """The channel cannot carry this part of the message."""
