"""The local outbox transport: atomic private .eml files, one per idempotency key, honest
receipts, and file names that stay inside the directory whatever the key."""

from __future__ import annotations

import errno
import os
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aicmo.errors import ConfigurationError, TransientChannelError, ValidationError
from aicmo.transports.base import (
    SendConfigurationError,
    SendReceipt,
    TransientSendError,
    Transport,
)
from aicmo.transports.outbox import OutboxTransport, outbox_file_name

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
MESSAGE = (
    b"From: Ana <ana@acme.example>\r\n"
    b"To: Bo <bo@client.example>\r\n"
    b"Subject: Quick question\r\n"
    b"\r\n"
    b"Hi Bo,\r\n"
    b"Gr\xc3\xbc\xc3\x9fe\r\n"
)


def send(
    outbox: OutboxTransport, key: str, message: bytes = MESSAGE, now: datetime = NOW
) -> SendReceipt:
    return outbox.send(
        message, mail_from="ana@acme.example", rcpt_to="bo@client.example", now=now, key=key
    )


def files_under(directory: Path) -> list[Path]:
    return sorted(p for p in directory.rglob("*") if p.is_file())


def test_a_message_is_written_to_a_dated_file_with_mode_0600(tmp_path: Path) -> None:
    outbox = OutboxTransport(tmp_path / "outbox")
    receipt = send(outbox, "enrollment-7:step-1:email:1")
    assert receipt.path is not None
    path = Path(receipt.path)
    assert path.parent == tmp_path / "outbox" / "2026-03-02"
    assert path.suffix == ".eml"
    assert path.read_bytes() == MESSAGE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert files_under(tmp_path) == [path]


def test_the_receipt_says_the_message_was_written_locally_and_not_delivered(
    tmp_path: Path,
) -> None:
    receipt = send(OutboxTransport(tmp_path), "k-1")
    assert receipt.transport == "outbox"
    assert receipt.accepted_at == NOW
    assert receipt.response == (
        f"written to local outbox {receipt.path} (not delivered: no mailbox configured)"
    )


def test_new_directories_are_private(tmp_path: Path) -> None:
    receipt = send(OutboxTransport(tmp_path / "outbox"), "k-1")
    assert receipt.path is not None
    day_dir = Path(receipt.path).parent
    assert stat.S_IMODE(day_dir.stat().st_mode) & 0o077 == 0


def test_sending_the_same_key_twice_writes_one_file_and_says_so(tmp_path: Path) -> None:
    outbox = OutboxTransport(tmp_path)
    first = send(outbox, "k-1")
    second = send(outbox, "k-1", message=MESSAGE + b"changed\r\n")
    assert second.path == first.path
    assert second.response.startswith(f"already in local outbox {first.path}")
    assert "not written again" in second.response
    assert "not delivered" in second.response
    assert files_under(tmp_path) == [Path(str(first.path))]
    assert Path(str(first.path)).read_bytes() == MESSAGE


def test_a_retry_on_a_later_day_finds_the_file_written_earlier(tmp_path: Path) -> None:
    outbox = OutboxTransport(tmp_path)
    first = send(outbox, "k-1")
    later = send(outbox, "k-1", now=NOW + timedelta(days=3))
    assert later.path == first.path
    assert later.accepted_at == NOW + timedelta(days=3)
    assert len(files_under(tmp_path)) == 1


def test_different_keys_get_different_files(tmp_path: Path) -> None:
    outbox = OutboxTransport(tmp_path)
    keys = ["k-1", "K-1", "k_1", "k 1", "k-1 ", "k/1"]
    paths = {send(outbox, key).path for key in keys}
    assert len(paths) == len(keys)
    assert len(files_under(tmp_path)) == len(keys)


@pytest.mark.parametrize(
    "key",
    [
        "../../etc/passwd",
        "/etc/passwd",
        "..",
        ".",
        "a/../../b",
        "..\\..\\windows\\system32",
        "x" * 10_240,
        "🚀" * 3000,
        "Zoë Ünïcødé — 東京",
        "nul\x00byte",
        "CON",
        "\ud800 lone surrogate",
        " ",
    ],
)
def test_any_key_gives_one_bounded_file_inside_the_directory(tmp_path: Path, key: str) -> None:
    root = tmp_path / "outbox"
    receipt = send(OutboxTransport(root), key)
    assert receipt.path is not None
    path = Path(receipt.path)
    assert path.resolve().parent == (root / "2026-03-02").resolve()
    assert len(path.name) <= 80
    assert not path.name.startswith(".")
    assert files_under(tmp_path) == [path]
    assert list(tmp_path.iterdir()) == [root]


@settings(max_examples=200, deadline=None)
@given(st.text(min_size=1, max_size=300))
def test_every_file_name_is_a_single_safe_component(key: str) -> None:
    name = outbox_file_name(key)
    assert name.endswith(".eml")
    assert len(name) <= 73
    assert "/" not in name
    assert "\\" not in name
    assert "\x00" not in name
    assert not name.startswith(".")
    assert name.isascii()
    assert name == outbox_file_name(key)  # stable: the same key finds the same file


def test_the_file_name_keeps_a_readable_slug_of_the_key() -> None:
    assert outbox_file_name("Enrollment 7 / Step 1").startswith("enrollment-7-step-1-")
    assert outbox_file_name("Zoë").startswith("zoe-")


def test_an_empty_key_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValidationError):
        send(OutboxTransport(tmp_path), "")
    assert files_under(tmp_path) == []


def test_no_temporary_file_is_left_behind(tmp_path: Path) -> None:
    outbox = OutboxTransport(tmp_path)
    for n in range(5):
        send(outbox, f"k-{n}")
    assert all(not p.name.startswith(".tmp-") for p in tmp_path.rglob("*"))


def test_an_outbox_path_that_is_a_file_is_a_configuration_error(tmp_path: Path) -> None:
    blocker = tmp_path / "outbox"
    blocker.write_text("not a directory")
    with pytest.raises(ConfigurationError) as caught:
        send(OutboxTransport(blocker), "k-1")
    assert isinstance(caught.value, SendConfigurationError)
    assert isinstance(caught.value, TransientChannelError)  # nothing was written
    assert caught.value.stage == "write"
    assert "AICMO_OUTBOX_DIR" in str(caught.value)


def test_a_permission_error_is_a_configuration_error_and_leaves_nothing_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(src: str, dst: Path) -> None:
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(SendConfigurationError) as caught:
        send(OutboxTransport(tmp_path), "k-1")
    assert "Permission denied" in str(caught.value)
    assert files_under(tmp_path) == []


def test_a_full_disk_is_a_transient_error_and_leaves_nothing_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(TransientSendError) as caught:
        send(OutboxTransport(tmp_path), "k-1")
    assert not isinstance(caught.value, ConfigurationError)
    assert caught.value.stage == "write"
    assert "No space left" in str(caught.value)
    assert files_under(tmp_path) == []


def test_the_outbox_satisfies_the_transport_interface(tmp_path: Path) -> None:
    transport: Transport = OutboxTransport(tmp_path)
    assert isinstance(transport, Transport)
    assert transport.name == "outbox"
    transport.close()
    assert "OutboxTransport" in repr(transport)


def test_erase_deletes_the_keys_file_and_never_another_named_by_a_stored_path(
    tmp_path: Path,
) -> None:
    outbox = OutboxTransport(tmp_path / "outbox")
    mine = Path(send(outbox, "enr:1:s0").path or "")
    other = Path(send(outbox, "enr:2:s0").path or "")
    precious = tmp_path / "precious.eml"
    precious.write_bytes(b"not the outbox's")
    moved = tmp_path / "old-outbox" / "2026-01-01" / mine.name
    moved.parent.mkdir(parents=True)
    moved.write_bytes(MESSAGE)
    recorded = [f"written to local outbox {moved} (not delivered: no mailbox configured)"]

    erased = outbox.erase("enr:1:s0", [*recorded, str(precious), str(other), None])

    assert sorted(erased) == sorted([mine, moved])
    assert not mine.exists() and not moved.exists()
    assert other.exists() and precious.exists()
    assert outbox.erase("enr:1:s0", recorded) == []  # already gone: nothing to do
