"""The local outbox transport: each message becomes one ``.eml`` file in a directory.

This is a real transport, not a fake (see DESIGN.md, "Never fake a send"): what it does is
write the file, and its receipt says exactly that - the message was written to the local
outbox and *not* delivered to the recipient, because no mailbox is configured. It is the
default for a first run and the demo.

Layout: ``<directory>/<YYYY-MM-DD>/<safe-name>.eml``, the date being the caller's ``now``.
The safe name is a short slug of the idempotency key plus a SHA-256 prefix of it, so any key
(``../../etc/passwd``, 10 KB of text, emoji, NUL) gives one bounded file name inside the
directory, and two keys never share a file. Writes are atomic (temporary file in the same
directory, fsync, :func:`os.replace`), files are mode 0600 and new directories 0700
(messages hold personal data). Sending the same key twice, on any day, writes nothing the
second time and returns a receipt for the file already there (invariant 1).

Erasure (:meth:`OutboxTransport.erase`) finds a person's files the way a send does, by the
attempt's key (and the path its receipt recorded), never by searching the files' text.

It reads no clock and opens no network connection.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import tempfile
import unicodedata
from collections.abc import Iterable
from datetime import date, datetime
from pathlib import Path

from aicmo.errors import ValidationError
from aicmo.transports.base import SendConfigurationError, SendReceipt, TransientSendError

__all__ = ["NOT_DELIVERED", "OutboxTransport", "outbox_file_name", "receipt_path"]

#: Appended to every outbox receipt so nobody mistakes a written file for a delivery.
NOT_DELIVERED = "not delivered: no mailbox configured"

_SLUG_CHARS = 48
_HASH_CHARS = 20
_NON_SLUG = re.compile(r"[^a-z0-9]+")
#: The path in a receipt's response ("written to local outbox PATH (not delivered: …)").
_RECEIPT_PATH = re.compile(r"local outbox (.+?\.eml) \(")


def outbox_file_name(key: str) -> str:
    """The file name (with ``.eml``) that the message for ``key`` is stored under.

    A readable slug of the key (ASCII letters and digits, at most 48 characters) followed by
    the first 20 hex digits of the key's SHA-256. It never contains a path separator, never
    starts with a dot, and is at most 73 characters long.

    Raises:
        ValidationError: the key is empty.
    """
    if not key:
        raise ValidationError("An outbox message needs a non-empty idempotency key", field="key")
    digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:_HASH_CHARS]
    ascii_key = unicodedata.normalize("NFKD", key).encode("ascii", "ignore").decode("ascii")
    slug = _NON_SLUG.sub("-", ascii_key.lower()).strip("-")[:_SLUG_CHARS].rstrip("-")
    return f"{slug}-{digest}.eml" if slug else f"{digest}.eml"


class OutboxTransport:
    """Writes each message as an ``.eml`` file under ``directory`` (see the module docstring).

    Args:
        directory: the outbox root (``AICMO_OUTBOX_DIR``); created on the first send.
    """

    name: str = "outbox"

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)

    def __repr__(self) -> str:
        return f"OutboxTransport(directory={str(self.directory)!r})"

    def find(self, key: str) -> Path | None:
        """The file already written for ``key`` (on any day), or ``None``."""
        name = outbox_file_name(key)
        if not self.directory.is_dir():
            return None
        for day in sorted(self.directory.iterdir()):
            candidate = day / name
            if candidate.is_file():
                return candidate
        return None

    def send(
        self, message: bytes, *, mail_from: str, rcpt_to: str, now: datetime, key: str
    ) -> SendReceipt:
        """Write ``message`` to the outbox unless a file for ``key`` already exists.

        ``mail_from`` and ``rcpt_to`` are not written: the file holds the message exactly as
        given (its From and To headers say who it is from and for).

        Returns:
            A receipt with ``transport="outbox"``, the file's ``path`` and a ``response``
            saying it was written (or was already there) and not delivered.

        Raises:
            ValidationError: ``key`` is empty.
            SendConfigurationError: the outbox directory cannot be created or written to
                (also an :class:`aicmo.errors.ConfigurationError`).
            TransientSendError: the write failed for another reason (disk full, I/O error);
                nothing was left behind.
        """
        name = outbox_file_name(key)
        existing = self.find(key)
        if existing is not None:
            return SendReceipt(
                transport=self.name,
                accepted_at=now,
                response=(
                    f"already in local outbox {existing} (written earlier for this key, "
                    f"not written again; {NOT_DELIVERED})"
                ),
                path=str(existing),
            )
        day_dir = self.directory / now.date().isoformat()
        try:
            # Each level 0700 (mkdir's parents would get the umask's mode).
            self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            day_dir.mkdir(mode=0o700, exist_ok=True)
            path = _write_atomically(day_dir, name, bytes(message))
        except (PermissionError, NotADirectoryError, FileExistsError) as err:
            raise SendConfigurationError(
                f"The outbox directory {self.directory} cannot be written to "
                f"({err.strerror or type(err).__name__}); set AICMO_OUTBOX_DIR to a writable "
                "directory",
                stage="write",
            ) from err
        except OSError as err:
            raise TransientSendError(
                f"Could not write to the local outbox {self.directory} "
                f"({err.strerror or type(err).__name__}); nothing was written",
                stage="write",
            ) from err
        return SendReceipt(
            transport=self.name,
            accepted_at=now,
            response=f"written to local outbox {path} ({NOT_DELIVERED})",
            path=str(path),
        )

    def erase(self, key: str, recorded: Iterable[str | None] = ()) -> list[Path]:
        """Delete the message written for ``key`` (erasure); the paths deleted.

        The file is looked for under today's directory (any day) and at each ``recorded``
        path (a receipt's response or path, for files written while ``AICMO_OUTBOX_DIR``
        pointed elsewhere). A recorded path is deleted only when its name is the one
        derived from ``key``: a stored path can never make this delete another file.

        Raises:
            OSError: a file could not be deleted (the ones before it are gone).
        """
        name = outbox_file_name(key)
        candidates: list[Path] = []
        found = self.find(key)
        if found is not None:
            candidates.append(found)
        for text in recorded:
            path = receipt_path(text) if text else None
            if path is not None and path.name == name and path not in candidates:
                candidates.append(path)
        erased: list[Path] = []
        for path in candidates:
            try:
                path.unlink()
            except FileNotFoundError:
                continue
            _fsync_directory(path.parent)
            erased.append(path)
        return erased

    def prune(self, before: date) -> list[Path]:
        """Delete the messages written on days before ``before`` (retention); the files
        deleted. Only ``YYYY-MM-DD`` day folders are looked at, and in them only ``.eml``
        files; a day folder left empty is removed.

        Raises:
            OSError: a file could not be deleted (the ones before it are gone).
        """
        if not self.directory.is_dir():
            return []
        deleted: list[Path] = []
        for day_dir in sorted(self.directory.iterdir()):
            try:
                day = date.fromisoformat(day_dir.name)
            except ValueError:
                continue
            if day >= before or not day_dir.is_dir():
                continue
            for path in sorted(day_dir.glob("*.eml")):
                path.unlink()
                deleted.append(path)
            if not any(day_dir.iterdir()):
                day_dir.rmdir()
            _fsync_directory(self.directory)
        return deleted

    def close(self) -> None:
        """Nothing to release: every send opens and closes its own files."""


def receipt_path(text: str) -> Path | None:
    """The file named by an outbox receipt's response (or a bare ``.eml`` path), if any."""
    match = _RECEIPT_PATH.search(text)
    if match is not None:
        return Path(match.group(1))
    return Path(text) if text.endswith(".eml") else None


def _write_atomically(directory: Path, name: str, data: bytes) -> Path:
    """Write ``data`` to ``directory/name`` so that readers see all of it or nothing."""
    target = directory / name
    fd, tmp_name = tempfile.mkstemp(dir=directory, prefix=".tmp-", suffix=".eml")  # mode 0600
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp_name, 0o600)
        os.replace(tmp_name, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
        raise
    _fsync_directory(directory)
    return target


def _fsync_directory(directory: Path) -> None:
    """Make the rename durable (POSIX); a no-op where directories cannot be opened."""
    try:
        dir_fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        with contextlib.suppress(OSError):
            os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
