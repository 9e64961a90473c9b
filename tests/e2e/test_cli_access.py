"""Accounts from the command line, as an operator sets up an installation: the first
admin from `aicmo init`, workspaces, users, keys, and a key used against the API."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from aicmo.config import get_settings
from aicmo.web.app import create_app
from tests.http_server import serve


def aicmo(
    tmp_path: Path, *args: str, stdin: str | None = None, extra: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AICMO_")}
    env["AICMO_DATA_DIR"] = str(tmp_path / "data")
    env["AICMO_DATABASE_URL"] = f"sqlite:///{tmp_path / 'cli.db'}"
    env["COLUMNS"] = "200"
    env.update(extra or {})
    return subprocess.run(
        [sys.executable, "-m", "aicmo", *args],
        capture_output=True,
        text=True,
        env=env,
        input=stdin,
        timeout=120,
        check=False,
    )


def test_init_without_a_password_or_terminal_says_how_to_create_an_admin(tmp_path: Path) -> None:
    run = aicmo(tmp_path, "init", stdin="")
    assert run.returncode == 0, run.stderr
    assert "aicmo user add" in run.stdout
    assert "@" not in aicmo(tmp_path, "user", "list").stdout  # nobody was created


def test_the_first_admin_comes_from_the_environment_never_argv(tmp_path: Path) -> None:
    secret = "correct horse battery staple"
    run = aicmo(
        tmp_path,
        "init",
        stdin="",
        extra={"AICMO_ADMIN_EMAIL": "Boss@Agency.example", "AICMO_ADMIN_PASSWORD": secret},
    )
    assert run.returncode == 0, run.stderr
    assert "Admin boss@agency.example created" in run.stdout
    assert secret not in run.stdout + run.stderr
    users = aicmo(tmp_path, "user", "list")
    assert "boss@agency.example" in users.stdout and "admin" in users.stdout
    again = aicmo(tmp_path, "init", stdin="", extra={"AICMO_ADMIN_PASSWORD": "whatever-else-1"})
    assert "Admin" not in again.stdout  # only ever the first


def test_a_short_password_is_refused_and_a_new_user_needs_one(tmp_path: Path) -> None:
    aicmo(tmp_path, "init", stdin="")
    short = aicmo(
        tmp_path, "user", "add", "sdr@agency.example", "--password-stdin", stdin="short\n"
    )
    assert short.returncode == 1 and "at least 12 characters" in short.stderr
    none = aicmo(tmp_path, "user", "add", "sdr@agency.example", stdin="")
    assert none.returncode == 1 and "--password-stdin" in none.stderr
    ok = aicmo(
        tmp_path,
        "user",
        "add",
        "sdr@agency.example",
        "--role",
        "viewer",
        "--password-stdin",
        stdin="a long enough passphrase\n",
    )
    assert ok.returncode == 0 and "viewer" in ok.stdout


def test_a_key_made_on_the_command_line_opens_only_its_workspace(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert aicmo(tmp_path, "init", stdin="").returncode == 0
    made = aicmo(tmp_path, "workspace", "create", "client-a", "--name", "Client A")
    assert made.returncode == 0, made.stderr
    bad = aicmo(tmp_path, "workspace", "create", "Client A!")
    assert bad.returncode == 1 and "slug" in bad.stderr
    key_run = aicmo(tmp_path, "apikey", "create", "zapier", "--workspace", "client-a")
    assert key_run.returncode == 0, key_run.stderr
    key = key_run.stdout.strip()
    assert key.startswith("aicmo_") and "\n" not in key
    assert "shown again" in key_run.stderr
    listed = aicmo(tmp_path, "apikey", "list", "--workspace", "client-a")
    assert "zapier" in listed.stdout and key not in listed.stdout
    monkeypatch.setenv("AICMO_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    get_settings.cache_clear()
    with serve(create_app()) as base:
        h = {"Authorization": f"Bearer {key}"}
        me = httpx.get(f"{base}/api/v1/me", headers=h).json()
        assert me["workspace"] == "client-a" and me["role"] == "operator"
        lead = httpx.post(f"{base}/api/v1/leads", json={"email": "x@lead.example"}, headers=h)
        assert lead.status_code == 201
        key_id = lead.json()["workspace_id"]
        assert key_id != 1
        revoked = aicmo(tmp_path, "apikey", "revoke", "1", "--workspace", "client-a")
        assert revoked.returncode == 0, revoked.stderr
        assert httpx.get(f"{base}/api/v1/me", headers=h).status_code == 401
    in_default = aicmo(tmp_path, "leads", "list")
    assert "x@lead.example" not in in_default.stdout


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until_serving(base: str, server: subprocess.Popen[str], timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert server.poll() is None, "the server stopped"
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.2)


def stop_serving(server: subprocess.Popen[str]) -> str:
    """Stop the server as a service manager does (SIGTERM); its output, once it has exited
    cleanly."""
    server.send_signal(signal.SIGTERM)
    try:
        output, _ = server.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        server.kill()
        raise
    assert server.returncode == 0, output
    return output


def test_serve_with_worker_sends_what_the_api_started_and_stops_cleanly(tmp_path: Path) -> None:
    outbox = tmp_path / "outbox"
    extra = {"AICMO_OUTBOX_DIR": str(outbox)}
    assert aicmo(tmp_path, "init", stdin="", extra=extra).returncode == 0
    key = aicmo(tmp_path, "apikey", "create", "ops", extra=extra).stdout.strip()
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AICMO_")}
    env.update(
        AICMO_DATA_DIR=str(tmp_path / "data"),
        AICMO_DATABASE_URL=f"sqlite:///{tmp_path / 'cli.db'}",
        **extra,
    )
    server = subprocess.Popen(
        [sys.executable, "-m", "aicmo", "serve", "--with-worker", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    h = {"Authorization": f"Bearer {key}"}
    try:
        wait_until_serving(base, server)
        lead = httpx.post(
            f"{base}/api/v1/leads",
            json={"email": "dana@lead.example", "first_name": "Dana"},
            headers=h,
        )
        assert lead.status_code == 201, lead.text
        made = httpx.post(
            f"{base}/api/v1/campaigns",
            json={
                "name": "hello",
                "steps": [
                    {
                        "channel": "EMAIL",
                        "template": {"subject": "Hi {{ first_name }}", "body": "Hello"},
                    }
                ],
            },
            headers=h,
        )
        assert made.status_code == 201, made.text
        started = httpx.post(f"{base}/api/v1/campaigns/{made.json()['id']}/start", headers=h)
        assert started.json()["enrolled"] == 1
        deadline = time.monotonic() + 90
        while not list(outbox.rglob("*.eml")):
            assert time.monotonic() < deadline, "the in-process worker sent nothing"
            time.sleep(0.5)
        sent = list(outbox.rglob("*.eml"))
        assert len(sent) == 1 and b"Subject: Hi Dana" in sent[0].read_bytes()
        history = httpx.get(f"{base}/api/v1/leads/{lead.json()['id']}/attempts", headers=h)
        assert [a["status"] for a in history.json()] == ["SENT"]
    finally:
        output = stop_serving(server)
    assert "worker stopped" in output
