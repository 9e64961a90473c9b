"""The engine's fast path for due email steps: a planned batch (:mod:`.plan`) recorded and
sent a chunk at a time, with a handful of statements per chunk instead of a few dozen per
message, while the chunk before is on the wire and the one before that is recorded.

The invariants hold per message:

1. Every SENDING row is committed, with its unique key, before its message is handed to
   the transport; outcomes are committed in small groups after. A worker killed between
   leaves SENDING rows, which become UNKNOWN and are never resent (the group is the most
   a crash can leave unknown, instead of one message).
3. The channel's and each mailbox's windows are counted under the channel lock in the
   transaction that writes the SENDING rows; a batch takes at most the room left.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from aicmo.cam.db_models import EnrollmentDB
from aicmo.config import get_settings
from aicmo.errors import AicmoError, ChannelError, ConfigurationError
from aicmo.operator_services.engine.compose import Outgoing, prepare
from aicmo.operator_services.engine.plan import Item
from aicmo.operator_services.engine.progress import release_claims
from aicmo.operator_services.engine.record import Delivered, record_sending, settle
from aicmo.operator_services.engine.windows import Windows
from aicmo.operator_services.uow import unit_of_work
from aicmo.transports import send_process
from aicmo.transports.smtp import SmtpTransport

log = logging.getLogger("aicmo.dispatch")

#: Messages per chunk at most: SENDING committed, sent, outcomes committed. Bounds what a
#: crash can leave UNKNOWN.
GROUP = 50
#: The first chunk of a batch, sent alone and timed before anything is queued behind it.
FIRST_GROUP = 10


def dispatch(
    db: Session,
    items: list[Item],
    *,
    now: datetime,
    worker: str,
    lease: timedelta,
    clock: Callable[[], datetime] | None = None,
    stopping: Callable[[], bool] | None = None,
) -> tuple[Counter[str], list[int]]:
    """Record, send and account for a planned batch, a chunk at a time; returns counts and
    the enrollments handed back to the one-by-one path.

    Each chunk renews its claims (when past a quarter of their lease), commits its SENDING rows
    and builds its messages, then goes to a sender thread (which hands it to the sending
    process, or to the transports itself). While it is on the wire this thread prepares
    the next chunk, and the previous chunk's outcomes are recorded: on PostgreSQL by a
    recording thread on a second connection, otherwise by this thread. So the database
    and the building are hidden behind the waits for the server. All of it well inside
    the lease: no other worker can take an enrollment or call a send in flight UNKNOWN
    meanwhile. Chunks shrink when sends are slow. ``clock`` gives the time of each chunk
    (the worker passes the real clock; tests a fixed one). Once ``stopping`` says yes, no
    new chunk starts: the chunks handed over finish and the rest are released, still due.
    """
    what: Counter[str] = Counter()
    back: list[int] = []
    tick = clock or (lambda: now)
    pos = 0
    # Chunks handed to the sender and not yet collected, oldest first, with what gives
    # their recorded outcomes and when each was started.
    pending: list[tuple[list[Item], Callable[[], Counter[str]], datetime, float]] = []
    # Seconds per message from a chunk's start to its recorded outcome; until one chunk has
    # been timed nothing is queued behind another, and the first chunk is small. A pace
    # this process measured moments ago (the batch before) is taken as it is.
    timed = _recent_pace()
    size = FIRST_GROUP if timed is None else _chunk_size(lease, timed)
    # Until when each claim is ours: a chunk with a claim past a quarter of its lease
    # renews it.
    held = {i.enrollment.id: i.enrollment.claimed_until for i in items}
    windows = Windows()
    with _sender() as sender, _recorder(db) as recorder:
        try:
            while pos < len(items):
                if stopping is not None and stopping():
                    left = [i.enrollment.id for i in items[pos:]]
                    released = release_claims(db, left, worker=worker)
                    if released:
                        what["released"] += released
                    break
                chunk = items[pos : pos + size]
                pos += len(chunk)
                began = time.monotonic()
                at = tick()
                if all(_fresh(held.get(i.enrollment.id), at, lease) for i in chunk):
                    mine = {i.enrollment.id for i in chunk}
                else:
                    mine = _renew_claims(db, chunk, worker=worker, at=at, lease=lease)
                    held.update(dict.fromkeys(mine, at + lease))
                lost = [i.enrollment.id for i in chunk if i.enrollment.id not in mine]
                # Lost claims belong to another worker now: not ours to send or hand back.
                chunk = [i for i in chunk if i.enrollment.id in mine]
                if lost:
                    what["claim lost"] += len(lost)
                if not chunk:
                    continue
                ready, handed = record_sending(db, chunk, at, windows)
                back += handed
                outgoing = prepare(db, ready, at)
                # Queued behind the chunk on the wire, whose outcomes are recorded meanwhile.
                sending = sender.submit(deliver, outgoing, at)
                pending.append((ready, recorder.record(ready, sending, at), at, began))
                while len(pending) > (0 if timed is None else recorder.depth):
                    done, outcome, _, done_began = pending.pop(0)
                    what.update(outcome())
                    if done:
                        timed = (time.monotonic() - done_began) / len(done)
                        size = _chunk_size(lease, timed)
                        _note_pace(timed)
        except BaseException:
            db.rollback()
            raise
        finally:
            # Whatever stopped the loop, the sends handed over are recorded (a chunk whose
            # recording itself failed stays SENDING: UNKNOWN later, never resent).
            while pending:
                _, outcome, _, _ = pending.pop(0)
                try:
                    what.update(outcome())
                except Exception:
                    db.rollback()
                    log.exception("the outcomes of a chunk could not be recorded")
    return what, back


class _Recorder:
    """Records a chunk's outcomes once its sends are done: in the calling thread, on its
    session; or in a recording thread of its own, on a session of its own."""

    def __init__(self, db: Session, own: Session | None) -> None:
        self.db = db
        self.own = own
        self.pool = (
            ThreadPoolExecutor(max_workers=1, thread_name_prefix="aicmo-record") if own else None
        )
        #: Chunks collected late: one on the wire (and one being recorded, with a thread).
        self.depth = 2 if own is not None else 1

    def record(
        self, ready: list[Item], sending: Future[Delivered], at: datetime
    ) -> Callable[[], Counter[str]]:
        if self.pool is None or self.own is None:
            return lambda: settle(self.db, ready, sending, at)
        recorded = self.pool.submit(_settle_on, self.own, ready, sending, at)
        return recorded.result

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True)
        if self.own is not None:
            self.own.close()


@contextmanager
def _recorder(db: Session) -> Iterator[_Recorder]:
    """A recording thread on PostgreSQL, where a second connection writes at the same
    time as the first (SQLite has one writer: its outcomes are recorded in line)."""
    bind = db.get_bind()
    own = None
    if isinstance(bind, Engine) and bind.dialect.name == "postgresql":
        own = Session(bind=bind, expire_on_commit=False)
    recorder = _Recorder(db, own)
    try:
        yield recorder
    finally:
        recorder.close()


def _settle_on(
    db: Session, ready: list[Item], sending: Future[Delivered], now: datetime
) -> Counter[str]:
    try:
        return settle(db, ready, sending, now)
    except BaseException:
        db.rollback()
        raise


#: Seconds a measured pace stays good for the next batch; older, the next batch times
#: its first chunk again (the server may have slowed down meanwhile).
PACE_TTL = 10.0
_pace: tuple[float, float] | None = None  # seconds per message, when measured


def _recent_pace() -> float | None:
    pace = _pace
    if pace is None or time.monotonic() - pace[1] > PACE_TTL:
        return None
    return pace[0]


def _note_pace(per_message: float) -> None:
    global _pace
    _pace = (per_message, time.monotonic())


def _fresh(until: datetime | None, at: datetime, lease: timedelta) -> bool:
    """Whether a claim has at least three quarters of the lease left: a chunk takes an
    eighth of it at most (:func:`_chunk_size`), queued behind two others at most, so a
    server six times slower than the last chunk measured still finishes well inside it.
    (Nothing takes a live claim away: other workers claim only expired ones, and stops
    are applied when an enrollment is next processed.)"""
    return until is not None and until - at >= lease * 3 / 4


def _chunk_size(lease: timedelta, per_message: float) -> int:
    """Messages per chunk such that a chunk takes at most an eighth of the lease from its
    start to its recorded outcomes (queued behind the chunks in flight, sent, recorded),
    at the pace of the last one: its claims, with three quarters of the lease left when it
    starts, never expire mid-send."""
    budget = lease.total_seconds() / 8
    return max(1, min(GROUP, int(budget / max(per_message, 1e-4))))


#: How long a thread may hold the interpreter lock while another waits for it, during
#: a dispatch (the default is 5 ms). The sender thread needs the lock to read each of the
#: server's four answers per message; at the default it would wait up to 5 ms for each
#: while this thread builds. Set for the process while any dispatch runs, then restored.
SWITCH_INTERVAL = 0.0001
_switch_lock = threading.Lock()
_switch_users = 0
_switch_saved = 0.0


@contextmanager
def _sender() -> Iterator[ThreadPoolExecutor]:
    global _switch_users, _switch_saved
    with _switch_lock:
        if _switch_users == 0:
            _switch_saved = sys.getswitchinterval()
            sys.setswitchinterval(min(_switch_saved, SWITCH_INTERVAL))
        _switch_users += 1
    try:
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="aicmo-send") as pool:
            yield pool
    finally:
        with _switch_lock:
            _switch_users -= 1
            if _switch_users == 0:
                sys.setswitchinterval(_switch_saved)


def _renew_claims(
    db: Session, chunk: list[Item], *, worker: str, at: datetime, lease: timedelta
) -> set[int]:
    """Extend this worker's claims on the chunk; the ids whose claim is still ours."""
    ids = [i.enrollment.id for i in chunk]
    db.commit()
    with unit_of_work(db):
        renew = (
            update(EnrollmentDB)
            .where(
                EnrollmentDB.id.in_(ids),
                EnrollmentDB.claimed_by == worker,
                EnrollmentDB.claimed_until >= at,
            )
            .values(claimed_until=at + lease)
            .execution_options(synchronize_session=False)
        )
        if db.get_bind().dialect.update_returning:  # SQLite 3.35+, PostgreSQL
            return set(db.scalars(renew.returning(EnrollmentDB.id)))
        db.execute(renew)
        mine = set(
            db.scalars(
                select(EnrollmentDB.id).where(
                    EnrollmentDB.id.in_(ids),
                    EnrollmentDB.claimed_by == worker,
                    EnrollmentDB.claimed_until == at + lease,
                )
            )
        )
    return mine


def deliver(outgoing: list[Outgoing], now: datetime) -> Delivered:
    """The sender thread: hand each message to its transport, in order (through the
    sending process when every message goes by SMTP and that process is on)."""
    if get_settings().sending_process and all(
        isinstance(out.transport, SmtpTransport) and send_process.usable(out.transport.settings)
        for out in outgoing
    ):
        try:
            return _deliver_in_child(outgoing, now)
        except send_process.SenderProcessUnavailable:
            log.warning("no sending process: this chunk is sent from the worker", exc_info=True)
    done = Delivered([])
    for out in outgoing:
        try:
            if isinstance(out.message, AicmoError):
                raise out.message
            done.outcomes.append(
                out.transport.send(
                    out.message, mail_from=out.mail_from, rcpt_to=out.rcpt, now=now, key=out.key
                )
            )
        except (ChannelError, ConfigurationError) as err:
            done.outcomes.append(err)
        except Exception as err:  # a bug or an unmapped error: keep what is known
            done.error = err
            break
    return done


def _deliver_in_child(outgoing: list[Outgoing], now: datetime) -> Delivered:
    jobs = [
        send_process.Job(
            cast(SmtpTransport, out.transport).settings,
            out.message,
            out.mail_from,
            out.rcpt,
            now,
            out.key,
        )
        for out in outgoing
        if not isinstance(out.message, AicmoError)
    ]
    sent, error = send_process.send_many(jobs)
    # Back in order, the messages that could not be built in their places; outcomes stop
    # where the child stopped.
    done = Delivered([])
    answers = iter(sent)
    for out in outgoing:
        if isinstance(out.message, AicmoError):
            done.outcomes.append(out.message)
            continue
        answer = next(answers, None)
        if answer is None:
            break
        done.outcomes.append(answer)
    done.error = error
    return done
