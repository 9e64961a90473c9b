"""The dashboard's CSV import jobs, kept on disk beside their upload.

A job is a folder in the temporary directory (``aicmo-import-<id>``, owner-only) that
holds the upload and ``job.json``: what the pages show of it (the preview, the state,
the bytes read, the report). On disk rather than in a process's memory because
``aicmo serve --workers N`` answers the upload, the mapping, the start and each poll of
the progress from whichever process the connection reaches: every one of them must see
the same job. The state file is replaced whole (write, then rename), so a reader sees
the last state or the one before, never half of one. Starting an import is claimed by
creating a marker file exclusively, so two clicks on two processes start it once.

A job whose importing process has died (a restart, a crash) says so instead of running
forever: the batches it wrote are kept, and the same file run again completes them
without duplicates. Files here hold one workspace's leads: each read checks the
workspace, and the folders are 0700.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

#: How long a job (its upload, then its report) is kept.
JOB_TTL_SECONDS = 3600
#: Jobs kept per workspace; the oldest finished or unrun ones go first.
MAX_JOBS_PER_WORKSPACE = 20
#: Upload folders older than this are an earlier server's leftovers; a day leaves any
#: import still running in another process alone.
LEFTOVER_SECONDS = 24 * 3600

PREFIX = "aicmo-import-"
_STATE = "job.json"
_STARTED = "started"
_JOB_ID = re.compile(r"^[A-Za-z0-9_-]{16,32}$")

DIED = (
    "The server process running this import stopped before it ended. The batches "
    "written before that are kept: upload the same file again to complete the import "
    "(nothing is duplicated)."
)


@dataclass
class ImportJob:
    """One upload and, once started, its import: what the page shows of it."""

    id: str
    workspace_id: int
    actor: str
    filename: str
    size: int
    encoding: str | None
    preview: dict[str, Any]
    #: Wall-clock seconds (every process reads the same clock).
    created: float = field(default_factory=time.time)
    #: mapping → running → done | failed
    state: str = "mapping"
    #: Started, but waiting for a free import slot in its process.
    queued: bool = False
    done_bytes: int = 0
    report: dict[str, Any] | None = None
    error: str | None = None
    #: The process running the import (to tell a dead run from a slow one).
    owner: int | None = None

    @property
    def directory(self) -> Path:
        return folder(self.id)

    @property
    def path(self) -> Path:
        return self.directory / "upload.csv"

    @property
    def percent(self) -> int:
        if self.state == "done":
            return 100
        return min(99, int(self.done_bytes * 100 / self.size)) if self.size else 0


def folder(job_id: str) -> Path:
    return Path(tempfile.gettempdir()) / f"{PREFIX}{job_id}"


def make_folder(job_id: str) -> Path:
    """The new job's folder (owner-only); its upload goes to ``ImportJob.path``."""
    path = folder(job_id)
    path.mkdir(mode=0o700)
    return path


def save(job: ImportJob) -> None:
    """Replace the job's state file whole: readers never see half of it."""
    final = job.directory / _STATE
    temporary = job.directory / f".{_STATE}.{os.getpid()}.tmp"
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump(asdict(job), out)
    os.replace(temporary, final)


def load(workspace_id: int, job_id: str) -> ImportJob | None:
    """The workspace's job, or None (unknown id, another workspace's, or expired)."""
    if not _JOB_ID.match(job_id):
        return None
    job = _read(folder(job_id))
    if job is None or job.workspace_id != workspace_id:
        return None
    if job.state == "running" and not _alive(job.owner):
        job.state, job.error, job.queued = "failed", DIED, False
        job.created = time.time()
        save(job)
        discard_file(job)
    return job


def claim_start(job: ImportJob) -> bool:
    """True for exactly one caller, in any process: the one that starts the import."""
    try:
        fd = os.open(job.directory / _STARTED, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except (FileExistsError, FileNotFoundError):
        return False
    os.close(fd)
    return True


def discard_file(job: ImportJob) -> None:
    """The upload goes as soon as it is imported; the report stays for the TTL."""
    job.path.unlink(missing_ok=True)


def remove(job: ImportJob) -> None:
    shutil.rmtree(job.directory, ignore_errors=True)


def sweep(workspace_id: int, now: float | None = None) -> int:
    """Remove expired jobs (and the workspace's oldest past the cap); running ones stay.
    How many went."""
    now = time.time() if now is None else now
    expired: list[ImportJob] = []
    mine: list[ImportJob] = []
    for path in Path(tempfile.gettempdir()).glob(f"{PREFIX}*"):
        job = _read(path)
        if job is None or job.state == "running":
            continue
        if now - job.created > JOB_TTL_SECONDS:
            expired.append(job)
        elif job.workspace_id == workspace_id:
            mine.append(job)
    mine.sort(key=lambda j: j.created)
    expired += mine[: max(0, len(mine) - MAX_JOBS_PER_WORKSPACE + 1)]
    for job in expired:
        remove(job)
    return len(expired)


def forget_leftovers(now: float | None = None) -> int:
    """Remove the upload folders that earlier runs of the server left behind; how many."""
    now = time.time() if now is None else now
    removed = 0
    for path in Path(tempfile.gettempdir()).glob(f"{PREFIX}*"):
        try:
            old = now - path.stat().st_mtime > LEFTOVER_SECONDS
        except OSError:
            continue
        if old and path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
            removed += 1
    return removed


def _read(path: Path) -> ImportJob | None:
    try:
        data = json.loads((path / _STATE).read_text(encoding="utf-8"))
        return ImportJob(**data)
    except (OSError, ValueError, TypeError):
        return None


def _alive(pid: int | None) -> bool:
    if pid is None:
        return False
    try:
        os.kill(pid, 0)  # no signal sent: only asks whether the process exists
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, owned by someone else
        pass
    return True
