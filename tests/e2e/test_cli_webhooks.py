"""`aicmo webhook …` as an operator uses it: register (refused URLs and names say why),
list, deliver to a real receiver on loopback, read the attempt log, replay, remove."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from aicmo.config import get_settings
from tests.webhook_receiver import receiver


def aicmo(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AICMO_")}
    env.update(
        AICMO_DATA_DIR=str(tmp_path / "data"),
        AICMO_DATABASE_URL=f"sqlite:///{tmp_path / 'cli.db'}",
        AICMO_SECRET_KEY=get_settings().get_secret_key(),
        AICMO_ALLOW_LOOPBACK="1",
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


def test_an_operator_registers_a_webhook_and_follows_its_deliveries(tmp_path: Path) -> None:
    assert aicmo(tmp_path, "init").returncode == 0
    refused = aicmo(tmp_path, "webhook", "add", "https://10.0.0.5/in", "--events", "lead.created")
    assert refused.returncode == 1 and "10.0.0.5 is" in refused.stderr
    assert "Traceback" not in refused.stderr
    unknown = aicmo(tmp_path, "webhook", "add", "https://127.0.0.1/in", "--events", "lead.creatd")
    assert unknown.returncode == 1 and "unknown event(s): lead.creatd" in unknown.stderr
    plain = aicmo(tmp_path, "webhook", "add", "http://hooks.example/in", "--events", "lead.created")
    assert plain.returncode == 1 and "https" in plain.stderr

    with receiver() as rx:
        added = aicmo(
            tmp_path, "webhook", "add", rx.url, "--events", "lead.created,lead.unsubscribed"
        )
        assert added.returncode == 0, added.stderr
        rx.secret = added.stdout.strip()
        assert rx.secret.startswith("whsec_") and "shown this once" in added.stderr
        listed = aicmo(tmp_path, "webhook", "list")
        assert rx.url in listed.stdout and "lead.created" in listed.stdout
        assert rx.secret not in listed.stdout

        assert aicmo(tmp_path, "lead", "add", "email=jo@acme.example").returncode == 0
        sent = aicmo(tmp_path, "webhook", "deliver")
        assert sent.returncode == 0 and "delivered 1" in sent.stdout, sent.stdout + sent.stderr
        log = aicmo(tmp_path, "webhook", "deliveries", "1")
        assert (
            "SUCCEEDED" in log.stdout and "HTTP 200" in log.stdout and "lead.created" in log.stdout
        )

        replay = aicmo(tmp_path, "webhook", "replay", "1", "1")
        assert replay.returncode == 0 and "queued again" in replay.stdout
        assert "delivered 1" in aicmo(tmp_path, "webhook", "deliver").stdout
        assert [r.verified for r in rx.received] == [True, True]
        assert rx.received[0].webhook_id == rx.received[1].webhook_id

        missing = aicmo(tmp_path, "webhook", "replay", "7", "1")
        assert missing.returncode == 1 and "no webhook endpoint #7" in missing.stderr
        assert aicmo(tmp_path, "webhook", "remove", "1").returncode == 0
        assert rx.url not in aicmo(tmp_path, "webhook", "list").stdout
