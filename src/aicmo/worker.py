"""The worker loop: an entry point like the CLI, calling the service layer each tick.

One tick = recover attempts a dead worker left SENDING, claim and process due
enrollments, deliver due webhooks (a bounded batch, a few at a time), write the heartbeat
that ``/healthz`` reads. Mailboxes are polled every tick;
open operator tasks are checked for leads that said stop, campaigns with nothing left
to run are marked FINISHED, and the weekly digest is sent when its slot is due (see
``aicmo.operator_services.analytics.digest``), once a minute (and, with
``AICMO_RETENTION_DAYS`` set, message texts past retention are pruned, at most once a day
among all workers); LinkedIn provider accounts every five (their APIs are metered).
``concurrency`` runs that many loops in threads, each with its own session and claim
name. SIGTERM / Ctrl-C set ``stop``: the send in flight finishes, the loop exits and
nothing stays claimed longer than its lease.

Logs are one line per tick with the figures as fields (``--log-format json`` gives one
JSON object per line for log shippers).
"""

from __future__ import annotations

import gc
import json
import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from aicmo.errors import AicmoError
from aicmo.operator_services.analytics.digest import send_scheduled_digest
from aicmo.operator_services.campaigns import finish_campaigns
from aicmo.operator_services.channels.linkedin_accounts import poll_linkedin
from aicmo.operator_services.crm.retention import prune_if_due
from aicmo.operator_services.engine.tick import run_due
from aicmo.operator_services.inbound.imap_poll import poll_all
from aicmo.operator_services.ops.health import record_stop, record_tick
from aicmo.operator_services.uow import utcnow
from aicmo.operator_services.webhooks import deliver_due

log = logging.getLogger("aicmo.worker")

#: Replies on LinkedIn are read this often (per worker process).
LINKEDIN_POLL_EVERY = timedelta(minutes=5)
#: Open operator tasks are checked for leads that said stop this often (it reads them all).
TASK_SWEEP_EVERY = timedelta(minutes=1)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, message and the record's ``fields``."""

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created).astimezone().isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        data.update(getattr(record, "fields", {}))
        if record.exc_info:
            data["exc"] = self.formatException(record.exc_info)
        return json.dumps(data, default=str)


class KeyValueFormatter(logging.Formatter):
    """``time level msg key=value …``: readable in a terminal, greppable."""

    def format(self, record: logging.LogRecord) -> str:
        fields = " ".join(f"{k}={v}" for k, v in getattr(record, "fields", {}).items())
        when = datetime.fromtimestamp(record.created).strftime("%H:%M:%S")
        line = f"{when} {record.levelname.lower()} {record.getMessage()} {fields}".rstrip()
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


def configure_logging(fmt: str = "text", level: int = logging.INFO) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter() if fmt == "json" else KeyValueFormatter())
    root = logging.getLogger("aicmo")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False


@dataclass
class WorkerOptions:
    batch: int = 100
    interval: float = 5.0
    lease: timedelta = timedelta(minutes=5)
    once: bool = False
    concurrency: int = 1


def worker_name(index: int = 0) -> str:
    base = f"{socket.gethostname()}:{os.getpid()}"
    return base if index == 0 else f"{base}:t{index}"


def tick(
    db: Session,
    name: str,
    *,
    options: WorkerOptions,
    started_at: datetime,
    poll_linkedin_now: bool,
    poll_mail: bool = True,
    sweep_tasks: bool = True,
    stopping: Callable[[], bool] | None = None,
) -> dict[str, Any]:
    """One tick of one loop; returns the figures it logged. ``stopping`` (the SIGTERM
    flag) ends the batch early: the send in flight finishes, the rest is released."""
    began = time.perf_counter()
    now = utcnow()
    error: str | None = None
    result: dict[str, Any] = {"processed": 0, "by_outcome": {}, "recovered_unknown": 0}
    polled = 0
    replies = 0
    finished = 0
    try:
        result = run_due(
            db,
            now=now,
            worker=name,
            batch=options.batch,
            lease=options.lease,
            clock=utcnow,
            withdraw_tasks=sweep_tasks,
            stopping=stopping,
        )
        if sweep_tasks:
            finished = len(finish_campaigns(db, now=utcnow()))
            pruned = prune_if_due(db, now=utcnow())
            if pruned is not None:
                log.info("retention prune", extra={"fields": {"worker": name, **pruned}})
        if poll_mail:
            polled = len(poll_all(db))
        if poll_linkedin_now:
            replies = poll_linkedin(db, now=now)["replies"]
    except AicmoError as err:
        error = err.message
        log.exception("tick failed: %s", error, extra={"fields": {"worker": name, "error": error}})
    digest: dict[str, Any] | None = None
    if sweep_tasks and not (stopping and stopping()):
        try:
            digest = send_scheduled_digest(db, now=utcnow())
        except AicmoError as err:
            error = error or err.message
            log.exception(
                "weekly digest failed: %s",
                err.message,
                extra={"fields": {"worker": name, "error": err.message}},
            )
        if digest is not None:
            log.info(
                "weekly digest",
                extra={
                    "fields": {
                        "worker": name,
                        "slot": digest["slot"],
                        "transport": digest["transport"],
                        "delivered": digest["delivered"],
                        "sent": len(digest["sent"]),
                        "failed": len(digest["failed"]),
                    }
                },
            )
    webhooks: dict[str, int] = {}
    if not (stopping and stopping()):
        try:
            webhooks = deliver_due(db, worker=name, clock=utcnow)
        except AicmoError as err:
            error = error or err.message
            log.exception(
                "webhook delivery failed: %s",
                err.message,
                extra={"fields": {"worker": name, "error": err.message}},
            )
    fields = {
        "worker": name,
        "processed": result["processed"],
        "recovered_unknown": result["recovered_unknown"],
        "tasks_withdrawn": result.get("tasks_withdrawn", 0),
        "mailboxes_polled": polled,
        "linkedin_replies": replies,
        "campaigns_finished": finished,
        **{f"webhooks_{k}": v for k, v in sorted(webhooks.items())},
        "ms": round((time.perf_counter() - began) * 1000, 1),
        **{f"n_{k.replace(' ', '_')}": v for k, v in result["by_outcome"].items()},
    }
    record_tick(
        db, name, now=utcnow(), started_at=started_at, processed=result["processed"], error=error
    )
    busy = result["processed"] or result["recovered_unknown"] or replies or webhooks
    log.log(
        logging.INFO if busy or options.once else logging.DEBUG, "tick", extra={"fields": fields}
    )
    return fields


#: Allocations between two young-generation collections (CPython's default is 700).
GC_YOUNG_THRESHOLD = 50_000


def tune_gc() -> None:
    """Collect garbage less often, and never walk what was loaded at start again.

    A tick allocates tens of thousands of short-lived objects (rows, statements, message
    parts); at the default threshold the collector runs every few messages and each full
    pass walks every long-lived object (modules, the ORM's mappings): a fifth of the CPU
    of a busy worker. Cycles are still collected, just in larger, rarer passes.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(GC_YOUNG_THRESHOLD, 20, 20)


def run_worker(
    session: Callable[[], AbstractContextManager[Session]],
    options: WorkerOptions,
    stop: threading.Event,
) -> None:
    """Run ``options.concurrency`` loops until ``stop`` is set (or one tick with once)."""
    tune_gc()

    def loop(index: int) -> None:
        name = worker_name(index)
        started = utcnow()
        next_linkedin = next_sweep = started
        log.info("worker started", extra={"fields": {"worker": name, "batch": options.batch}})
        try:
            while True:
                now = utcnow()
                due_linkedin = index == 0 and now >= next_linkedin
                due_sweep = index == 0 and now >= next_sweep
                with session() as db:
                    tick(
                        db,
                        name,
                        options=options,
                        started_at=started,
                        poll_linkedin_now=due_linkedin,
                        poll_mail=index == 0,
                        sweep_tasks=due_sweep,
                        stopping=stop.is_set,
                    )
                if due_linkedin:
                    next_linkedin = now + LINKEDIN_POLL_EVERY
                if due_sweep:
                    next_sweep = now + TASK_SWEEP_EVERY
                if options.once or stop.wait(options.interval):
                    break
        finally:
            with session() as db:
                record_stop(db, name, now=utcnow())
            log.info("worker stopped", extra={"fields": {"worker": name}})

    if options.concurrency <= 1:
        loop(0)
        return
    threads = [
        threading.Thread(target=loop, args=(i,), name=f"aicmo-worker-{i}", daemon=True)
        for i in range(options.concurrency)
    ]
    for t in threads:
        t.start()
    while any(t.is_alive() for t in threads):
        for t in threads:
            t.join(timeout=0.5)
