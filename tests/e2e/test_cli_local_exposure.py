"""What other local users can see of an installation, and the mailbox commands that keep
secrets off the command line: real processes, a real SQLite file."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy import select

from aicmo.cam.db_models import MailboxDB
from aicmo.config import Settings
from aicmo.crypto import decrypt_secret
from aicmo.db.connect import make_engine, session_factory


def aicmo(
    data: Path, *args: str, env: dict[str, str] | None = None, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in os.environ.items() if not k.startswith("AICMO_")}
    full["AICMO_DATA_DIR"] = str(data)
    full["COLUMNS"] = "200"
    full.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "aicmo", *args],
        capture_output=True,
        text=True,
        env=full,
        input=stdin,
        timeout=120,
        check=False,
    )


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_init_keeps_the_data_dir_and_every_database_file_private(tmp_path: Path) -> None:
    data = tmp_path / "data"
    assert aicmo(data, "init").returncode == 0
    assert mode(data) == 0o700
    assert mode(data / "aicmo.db") == 0o600
    leads = tmp_path / "leads.csv"
    leads.write_text("Email,First Name\nann@acme.example,Ann\n", encoding="utf-8")
    assert aicmo(data, "leads", "import", str(leads)).returncode == 0
    assert aicmo(data, "lead", "add", "email=bo@acme.example").returncode == 0
    # WAL and shared memory while another connection holds the database open.
    engine = make_engine(f"sqlite:///{data / 'aicmo.db'}")
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT count(*) FROM leads").all()
            assert aicmo(data, "lead", "note", "ann@acme.example", "hello").returncode == 0
            for side in ("aicmo.db-wal", "aicmo.db-shm"):
                assert mode(data / side) == 0o600, side
    finally:
        engine.dispose()


def test_outbox_folders_and_files_are_private(tmp_path: Path) -> None:
    data = tmp_path / "data"
    outbox = tmp_path / "elsewhere" / "outbox"
    env = {"AICMO_OUTBOX_DIR": str(outbox)}
    assert aicmo(data, "lead", "add", "email=ann@acme.example", env=env).returncode == 0
    script = (
        "from aicmo import operator_services as ops\n"
        "from aicmo.bootstrap import open_session\n"
        "with open_session() as db:\n"
        "    ops.send_outreach_message(db, 1, 'Hi', 'Hello')\n"
    )
    full = {k: v for k, v in os.environ.items() if not k.startswith("AICMO_")}
    full.update(env, AICMO_DATA_DIR=str(data))
    run = subprocess.run(
        [sys.executable, "-c", script], env=full, capture_output=True, text=True, check=False
    )
    assert run.returncode == 0, run.stderr
    files = list(outbox.rglob("*.eml"))
    assert len(files) == 1
    assert mode(outbox) == 0o700 and mode(files[0].parent) == 0o700
    assert mode(files[0]) == 0o600


def test_init_tightens_an_older_installation_but_not_a_shared_folder(tmp_path: Path) -> None:
    data = tmp_path / "data"
    assert aicmo(data, "init").returncode == 0
    os.chmod(data, 0o755)
    os.chmod(data / "aicmo.db", 0o644)
    again = aicmo(data, "init")
    assert again.returncode == 0, again.stderr
    assert mode(data) == 0o700 and mode(data / "aicmo.db") == 0o600
    assert "readable by its owner only" in again.stdout

    shared = tmp_path / "home"
    shared.mkdir(mode=0o755)
    os.chmod(shared, 0o755)
    (shared / "notes.txt").write_text("the user's own")
    run = aicmo(shared, "init")
    assert run.returncode == 0
    assert mode(shared) == 0o755  # not ours to change: said so instead
    assert "chmod 700" in run.stderr
    assert mode(shared / "aicmo.db") == 0o600


def stored_secret(data: Path, name: str, field: str = "smtp_secret") -> str:
    engine = make_engine(f"sqlite:///{data / 'aicmo.db'}")
    try:
        with session_factory(engine)() as db:
            row = db.scalar(select(MailboxDB).where(MailboxDB.name == name))
            assert row is not None
            token = getattr(row, field)
    finally:
        engine.dispose()
    secret_key = (data / "secret.key").read_text().strip()
    return decrypt_secret(token, Settings(secret_key=SecretStr(secret_key)))


def test_mailbox_password_change_disable_and_enable(tmp_path: Path) -> None:
    data = tmp_path / "data"
    pw = {"SMTP_PW": "first-secret"}
    added = aicmo(
        data,
        "mailbox",
        "add",
        "sales",
        "--from",
        "alex@acme.example",
        "--smtp-host",
        "smtp.acme.example",
        "--smtp-user",
        "alex",
        "--smtp-password-env",
        "SMTP_PW",
        env=pw,
    )
    assert added.returncode == 0, added.stderr
    changed = aicmo(
        data,
        "mailbox",
        "set-password",
        "sales",
        "--password-env",
        "NEW_PW",
        env={"NEW_PW": "second-secret"},
    )
    assert changed.returncode == 0, changed.stderr
    assert "second-secret" not in changed.stdout + changed.stderr
    assert stored_secret(data, "sales") == "second-secret"
    prompted = aicmo(data, "mailbox", "set-password", "sales", stdin="third-secret\nthird-secret\n")
    assert prompted.returncode == 0, prompted.stderr
    assert stored_secret(data, "sales") == "third-secret"
    mismatch = aicmo(data, "mailbox", "set-password", "sales", stdin="one\ntwo\n")
    assert mismatch.returncode != 0 and stored_secret(data, "sales") == "third-secret"

    last = aicmo(data, "mailbox", "disable", "sales")
    assert last.returncode == 0, last.stderr
    assert "email waits until one is enabled" in last.stdout
    assert "│ no" in aicmo(data, "mailbox", "list").stdout
    assert aicmo(data, "mailbox", "enable", "sales").returncode == 0
    assert "│ yes" in aicmo(data, "mailbox", "list").stdout
    missing = aicmo(data, "mailbox", "disable", "nope")
    assert missing.returncode == 1 and "no mailbox 'nope'" in missing.stderr


@pytest.mark.parametrize("allow", [False, True])
def test_a_plaintext_password_to_another_host_must_be_allowed(tmp_path: Path, allow: bool) -> None:
    data = tmp_path / "data"
    args = [
        "mailbox", "add", "relay", "--from", "alex@acme.example",
        "--smtp-host", "smtp.acme.example", "--smtp-security", "none",
        "--smtp-user", "alex", "--smtp-password-env", "PW",
    ]  # fmt: skip
    run = aicmo(data, *args, *(["--allow-plaintext"] if allow else []), env={"PW": "s3cret"})
    if allow:
        assert run.returncode == 0, run.stderr
    else:
        assert run.returncode == 1 and "--allow-plaintext" in run.stderr
        assert "Traceback" not in run.stderr and "s3cret" not in run.stderr


def test_a_sender_name_that_reorders_itself_is_a_clear_error(tmp_path: Path) -> None:
    run = aicmo(tmp_path / "data", "channels", "list", env={"AICMO_SENDER_NAME": "Al\u202eice"})
    assert run.returncode == 1
    assert "AICMO_SENDER_NAME" in run.stderr and "U+202E" in run.stderr
    assert "Traceback" not in run.stderr
