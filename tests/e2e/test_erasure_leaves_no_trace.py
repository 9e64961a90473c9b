"""`aicmo lead forget` leaves nothing of the person in any file of the installation.

A whole installation in a temporary data dir, driven as a user would (real processes,
a real SQLite file in WAL mode): init, import, a campaign sent to the local outbox, a
reply through the inbound processing service, a note; then `lead forget`, while other
connections stay open on the database as `aicmo serve` and `aicmo worker` would keep
theirs. Afterwards every byte under the data dir (database, WAL, shared memory, outbox,
anything else) is searched for the person's name, address, domain, company and note.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from aicmo.cam.db_models import InboundMessageDB, OutreachMessageDB
from aicmo.db.connect import make_engine, session_factory
from aicmo.operator_services.inbound.processing import process_inbound_message

FIRST, LAST = "Zebulon", "Quixwright"
EMAIL = "zebulon.quixwright@quixwright-labs.example"
DOMAIN = "quixwright-labs.example"
COMPANY = "Quixwright Labs"
NOTE = "Prefers calls on Thursdays about the Orkney rollout"
REPLY_TEXT = "Thursday works for me, ring the Orkney office."
#: What must not survive the erasure, anywhere (searched case-insensitively).
NEEDLES = (FIRST, LAST, EMAIL, DOMAIN, COMPANY, NOTE, "Orkney", "quixwright")

CAMPAIGN = """\
name: Spring
audience:
  grade: [A, B, C, D]
steps:
  - channel: EMAIL
    template:
      subject: "A question for {{ company }}, {{ first_name }}"
      body: |
        Hi {{ first_name }} {{ last_name }}, how is {{ company }} doing?
"""


def aicmo(data: Path, *args: str) -> subprocess.CompletedProcess[str]:
    run = subprocess.run(
        [sys.executable, "-m", "aicmo", *args],
        capture_output=True,
        text=True,
        env=env_for(data),
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, f"aicmo {' '.join(args)}: {run.stdout}{run.stderr}"
    return run


def hits(data: Path) -> dict[str, list[str]]:
    """Every file under ``data`` that holds one of the needles: {file: [needles]}."""
    found: dict[str, list[str]] = {}
    for path in sorted(data.rglob("*")):
        if not path.is_file():
            continue
        blob = path.read_bytes().lower()
        seen = [n for n in NEEDLES if n.lower().encode() in blob]
        if seen:
            found[str(path.relative_to(data))] = seen
    return found


def copies(data: Path) -> int:
    """How many times the needles occur in all the files together (for the report)."""
    total = 0
    for path in data.rglob("*"):
        if path.is_file():
            blob = path.read_bytes().lower()
            total += sum(blob.count(n.lower().encode()) for n in NEEDLES)
    return total


def reply_to(outbox_file: Path) -> bytes:
    """A plain human reply to the message in ``outbox_file`` (threaded by In-Reply-To)."""
    sent = outbox_file.read_bytes().decode()
    message_id = next(
        line.split(":", 1)[1].strip()
        for line in sent.splitlines()
        if line.lower().startswith("message-id:")
    )
    when = format_datetime(datetime(2026, 12, 1, 10, 0, tzinfo=UTC))
    return (
        f"From: {FIRST} {LAST} <{EMAIL}>\r\n"
        "To: outreach@aicmo.example\r\n"
        f"Subject: Re: A question for {COMPANY}\r\n"
        f"Date: {when}\r\n"
        f"Message-ID: <CAKx81reply.0042@mail.{DOMAIN}>\r\n"
        f"In-Reply-To: {message_id}\r\n"
        f"References: {message_id}\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        "\r\n"
        f"{REPLY_TEXT}\r\n\r\n{FIRST}\r\n"
    ).encode()


#: What `aicmo serve` holds between requests: an open connection on the database; told
#: "begin" it stays inside a read transaction (a page being rendered) until "commit".
HOLDER = """
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("SELECT count(*) FROM leads").fetchall()
print("ready", flush=True)
for line in sys.stdin:
    if line.strip() == "begin":
        conn.execute("BEGIN")
        conn.execute("SELECT count(*) FROM leads").fetchall()
    elif line.strip() == "commit":
        conn.execute("COMMIT")
    print("ok", flush=True)
"""


def worker_ticks(db_file: Path) -> int:
    """Ticks the worker has finished (its heartbeat row)."""
    conn = sqlite3.connect(db_file)
    try:
        row = conn.execute("SELECT max(ticks) FROM workers").fetchone()
    finally:
        conn.close()
    return int(row[0] or 0)


def env_for(data: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AICMO_")}
    env["AICMO_DATA_DIR"] = str(data)
    return env


def tell(holder: subprocess.Popen[str], line: str) -> None:
    assert holder.stdin is not None and holder.stdout is not None
    holder.stdin.write(line + "\n")
    holder.stdin.flush()
    assert holder.stdout.readline().strip() == "ok"


@pytest.mark.parametrize("busy", [False, True], ids=["idle-reader", "reader-mid-read"])
def test_forget_leaves_no_trace_in_any_file_while_serve_and_worker_run(
    tmp_path: Path, busy: bool
) -> None:
    data = tmp_path / "data"
    aicmo(data, "init")
    db_file = data / "aicmo.db"
    leads = tmp_path / "leads.csv"
    leads.write_text(
        "Email,First Name,Last Name,Company,Title\n"
        f"{EMAIL},{FIRST},{LAST},{COMPANY},CEO\n"
        "ada@acme.example,Ada,Lovelace,Acme,CTO\n",
        encoding="utf-8",
    )
    aicmo(data, "leads", "import", str(leads))
    campaign = tmp_path / "campaign.yaml"
    campaign.write_text(CAMPAIGN, encoding="utf-8")
    aicmo(data, "campaign", "create", str(campaign))
    aicmo(data, "campaign", "start", "Spring")
    # Other processes keep the database open across the erasure (so that nobody's last
    # close checkpoints the WAL on the erasure's behalf): the worker, idle after its first
    # tick has sent the campaign, and a reader. The files are searched from this process,
    # whose reads would drop its own SQLite locks (POSIX record locks are per process).
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(db_file)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    worker = subprocess.Popen(
        [sys.executable, "-m", "aicmo", "worker", "--interval", "600"],
        env=env_for(data),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
        deadline = time.monotonic() + 120
        while worker_ticks(db_file) < 1:  # its first tick, which sends the campaign, is over
            assert time.monotonic() < deadline, "the worker finished a tick"
            time.sleep(0.2)
        assert len(list((data / "outbox").rglob("*.eml"))) == 2
        sent = [p for p in (data / "outbox").rglob("*.eml") if EMAIL in p.read_text()]
        assert len(sent) == 1
        reply = reply_to(sent[0])
        engine = make_engine(f"sqlite:///{db_file}")
        try:
            with session_factory(engine)() as db:
                out = process_inbound_message(db, reply)
                assert out["kind"] == "REPLY" and out["lead_id"] is not None
        finally:
            engine.dispose()
        aicmo(data, "lead", "note", EMAIL, NOTE)
        assert len(hits(data)) >= 2, "the setup left the person in the database and outbox"
        before = copies(data)

        release: threading.Timer | None = None
        if busy:
            # A reader inside a read transaction pins the WAL's old frames; it ends
            # soon after, as a request does.
            tell(holder, "begin")
            release = threading.Timer(1.5, tell, (holder, "commit"))
            release.start()
        forgot = aicmo(data, "lead", "forget", EMAIL, "--yes")
        if release is not None:
            release.join()
        assert "erased" in forgot.stdout
        assert (data / "aicmo.db-wal").exists(), "the other connections kept the WAL"

        leftovers = hits(data)
        assert leftovers == {}, f"{before} copies before; after the erasure: {leftovers}"
        outbox = list((data / "outbox").rglob("*.eml"))
        assert len(outbox) == 1 and "ada@acme.example" in outbox[0].read_text()
        engine = make_engine(f"sqlite:///{db_file}")
        try:
            with session_factory(engine)() as db:
                # The facts stay (an attempt was made, a reply came), without who.
                assert len(list(db.scalars(select(OutreachMessageDB)))) == 2
                inbound = db.scalar(select(InboundMessageDB))
                assert inbound is not None and inbound.kind == "REPLY"
                # The same reply read again (a mailbox re-read) is still known as seen.
                again = process_inbound_message(db, reply)
                assert again["duplicate"] is True
        finally:
            engine.dispose()
    finally:
        worker.terminate()
        worker.wait(timeout=30)
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait(timeout=30)
