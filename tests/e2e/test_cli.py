"""The CLI as a user runs it: a real process, a real SQLite file, exit codes."""

from __future__ import annotations

import json
import os
import re
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import httpx


def aicmo(tmp_path: Path, *args: str, db: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AICMO_")}
    env["AICMO_DATA_DIR"] = str(tmp_path / "data")
    env["AICMO_DATABASE_URL"] = f"sqlite:///{db or tmp_path / 'cli.db'}"
    env["COLUMNS"] = "200"
    return subprocess.run(
        [sys.executable, "-m", "aicmo", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def test_init_creates_the_database_key_and_defaults(tmp_path: Path) -> None:
    run = aicmo(tmp_path, "init")
    assert run.returncode == 0, run.stderr
    assert "aicmo is ready" in run.stdout and "cli.db" in run.stdout
    key = tmp_path / "data" / "secret.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert key.read_text().strip() not in run.stdout  # the secret is never printed
    again = aicmo(tmp_path, "init")
    assert again.returncode == 0 and "Secret key written" not in again.stdout
    channels = aicmo(tmp_path, "channels", "list")
    assert "EMAIL" in channels.stdout and "100" in channels.stdout and "500" in channels.stdout


def test_import_exit_codes_and_report(tmp_path: Path) -> None:
    good = tmp_path / "good.csv"
    good.write_text("Email,First Name\na@example.com,Ann\n")
    mixed = tmp_path / "mixed.csv"
    mixed.write_text("Email;First Name\nb@example.com;Bo\nnope;Cy\n")
    bad = tmp_path / "bad.csv"
    bad.write_bytes("Email,First Name\nd@example.com,Déa\n".encode("cp1252"))

    ok = aicmo(tmp_path, "leads", "import", str(good))
    assert ok.returncode == 0, ok.stderr
    some = aicmo(tmp_path, "leads", "import", str(mixed), "--json")
    assert some.returncode == 1
    report = json.loads(some.stdout)
    assert report["created"] == 1 and report["rejected_rows"][0]["line"] == 3
    unusable = aicmo(tmp_path, "leads", "import", str(bad))
    assert unusable.returncode == 2
    assert "--encoding cp1252" in unusable.stderr and "Traceback" not in unusable.stderr
    fixed = aicmo(tmp_path, "leads", "import", str(bad), "--encoding", "cp1252")
    assert fixed.returncode == 0
    mapped = tmp_path / "mapped.csv"
    mapped.write_text("Work Mail,Who\ne@example.com,Eve\n")
    assert aicmo(tmp_path, "leads", "import", str(mapped)).returncode == 2
    run = aicmo(
        tmp_path,
        "leads",
        "import",
        str(mapped),
        "--map",
        "Work Mail=email",
        "--map",
        "Who=first_name",
    )
    assert run.returncode == 0, run.stdout + run.stderr
    listed = aicmo(tmp_path, "leads", "list")
    for name in ("Ann", "Bo", "Déa", "Eve"):
        assert name in listed.stdout


def test_export_grade_and_one_lead_commands(tmp_path: Path) -> None:
    src = tmp_path / "in.csv"
    src.write_text(
        "Email,First Name,Title,Industry,# Employees\nceo@acme.example,Ada,CEO,SaaS,50\n"
    )
    assert aicmo(tmp_path, "leads", "import", str(src)).returncode == 0
    graded = aicmo(tmp_path, "leads", "grade")
    assert graded.returncode == 0 and "A 1" in graded.stdout
    shown = aicmo(tmp_path, "lead", "show", "CEO@acme.example")
    assert "Why A" in shown.stdout and "title is C-level" in shown.stdout
    assert aicmo(tmp_path, "lead", "stage", "ceo@acme.example", "meeting").returncode == 0
    assert aicmo(tmp_path, "lead", "note", "ceo@acme.example", "Call on Monday").returncode == 0
    out = tmp_path / "out.csv"
    exported = aicmo(tmp_path, "leads", "export", str(out))
    assert exported.returncode == 0
    text = out.read_text()
    assert "ceo@acme.example" in text and "MEETING" in text
    missing = aicmo(tmp_path, "lead", "show", "nobody@example.com")
    assert missing.returncode == 1 and "no lead" in missing.stderr


def test_icp_show_and_set_round_trip(tmp_path: Path) -> None:
    shown = aicmo(tmp_path, "icp", "show")
    assert shown.returncode == 0 and "roles:" in shown.stdout
    path = tmp_path / "icp.yaml"
    path.write_text(shown.stdout.replace("company_size_max: 1000", "company_size_max: 5000"))
    assert aicmo(tmp_path, "icp", "set", str(path)).returncode == 0
    assert "company_size_max: 5000" in aicmo(tmp_path, "icp", "show").stdout
    path.write_text("roles: nope\n")
    bad = aicmo(tmp_path, "icp", "set", str(path))
    assert bad.returncode == 2 and "ICP field roles" in bad.stderr


def test_demo_once_runs_the_main_job_on_a_fresh_database(tmp_path: Path) -> None:
    demo_db = tmp_path / "demo.db"
    run = aicmo(tmp_path, "demo", "--database", str(demo_db), "--once")
    assert run.returncode == 0, run.stderr
    assert "imported (new)" in run.stdout and "Graded leads" in run.stdout
    assert "created 0" in run.stdout  # the re-import duplicated nothing
    assert "step 1 now: advance" in run.stdout and "written to local outbox" in run.stdout
    assert "complete" in run.stdout and "stopped 1" in run.stdout  # the unsubscribe held
    assert "category interested" in run.stdout and "category not_interested" in run.stdout
    assert "Serving" not in run.stdout  # --once does not serve
    assert list((tmp_path / "data" / "outbox").rglob("*.eml"))
    assert demo_db.exists()


def test_demo_ends_by_serving_the_dashboard_with_its_data(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AICMO_")}
    env["AICMO_DATA_DIR"] = str(tmp_path / "data")
    env["COLUMNS"] = "200"
    demo = subprocess.Popen(
        [sys.executable, "-m", "aicmo", "demo", "--database", str(tmp_path / "d.db")],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    assert demo.stdout is not None
    seen: list[str] = []
    base = password = None
    try:
        deadline = time.monotonic() + 120
        while base is None or password is None:
            assert time.monotonic() < deadline, "".join(seen)
            line = demo.stdout.readline()
            assert line, "the demo ended before it served:\n" + "".join(seen)
            seen.append(line)
            if found := re.search(r"The dashboard: (http://127\.0\.0\.1:\d+)/", line):
                base = found.group(1)
            if found := re.search(r"sign in as \S+ +password: (\S+)", line):
                password = found.group(1)
        with httpx.Client(base_url=base, follow_redirects=False, timeout=10) as client:
            for _ in range(100):  # the server starts just after it prints its address
                try:
                    client.get("/login")
                    break
                except httpx.TransportError:
                    time.sleep(0.1)
            signed = client.post(
                "/login", data={"email": "admin@aicmo-demo.example", "password": password}
            )
            assert signed.status_code == 303, signed.text
            leads = client.get("/leads")
            assert leads.status_code == 200
            assert "ada@analytical-engines.example" in leads.text
            inbox = client.get("/inbox")
            assert "interested" in inbox.text and "not_interested" in inbox.text
    finally:
        demo.send_signal(signal.SIGINT)
        demo.wait(timeout=30)
    assert demo.returncode in (0, 130, -signal.SIGINT)


def test_suppress_and_gdpr_commands(tmp_path: Path) -> None:
    src = tmp_path / "in.csv"
    src.write_text("Email,First Name\njane@acme.example,Jane\n")
    assert aicmo(tmp_path, "leads", "import", str(src)).returncode == 0
    assert aicmo(tmp_path, "suppress", "add", "@blocked.example").returncode == 0
    check = aicmo(tmp_path, "suppress", "check", "x@blocked.example")
    assert check.returncode == 1 and "suppressed" in check.stdout
    assert aicmo(tmp_path, "suppress", "check", "jane@acme.example").returncode == 0
    out = tmp_path / "jane.json"
    assert aicmo(tmp_path, "lead", "export", "jane@acme.example", str(out)).returncode == 0
    assert json.loads(out.read_text())["lead"]["first_name"] == "Jane"
    assert aicmo(tmp_path, "lead", "forget", "jane@acme.example").returncode == 2  # needs --yes
    gone = aicmo(tmp_path, "lead", "forget", "jane@acme.example", "--yes")
    assert gone.returncode == 0 and "erased" in gone.stdout
    assert aicmo(tmp_path, "suppress", "check", "jane@acme.example").returncode == 1
    listed = aicmo(tmp_path, "suppress", "list")
    assert "(erased person)" in listed.stdout and "jane" not in listed.stdout


def test_a_campaign_from_yaml_runs_through_the_worker(tmp_path: Path) -> None:
    leads = tmp_path / "leads.csv"
    leads.write_text(
        "Email,First Name,Title,Industry,# Employees\n"
        "ceo@acme.example,Ada,CEO,SaaS,50\nvp@beta.example,Bo,VP Sales,Software,200\n"
    )
    assert aicmo(tmp_path, "leads", "import", str(leads)).returncode == 0
    example = Path(__file__).parent.parent.parent / "examples" / "campaign.yaml"
    created = aicmo(tmp_path, "campaign", "create", str(example))
    assert created.returncode == 0, created.stderr
    assert aicmo(tmp_path, "campaign", "validate", "Founders Q4").returncode == 0
    started = aicmo(tmp_path, "campaign", "start", "Founders Q4")
    assert started.returncode == 0 and "2 lead(s) enrolled" in started.stdout
    tick = aicmo(tmp_path, "worker", "--once")
    assert tick.returncode == 0, tick.stderr
    assert "processed=2" in tick.stderr  # one log line per tick, key=value
    assert len(list((tmp_path / "data" / "outbox").rglob("*.eml"))) == 2
    status = aicmo(tmp_path, "campaign", "status", "Founders Q4")
    assert "ACTIVE: 2" in status.stdout and "at step 2: 2" in status.stdout
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: Bad\nsteps:\n  - channel: FAX\n    template: {body: hi}\n")
    refused = aicmo(tmp_path, "campaign", "create", str(bad))
    assert refused.returncode == 2 and "FAX" in refused.stderr
