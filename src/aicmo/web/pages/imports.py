"""Dashboard: import leads from a CSV in three steps: upload, check the mapping, watch it run
and read the row report.

The upload streams to a temporary file (never the whole body in memory; its size is
capped by ``BODY_LIMITS["/import"]``); the mapping step shows each column with a sample
value and the field the import's own header rules chose (``preview_csv``), and the
choices go to ``import_leads_csv`` as its ``"Column=field"`` overrides, as ``--map``
does on the command line. The import runs in a thread of its own with the service's
progress callback, and the page polls a small fragment. The report is the CLI's and
the API's: counts, rejected rows by physical line, warnings.

Jobs are kept on disk beside their upload (``aicmo.web.import_jobs``), so that every
serving process sees them, for an hour; the upload goes as soon as the import ends (or
the job expires unrun). An import whose process stopped says so; it keeps every batch it
wrote, and running the same file again completes it without duplicates.
"""

from __future__ import annotations

import os
import secrets
import shutil
import threading
import time
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session, sessionmaker

from aicmo.cam.domain.access import Role
from aicmo.cam.domain.importing import CUSTOM_PREFIX, IGNORE
from aicmo.cam.domain.lead_fields import IMPORT_FIELDS
from aicmo.errors import AicmoError, NotFoundError, PayloadTooLargeError
from aicmo.operator_services.crm.importing import import_leads_csv, preview_csv
from aicmo.web import import_jobs as jobs
from aicmo.web.api.leads import MAX_IMPORT_BYTES, actor
from aicmo.web.import_jobs import ImportJob
from aicmo.web.pages.base import SignedIn, Viewer, render, see_other

router = APIRouter()

#: Encodings offered on the upload form (``""``: detected, as the CLI does).
ENCODINGS = (
    ("", "Detect (UTF-8, with or without BOM; UTF-16)"),
    ("utf-8", "UTF-8"),
    ("cp1252", "Windows-1252 (older Excel)"),
    ("latin-1", "Latin-1 (ISO-8859-1)"),
    ("utf-16", "UTF-16"),
)
DELIMITER_NAMES = {",": "commas", ";": "semicolons", "\t": "tabs", "|": "bars", ":": "colons"}
#: What a column can become on the mapping step besides a lead field.
KEEP_CUSTOM = "custom"
_CHUNK = 1 << 20


#: Imports running at once in this process: each holds a database connection for its
#: whole run, outside the requests' concurrency limit, so a third one waits its turn
#: rather than leave the pages without connections.
IMPORT_SLOTS = 2
_slots = threading.BoundedSemaphore(IMPORT_SLOTS)
#: Seconds between two writes of a running import's progress.
PROGRESS_EVERY = 0.25


def _job(viewer: Viewer, job_id: str) -> ImportJob:
    job = jobs.load(viewer.workspace_id, job_id)
    if job is None:
        raise NotFoundError(
            "this import is not here any more (an upload is kept for an hour, and not "
            "across a restart of the server): upload the file again"
        )
    return job


@router.get("/import", response_class=HTMLResponse)
def import_page(request: Request, viewer: SignedIn) -> HTMLResponse:
    return _upload_form(request, viewer)


def _upload_form(
    request: Request, viewer: Viewer, *, error: str | None = None, encoding: str = ""
) -> HTMLResponse:
    return render(
        request,
        "import.html",
        viewer,
        {
            "title": "Import leads",
            "encodings": ENCODINGS,
            "encoding": encoding,
            "error": error,
            "can_change": viewer.may(Role.OPERATOR),
            "max_mb": MAX_IMPORT_BYTES // (1024 * 1024),
        },
        status_code=422 if error else 200,
    )


async def _save(upload: UploadFile, path: Path) -> int:
    """Copy the upload to ``path`` a chunk at a time; its size."""
    size = 0
    with path.open("wb") as out:
        while chunk := await upload.read(_CHUNK):
            size += len(chunk)
            if size > MAX_IMPORT_BYTES:
                raise PayloadTooLargeError(
                    f"the file is over {MAX_IMPORT_BYTES // (1024 * 1024)} MB; split it, "
                    "or import it with `aicmo leads import`"
                )
            await run_in_threadpool(out.write, chunk)  # a disk write off the event loop
    return size


@router.post("/import", response_class=HTMLResponse, response_model=None)
async def upload(
    request: Request,
    viewer: SignedIn,
    file: Annotated[UploadFile | None, File()] = None,
    encoding: Annotated[str, Form(max_length=40)] = "",
) -> Response:
    """Step 1: keep the file in a temporary directory and read its columns."""
    viewer.require(Role.OPERATOR)
    known = {value for value, _ in ENCODINGS}
    encoding = encoding if encoding in known else ""
    if file is None or not file.filename:
        return _upload_form(request, viewer, error="Choose a CSV file to upload.")
    await run_in_threadpool(jobs.sweep, viewer.workspace_id)
    job_id = secrets.token_urlsafe(16)
    directory = jobs.make_folder(job_id)
    path = directory / "upload.csv"
    try:
        size = await _save(file, path)
        preview = await run_in_threadpool(preview_csv, path, encoding=encoding or None)
    except AicmoError as exc:
        shutil.rmtree(directory, ignore_errors=True)
        message = exc.message.replace("try --encoding", "choose the encoding below, e.g.")
        message = message.replace("give --encoding", "choose the encoding below")
        return _upload_form(request, viewer, error=f"{file.filename}: {message}", encoding=encoding)
    except BaseException:
        shutil.rmtree(directory, ignore_errors=True)
        raise
    finally:
        await file.close()
    job = ImportJob(
        id=job_id,
        workspace_id=viewer.workspace_id,
        actor=actor(viewer.principal),
        filename=Path(file.filename).name[:200],
        size=size,
        encoding=encoding or None,
        preview=preview,
    )
    await run_in_threadpool(jobs.save, job)
    return see_other(f"/import/{job.id}")


def _choices() -> list[tuple[str, str]]:
    """The fields a column can fill, as (value, label) for the mapping's selects."""
    named = {
        "email": "Email",
        "linkedin_url": "LinkedIn URL",
        "full_name": "Full name (split into first and last)",
        "form_url": "Contact form URL",
        "company_size": "Company size",
        "deal_value": "Deal value",
    }
    fields = [(f, named.get(f, f.replace("_", " ").capitalize())) for f in IMPORT_FIELDS]
    return [(KEEP_CUSTOM, "Keep as a custom field"), (IGNORE, "Skip this column"), *fields]


def _chosen(target: str) -> str:
    return KEEP_CUSTOM if target.startswith(CUSTOM_PREFIX) else target


@router.get("/import/{job_id}", response_class=HTMLResponse)
def job_page(request: Request, viewer: SignedIn, job_id: str) -> HTMLResponse:
    """Step 2 (the mapping) before the import runs; its progress, then its report."""
    return _job_page(request, viewer, _job(viewer, job_id))


def _job_page(
    request: Request,
    viewer: Viewer,
    job: ImportJob,
    *,
    error: str | None = None,
    chosen: list[str] | None = None,
    tags: str = "",
    source: str = "",
) -> HTMLResponse:
    columns = job.preview["columns"]
    return render(
        request,
        "import_job.html",
        viewer,
        {
            "title": f"Import {job.filename}",
            "job": job,
            "columns": columns,
            "delimiter": DELIMITER_NAMES.get(job.preview["delimiter"], job.preview["delimiter"]),
            "chosen": chosen or [_chosen(c["target"]) for c in columns],
            "choices": _choices(),
            "can_change": viewer.may(Role.OPERATOR),
            "error": error,
            "tags": tags,
            "source": source,
        },
        status_code=422 if error else 200,
    )


@router.get("/import/{job_id}/status", response_class=HTMLResponse)
def job_status(request: Request, viewer: SignedIn, job_id: str) -> HTMLResponse:
    """The progress fragment the page polls; the report once the import has ended."""
    jobs.sweep(viewer.workspace_id)
    job = _job(viewer, job_id)
    return render(request, "import_status.html", viewer, {"job": job})


def _overrides(columns: list[dict[str, Any]], chosen: list[str]) -> list[str]:
    """The choices that differ from the import's own as ``"Column=field"`` overrides (a
    column left as suggested is mapped by the import exactly as on the command line);
    refuses a field chosen twice and a mapping that names nobody (what the import would
    refuse, said before it starts)."""
    valid = {value for value, _ in _choices()}
    seen: dict[str, str] = {}
    specs: list[str] = []
    for index, (column, target) in enumerate(zip(columns, chosen, strict=True)):
        header = column["header"]
        if target not in valid:
            raise ValueError(f"choose a field for the column {header!r}")
        if target not in (KEEP_CUSTOM, IGNORE):
            if target in seen:
                raise ValueError(
                    f"the columns {seen[target]!r} and {header!r} both fill {target}: "
                    "choose one, and skip or keep the other as a custom field"
                )
            seen[target] = header
        if target == _chosen(column["target"]):
            continue  # as the import maps it
        if not header:
            raise ValueError(
                f"column {index + 1} has no name in the file's first line, so it is kept as "
                "a custom field: give it a name in the file to map it to a field or skip it"
            )
        value = CUSTOM_PREFIX + header if target == KEEP_CUSTOM else target
        specs.append(f"{header}={value}")
    if not {"email", "linkedin_url"} & set(seen):
        raise ValueError(
            "no column is mapped to Email or LinkedIn URL: choose the column that holds "
            "the email address (or the LinkedIn profile URL); it is what identifies a lead"
        )
    return specs


@router.post("/import/{job_id}/run", response_class=HTMLResponse, response_model=None)
async def run_import(request: Request, viewer: SignedIn, job_id: str) -> Response:
    """Step 3: start the import in its own thread with the chosen mapping."""
    viewer.require(Role.OPERATOR)
    job = _job(viewer, job_id)
    form = await request.form()
    columns = job.preview["columns"]
    chosen = [str(form.get(f"map_{i}") or "") for i in range(len(columns))]
    tags = str(form.get("tags") or "")[:500]
    source = str(form.get("source") or "")[:100]
    try:
        specs = _overrides(columns, chosen)
    except ValueError as exc:
        return _job_page(
            request, viewer, job, error=str(exc), chosen=chosen, tags=tags, source=source
        )
    if job.state != "mapping" or not jobs.claim_start(job):  # started by another click
        return see_other(f"/import/{job.id}")
    if not job.path.exists():  # swept meanwhile
        return _job_page(request, viewer, job, error="This upload expired: upload it again.")
    job.state, job.owner = "running", os.getpid()
    await run_in_threadpool(jobs.save, job)
    sessions: sessionmaker[Session] = request.app.state.session_factory
    thread = threading.Thread(
        target=_run,
        args=(sessions, job, specs, tags, source),
        name=f"aicmo-import-{job.id[:8]}",
        daemon=True,
    )
    thread.start()
    return see_other(f"/import/{job.id}")


def _run(
    sessions: sessionmaker[Session], job: ImportJob, specs: list[str], tags: str, source: str
) -> None:
    """The import itself (in its own thread and session); the file goes when it ends."""

    written = time.monotonic()

    def progress(done: int) -> None:
        nonlocal written
        job.done_bytes = done
        if time.monotonic() - written >= PROGRESS_EVERY:
            jobs.save(job)
            written = time.monotonic()

    if not _slots.acquire(blocking=False):
        job.queued = True
        jobs.save(job)
        _slots.acquire()
        job.queued = False
        jobs.save(job)
    try:
        with sessions() as db:
            report = import_leads_csv(
                db,
                job.path,
                column_map=specs,
                encoding=job.encoding,
                source=source.strip() or None,
                tags=[tags] if tags.strip() else (),
                workspace_id=job.workspace_id,
                on_progress=progress,
                actor=job.actor,
            )
        job.report = {
            **report.as_dict(),
            "filename": job.filename,
            "mapping": report.mapping,
            "rejected_rows": [{"line": p.line, "message": p.message} for p in report.rejected],
            "warning_rows": [{"line": p.line, "message": p.message} for p in report.warnings],
        }
        job.state = "done"
    except AicmoError as exc:
        job.error = (
            f"{exc.message} The batches written before this are kept: upload the same "
            "file again to complete the import (nothing is duplicated)."
        )
        job.state = "failed"
    except Exception:  # the page must say it stopped, whatever stopped it
        job.error = (
            "The import stopped on an unexpected error (it is in the server's log). The "
            "batches written before it are kept: upload the same file again to complete it."
        )
        job.state = "failed"
        raise
    finally:
        _slots.release()
        job.created = time.time()  # the report is kept for the TTL from now
        jobs.save(job)
        jobs.discard_file(job)


@router.post("/import/{job_id}/discard", response_model=None)
def discard(viewer: SignedIn, job_id: str) -> Response:
    """Drop an upload before it is imported (its temporary file goes at once)."""
    viewer.require(Role.OPERATOR)
    job = _job(viewer, job_id)
    if job.state == "running" or (job.state == "mapping" and not jobs.claim_start(job)):
        return see_other(f"/import/{job.id}")  # started meanwhile
    jobs.remove(job)
    if job.state == "mapping":
        return see_other("/import", f"{job.filename} was discarded; nothing was imported.")
    return see_other("/import")
