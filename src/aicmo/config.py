"""Settings: one object, read from ``AICMO_*`` environment variables.

The secret key signs tokens and encrypts secrets at rest. When ``AICMO_SECRET_KEY`` is
unset it is read from ``<data dir>/secret.key`` (written by ``aicmo init``, mode 0600).
"""

from __future__ import annotations

import os
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import platformdirs
from pydantic import Field, SecretStr, field_validator
from pydantic import ValidationError as SettingsError
from pydantic_settings import BaseSettings, SettingsConfigDict

from aicmo.bidi import bidi_message
from aicmo.errors import ConfigurationError

SECRET_KEY_FILE = "secret.key"  # noqa: S105 -- a file name, not a secret


def default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir("aicmo", appauthor=False))


class Settings(BaseSettings):
    """Everything aicmo reads from its environment."""

    model_config = SettingsConfigDict(env_prefix="AICMO_", extra="ignore")

    data_dir: Path = Field(default_factory=default_data_dir)
    database_url: str | None = None
    secret_key: SecretStr | None = None
    public_url: str = "https://localhost:8000"
    outbox_dir: Path | None = None
    timezone: str = "UTC"
    allow_loopback: bool = False
    sender_name: str = ""
    sender_email: str = "outreach@aicmo.example"
    sender_postal_address: str | None = None
    #: Who a contact form says is writing (name and email above; these fill the rest).
    sender_company: str = ""
    sender_phone: str = ""
    sender_website: str = ""
    sender_title: str = ""
    sender_country: str = ""
    #: City and state/province/region, for forms that require them.
    sender_city: str = ""
    sender_state: str = ""
    #: The worker's SMTP sends go through a child process of their own (see
    #: ``aicmo.transports.send_process``); off, a thread of the worker sends them.
    sending_process: bool = True
    #: Days a message's text is kept (sent bodies and subjects, replies' texts, raw
    #: notifications, closed tasks' texts, outbox files); events and rollups are kept.
    #: Unset (the default): kept forever. See ``aicmo retention prune``.
    retention_days: int | None = Field(default=None, ge=1, le=36_500)
    #: Hours between two form submissions to one site (any campaign).
    form_domain_gap_hours: float = 24.0
    #: SendGrid Event Webhook verification key (base64 DER, from SendGrid's settings).
    sendgrid_webhook_public_key: str | None = None
    #: Comma-separated SNS topic ARNs whose SES notifications are accepted.
    ses_topic_arns: str | None = None
    #: The weekly digest, sent by the worker: comma-separated addresses and/or user
    #: accounts (their sign-in addresses; they must belong to the workspace). Unset: off.
    digest_to: str | None = None
    digest_users: str | None = None
    #: When: a day of the week and an hour (0-23) in ``timezone``.
    digest_weekday: Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"] = "mon"
    digest_hour: int = Field(default=8, ge=0, le=23)
    #: The mailbox it goes out through (name or id); unset: the local outbox.
    digest_mailbox: str | None = None
    #: Whose campaigns it covers (slug or id).
    digest_workspace: str = "default"
    #: Attribution: touches older than this many days before an outcome earn no credit.
    attribution_lookback_days: int = Field(default=90, ge=1, le=3650)

    @field_validator("digest_weekday", mode="before")
    @classmethod
    def _weekday(cls, value: object) -> object:
        """``Monday``, ``MON`` and ``mon`` all mean Monday."""
        return value.strip().lower()[:3] if isinstance(value, str) else value

    @property
    def ses_topics(self) -> frozenset[str] | None:
        if not self.ses_topic_arns:
            return None
        return frozenset(t.strip() for t in self.ses_topic_arns.split(",") if t.strip())

    @field_validator("sender_name", "sender_company", "sender_title")
    @classmethod
    def _no_bidi_controls(cls, value: str) -> str:
        """A display name shows in every From line and form: no reordering tricks."""
        problem = bidi_message("the value", value)
        if problem is not None:
            raise ValueError(problem)
        return value

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as err:
            raise ValueError(
                f"unknown time zone {value!r} (use an IANA name such as Europe/Paris)"
            ) from err
        return value

    @property
    def resolved_database_url(self) -> str:
        """The database URL, defaulting to a SQLite file in the data dir."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'aicmo.db'}"

    @property
    def resolved_outbox_dir(self) -> Path:
        return self.outbox_dir or self.data_dir / "outbox"

    @property
    def secret_key_path(self) -> Path:
        return self.data_dir / SECRET_KEY_FILE

    def get_secret_key(self) -> str:
        """The secret key; raises ConfigurationError when there is none yet."""
        if self.secret_key is not None and self.secret_key.get_secret_value():
            return self.secret_key.get_secret_value()
        try:
            key = self.secret_key_path.read_text(encoding="ascii").strip()
        except FileNotFoundError:
            key = ""
        if not key:
            raise ConfigurationError(
                "no secret key: set AICMO_SECRET_KEY or run `aicmo init` to create "
                f"{self.secret_key_path}"
            )
        return key

    def ensure_secret_key(self) -> Path | None:
        """Write a new key file (mode 0600) unless a key is already available.

        Returns the path written, or None when nothing was written.
        """
        if self.secret_key is not None and self.secret_key.get_secret_value():
            return None
        path = self.secret_key_path
        if path.exists() and path.read_text(encoding="ascii").strip():
            return None
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as fh:
            fh.write(secrets.token_urlsafe(48) + "\n")
        os.chmod(path, 0o600)
        return path


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (read once; tests clear the cache).

    Raises:
        ConfigurationError: an ``AICMO_*`` variable has a bad value (named), so that the
            entry points show one line, not pydantic's report.
    """
    try:
        return Settings()
    except SettingsError as err:
        problems = "; ".join(
            f"AICMO_{'_'.join(str(p) for p in e['loc']).upper()}: "
            f"{str(e['msg']).removeprefix('Value error, ')}"
            for e in err.errors()
        )
        raise ConfigurationError(f"bad setting: {problems}") from None
