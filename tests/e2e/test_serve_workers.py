"""`aicmo serve --workers 2`: two serving processes on one port, the worker once in the
parent, and the dashboard's import flow working whichever process answers each step."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.e2e.test_cli_access import _free_port, aicmo, stop_serving, wait_until_serving

ADMIN = {"AICMO_ADMIN_EMAIL": "owner@agency.example", "AICMO_ADMIN_PASSWORD": "a long passphrase"}


def _serving(pid: int) -> dict[int, int]:
    """``pid``'s serving child processes and the CPU ticks each has used (Linux /proc)."""
    found = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            command = (stat.parent / "cmdline").read_bytes()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == pid and b"spawn_main" in command:
            found[int(stat.parent.name)] = int(fields[11])  # utime
    return found


def _settled(pid: int) -> dict[int, int]:
    """The two serving processes once both have loaded the app and sit idle: CPU ticks
    used after this are answers, not start-up."""
    deadline = time.monotonic() + 60
    seen = _serving(pid)
    while True:
        time.sleep(1)
        now = _serving(pid)
        if len(now) == 2 and now == seen:
            return now
        assert time.monotonic() < deadline, f"the serving processes did not settle: {now}"
        seen = now


def test_two_serving_processes_share_the_api_and_the_dashboards_import_jobs(
    tmp_path: Path,
) -> None:
    assert aicmo(tmp_path, "init", stdin="", extra=ADMIN).returncode == 0
    key = aicmo(tmp_path, "apikey", "create", "ops").stdout.strip()
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AICMO_")}
    env.update(
        AICMO_DATA_DIR=str(tmp_path / "data"),
        AICMO_DATABASE_URL=f"sqlite:///{tmp_path / 'cli.db'}",
        AICMO_OUTBOX_DIR=str(tmp_path / "outbox"),
        TMPDIR=str(tmp_path),  # the import jobs' folders, where this test can see them
    )
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "aicmo",
            "serve",
            "--workers",
            "2",
            "--with-worker",
            "--port",
            str(port),
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(base, server)
        before = _settled(server.pid)

        h = {"Authorization": f"Bearer {key}"}
        assert {httpx.get(f"{base}/api/v1/me", headers=h).status_code for _ in range(20)} == {200}

        # A new connection for every request, as many browsers and proxies make them: each
        # step of the import may reach either process.
        fresh = httpx.Limits(max_keepalive_connections=0)
        with httpx.Client(base_url=base, limits=fresh) as browser:
            signed = browser.post(
                "/api/v1/session",
                json={"email": ADMIN["AICMO_ADMIN_EMAIL"], "password": "a long passphrase"},
            )
            assert signed.status_code == 200, signed.text
            csrf = {"X-CSRF-Token": signed.json()["csrf_token"]}
            rows = "".join(f"p{i}@lead.example,Pat{i}\n" for i in range(300))
            upload = browser.post(
                "/import",
                files={"file": ("leads.csv", f"Email,First Name\n{rows}", "text/csv")},
                headers=csrf,
            )
            assert upload.status_code == 303, upload.text
            job = upload.headers["location"]
            assert re.fullmatch(r"/import/[A-Za-z0-9_-]{16,32}", job)
            for _ in range(6):  # the mapping page, from either process
                assert browser.get(job).status_code == 200
            started = browser.post(
                f"{job}/run", data={"map_0": "email", "map_1": "first_name"}, headers=csrf
            )
            assert started.status_code == 303, started.text
            deadline = time.monotonic() + 60
            while "Importing" in (status := browser.get(f"{job}/status")).text:
                assert status.status_code == 200
                assert time.monotonic() < deadline, "the import did not end"
                time.sleep(0.3)
            assert status.status_code == 200 and "stopped" not in status.text, status.text
            again = browser.post(
                f"{job}/run", data={"map_0": "email", "map_1": "first_name"}, headers=csrf
            )
            assert again.status_code == 303  # a second start changes nothing
        listed = httpx.get(f"{base}/api/v1/leads", params={"limit": 500}, headers=h).json()
        assert len(listed["items"]) == 300
        after = _serving(server.pid)
        assert all(after[p] > before[p] for p in before), (before, after)  # both answered
    finally:
        output = stop_serving(server)
    assert "worker stopped" in output
