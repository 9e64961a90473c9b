"""`aicmo reply …` as an operator uses it: replies that came in through the inbound path
are listed with their category and rule, filtered, and corrected; bad input says what to
do and changes nothing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

from sqlalchemy import select

from aicmo import operator_services as ops
from aicmo.cam.db_models import EventDB
from aicmo.config import get_settings
from aicmo.db.connect import make_engine, session_factory
from aicmo.operator_services.inbound.processing import process_inbound_message

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def aicmo(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AICMO_")}
    env.update(
        AICMO_DATA_DIR=str(tmp_path / "data"),
        AICMO_DATABASE_URL=f"sqlite:///{tmp_path / 'cli.db'}",
        AICMO_SECRET_KEY=get_settings().get_secret_key(),
        COLUMNS="250",
    )
    return subprocess.run(
        [sys.executable, "-m", "aicmo", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def reply(sender: str, body: str, n: int) -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = "alex@aicmo.example"
    msg["Subject"] = "Re: Hello"
    msg["Date"] = format_datetime(T0)
    msg["Message-ID"] = f"<cli-{n}@example.org>"
    msg.set_content(body)
    return msg.as_bytes()


def test_an_operator_reads_the_replies_and_corrects_one(tmp_path: Path) -> None:
    assert aicmo(tmp_path, "init").returncode == 0
    engine = make_engine(f"sqlite:///{tmp_path / 'cli.db'}")
    with session_factory(engine)() as db:
        for n, (email, body) in enumerate(
            [
                ("ana@acme.example", "Sounds interesting, tell me more."),
                ("bo@acme.example", "Kein Interesse, danke."),
            ]
        ):
            ops.create_lead(db, email=email, first_name=email.split("@")[0].title())
            process_inbound_message(db, reply(email, body, n), received_at=T0 + timedelta(hours=n))

    listed = aicmo(tmp_path, "reply", "list")
    assert listed.returncode == 0, listed.stderr
    lines = [line for line in listed.stdout.splitlines() if "acme" in line or "Ana" in line]
    assert "not_interested" in listed.stdout and "not-interested" in listed.stdout
    assert "interested" in listed.stdout and "Sounds interesting" in listed.stdout
    # Newest first: Bo's answer came an hour after Ana's.
    assert listed.stdout.index("Bo") < listed.stdout.index("Ana"), lines

    as_json = json.loads(aicmo(tmp_path, "reply", "list", "--json", "-c", "interested").stdout)
    assert [(r["lead_name"], r["rule"]) for r in as_json] == [("Ana", "interested")]
    ana = as_json[0]["id"]

    corrected = aicmo(tmp_path, "reply", "set", str(ana), "meeting_booked")
    assert corrected.returncode == 0, corrected.stderr
    assert "now meeting_booked" in corrected.stdout and "MEETING" in corrected.stdout
    same = aicmo(tmp_path, "reply", "set", str(ana), "meeting_booked")
    assert same.returncode == 0 and "nothing changed" in same.stdout

    unknown = aicmo(tmp_path, "reply", "set", str(ana), "keen")
    assert unknown.returncode == 1 and "use one of: interested" in unknown.stderr
    assert "Traceback" not in unknown.stderr
    missing = aicmo(tmp_path, "reply", "set", "999", "interested")
    assert missing.returncode == 1 and "no reply with id 999" in missing.stderr
    bad_filter = aicmo(tmp_path, "reply", "list", "--channel", "fax")
    assert bad_filter.returncode == 1 and "email or linkedin" in bad_filter.stderr

    with session_factory(engine)() as db:
        details = [
            e.detail
            for e in db.scalars(
                select(EventDB).where(EventDB.type == "REPLY_CATEGORIZED").order_by(EventDB.id)
            )
        ]
        assert [(d["category"], d["previous"], d["rule"]) for d in details] == [
            ("interested", None, "interested"),
            ("not_interested", None, "not-interested"),
            ("meeting_booked", "interested", "operator"),
        ]
    engine.dispose()
