"""Secrets at rest: Fernet (AES-128-CBC + HMAC) keyed from the settings' secret key.

Mailbox passwords, OAuth tokens and DKIM keys are stored only as Fernet tokens. A token
made under another key cannot be read; the error says so rather than leaking anything.
"""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken

from aicmo.config import Settings, get_settings
from aicmo.errors import ConfigurationError


def _fernet(secret_key: str) -> Fernet:
    digest = hashlib.sha256(b"aicmo/secrets-at-rest/v1\x00" + secret_key.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def encrypt_secret(plaintext: str, settings: Settings | None = None) -> str:
    """A Fernet token for the secret (empty input is refused: store None instead)."""
    if not plaintext:
        raise ConfigurationError("refusing to store an empty secret")
    key = (settings or get_settings()).get_secret_key()
    return _fernet(key).encrypt(plaintext.encode()).decode("ascii")


def decrypt_secret(token: str, settings: Settings | None = None) -> str:
    key = (settings or get_settings()).get_secret_key()
    try:
        return _fernet(key).decrypt(token.encode("ascii")).decode()
    except (InvalidToken, ValueError) as err:
        raise ConfigurationError(
            "a stored secret cannot be decrypted with the current secret key "
            "(was AICMO_SECRET_KEY or the key file changed?); set the mailbox secret again"
        ) from err
