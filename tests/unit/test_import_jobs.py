"""The dashboard's import jobs live on disk: another process reads the same job, one
click starts it, a dead importer's job says so, and expired jobs go."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from aicmo.web import import_jobs as jobs
from aicmo.web.import_jobs import ImportJob


@pytest.fixture(autouse=True)
def _own_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))


def _job(job_id: str = "a" * 22, workspace_id: int = 1, **kw: object) -> ImportJob:
    job = ImportJob(
        id=job_id,
        workspace_id=workspace_id,
        actor="user#1",
        filename="leads.csv",
        size=100,
        encoding=None,
        preview={"columns": [{"header": "Email", "target": "email", "sample": "a@b.c"}]},
        **kw,  # type: ignore[arg-type]
    )
    jobs.make_folder(job.id)
    job.path.write_text("Email\na@b.c\n")
    jobs.save(job)
    return job


def test_a_job_is_read_back_by_its_workspace_only(tmp_path: Path) -> None:
    job = _job()
    assert jobs.load(1, job.id) == job
    assert jobs.load(2, job.id) is None
    assert jobs.load(1, "../../etc") is None and jobs.load(1, "b" * 22) is None
    assert oct(job.directory.stat().st_mode & 0o777) == "0o700"
    assert oct((job.directory / "job.json").stat().st_mode & 0o777) == "0o600"


def test_another_process_sees_the_same_job_and_its_progress(tmp_path: Path) -> None:
    job = _job()
    job.state, job.owner, job.done_bytes = "running", os.getpid(), 40
    jobs.save(job)
    code = (
        "import json, tempfile, sys; tempfile.tempdir = sys.argv[1]; "
        "from aicmo.web import import_jobs as j; job = j.load(1, sys.argv[2]); "
        "print(json.dumps([job.state, job.percent]))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path), job.id],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert json.loads(out) == ["running", 40]


def test_only_one_click_starts_an_import() -> None:
    job = _job()
    assert jobs.claim_start(job) is True
    assert jobs.claim_start(jobs.load(1, job.id) or job) is False
    jobs.remove(job)
    assert jobs.claim_start(job) is False  # gone: nothing to start


def test_a_job_whose_importer_died_says_so_and_keeps_no_upload() -> None:
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    job = _job(state="running", owner=gone.pid)
    seen = jobs.load(1, job.id)
    assert seen is not None and seen.state == "failed" and seen.error == jobs.DIED
    assert not job.path.exists()
    assert (jobs.load(1, job.id) or job).state == "failed"  # written, not only shown


def test_expired_jobs_go_running_ones_stay_and_each_workspace_keeps_its_newest() -> None:
    now = time.time()
    old = _job("o" * 22, created=now - jobs.JOB_TTL_SECONDS - 1)
    running = _job("r" * 22, created=now - jobs.JOB_TTL_SECONDS - 1, state="running")
    running.owner = os.getpid()
    jobs.save(running)
    mine = [_job(f"{i:022d}", created=now - 100 + i) for i in range(jobs.MAX_JOBS_PER_WORKSPACE)]
    theirs = _job("t" * 22, workspace_id=2, created=now - 500)
    assert jobs.sweep(1, now) == 2  # the expired one, and the oldest of the 20
    assert not old.directory.exists() and running.directory.exists()
    assert not mine[0].directory.exists()
    assert all(j.directory.exists() for j in mine[1:]) and theirs.directory.exists()
