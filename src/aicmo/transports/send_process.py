"""SMTP sends made by a child process, for a worker that prepares and records its sends
at the same time.

A worker's sending thread needs the interpreter lock after each of the server's four
answers per message, and the worker's main thread holds that lock most of the time
(rendering, building, recording): every answer waited for it. In a process of its own the
sending loop answers the server as fast as a bare SMTP client would, on the other core.

One child per worker process, started on first use, with its own :class:`SmtpTransport`
per mailbox (connections kept open, as in the worker). It sends a chunk in order and
answers with one outcome per message it handed over: a :class:`SendReceipt` or the
:class:`ChannelError` / :class:`ConfigurationError` the transport raised, exactly as the
transport would have returned or raised them in the worker.

If the worker dies, the child sends nothing more: it checks before each message that its
parent is still the worker, and exits when the pipe closes. It ignores SIGINT and SIGTERM
(a terminal's Ctrl-C reaches the whole process group): the worker's own graceful stop
decides what is sent. If the child dies, the chunk's outcomes are unknown: the caller gets
:class:`SenderProcessLost` and the next chunk starts a new child.
"""

from __future__ import annotations

import atexit
import logging
import os
import pickle
import signal
import subprocess
import sys
import threading
import traceback
from dataclasses import dataclass
from datetime import datetime
from multiprocessing.connection import Connection
from typing import Any

from aicmo.errors import AicmoError, ChannelError, ConfigurationError
from aicmo.transports.base import SendReceipt
from aicmo.transports.smtp import SmtpSettings, SmtpTransport

log = logging.getLogger("aicmo.send_process")

__all__ = [
    "Job",
    "SenderProcessLost",
    "SenderProcessUnavailable",
    "close",
    "main",
    "send_many",
    "usable",
]


class SenderProcessLost(AicmoError):
    """The sending process stopped during a chunk: the outcomes of its sends are unknown."""


@dataclass(frozen=True, slots=True)
class Job:
    """One message for the child: what :meth:`SmtpTransport.send` takes, and the settings
    of the transport to send it with."""

    settings: SmtpSettings
    message: bytes
    mail_from: str
    rcpt_to: str
    now: datetime
    key: str


Outcome = SendReceipt | AicmoError


def usable(settings: SmtpSettings) -> bool:
    """Whether these settings can cross to the child (a custom TLS context cannot)."""
    return settings.ssl_context is None


# ------------------------------------------------------------------------- the child

#: Outcomes the child sends back at a time.
_FLUSH = 10
#: Connections a child keeps open at most (one per mailbox's settings); the least
#: recently used is closed first (a mailbox whose settings changed leaves an old one).
_KEPT = 32


@dataclass(frozen=True, slots=True)
class _Failed:
    """The child hit an unexpected error: the traceback, and the job it was on."""

    trace: str


def main(read_fd: int, write_fd: int, parent: int) -> None:
    """The child's loop: a chunk, its outcomes a few at a time as they are known, then an
    end mark; until the pipe closes or the parent is gone."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    reader = Connection(read_fd, writable=False)
    writer = Connection(write_fd, readable=False)
    transports: dict[SmtpSettings, SmtpTransport] = {}
    writer.send_bytes(pickle.dumps("ready"))
    try:
        while True:
            try:
                # An anonymous pipe from the worker that started us: nobody else writes.
                request = pickle.loads(reader.recv_bytes())  # noqa: S301
            except (EOFError, OSError):
                return
            if request is None:  # close the connections, stay up
                _close_all(transports)
                writer.send_bytes(pickle.dumps(None))
                continue
            known: list[Outcome] = []
            for job in request:
                if os.getppid() != parent:
                    return  # the worker is gone: nobody would record the rest
                try:
                    known.append(
                        _transport(transports, job.settings).send(
                            job.message,
                            mail_from=job.mail_from,
                            rcpt_to=job.rcpt_to,
                            now=job.now,
                            key=job.key,
                        )
                    )
                except (ChannelError, ConfigurationError) as err:
                    known.append(err)
                except Exception:  # a bug or an unmapped error: stop, keep what is known
                    writer.send_bytes(pickle.dumps(known))
                    known = []
                    writer.send_bytes(pickle.dumps(_Failed(traceback.format_exc(limit=20))))
                    break
                # Outcomes go back a few at a time: if this process dies, at most that
                # many known outcomes are lost (one at a time would wake the worker's
                # sending thread, and take its interpreter lock, for every message).
                if len(known) >= _FLUSH:
                    writer.send_bytes(pickle.dumps(known))
                    known = []
            if known:
                writer.send_bytes(pickle.dumps(known))
            writer.send_bytes(pickle.dumps(None))
    finally:
        _close_all(transports)


def _transport(kept: dict[SmtpSettings, SmtpTransport], settings: SmtpSettings) -> SmtpTransport:
    transport = kept.pop(settings, None)
    if transport is None:
        transport = SmtpTransport(settings)
        while len(kept) >= _KEPT:
            kept.pop(next(iter(kept))).close()
    kept[settings] = transport  # the most recently used last
    return transport


def _close_all(transports: dict[SmtpSettings, SmtpTransport]) -> None:
    for transport in transports.values():
        transport.close()  # QUIT; errors are ignored
    transports.clear()


# ------------------------------------------------------------------------ the worker


class SenderProcessUnavailable(AicmoError):
    """No sending process could be started: nothing was handed over."""


class _Child:
    """The child, a plain ``python`` process talking over two pipes of its own (not
    :mod:`multiprocessing`, which would re-run the worker's main module in it and, at
    exit, wait for a child that is waiting for it), in a session of its own (a terminal's
    Ctrl-C goes to the worker alone)."""

    def __init__(self, parent: int | None = None) -> None:
        ours_r, theirs_w = os.pipe()
        theirs_r, ours_w = os.pipe()
        parent = os.getpid() if parent is None else parent
        code = f"from {__name__} import main; main({theirs_r}, {theirs_w}, {parent})"
        try:
            self.process = subprocess.Popen(  # noqa: S603 -- our interpreter, our code
                [sys.executable, "-c", code],
                pass_fds=(theirs_r, theirs_w),
                stdin=subprocess.DEVNULL,
                close_fds=True,
                start_new_session=True,
            )
        except BaseException:
            os.close(ours_r)
            os.close(ours_w)
            raise
        finally:
            os.close(theirs_r)  # only the child holds its ends: it sees EOF if we die
            os.close(theirs_w)
        self.reader = Connection(ours_r, writable=False)
        self.writer = Connection(ours_w, readable=False)

    def ready(self) -> bool:
        """Whether the child came up (imported, signals set) and said so."""
        try:
            return bool(self._read() == "ready")
        except (EOFError, OSError, pickle.UnpicklingError):
            return False

    def _read(self) -> Any:
        return pickle.loads(self.reader.recv_bytes())  # noqa: S301 -- our own child's pipe

    def ask(self, request: Any) -> Any:
        self.writer.send_bytes(pickle.dumps(request))
        return self._read()

    def send(self, jobs: list[Job]) -> tuple[list[Outcome], BaseException | None, bool]:
        """The outcomes as they come, what stopped the child early, and whether it can
        take another chunk."""
        self.writer.send_bytes(pickle.dumps(jobs))
        outcomes: list[Outcome] = []
        while True:
            try:
                answer = self._read()
            except (EOFError, OSError) as err:
                lost = SenderProcessLost(f"the sending process stopped: {err or 'pipe closed'}")
                return outcomes, lost, False
            if answer is None:
                return outcomes, None, True
            if isinstance(answer, _Failed):
                self._read()  # the end mark
                failed = SenderProcessLost(f"the sending process failed:\n{answer.trace}")
                return outcomes, failed, True
            outcomes.extend(answer)

    def stop(self) -> None:
        self.writer.close()  # EOF: the child closes its connections and exits
        self.reader.close()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)


_lock = threading.Lock()
#: Children not sending right now. A worker running several loops (``--concurrency``)
#: gets a child per loop sending at the same time, as it had a sending thread per loop.
_idle: list[_Child] = []
_pid = os.getpid()  # whose children these are (a forked copy of the process has none)


def _take() -> _Child:
    global _pid
    with _lock:
        if _pid != os.getpid():
            _idle.clear()  # the parent's children, not ours to use or stop
            _pid = os.getpid()
        if _idle:
            return _idle.pop()
    child = _Child()
    if not child.ready():
        child.stop()
        raise SenderProcessUnavailable(
            f"the sending process did not start (exit code {child.process.returncode})"
        )
    log.info("sending process started", extra={"fields": {"pid": child.process.pid}})
    return child


def send_many(jobs: list[Job]) -> tuple[list[Outcome], BaseException | None]:
    """Send ``jobs`` in order through a child: an outcome for each message it handed
    over, and what stopped it early, if anything (the rest were not sent).

    Raises:
        SenderProcessUnavailable: no child could be started; nothing was handed over.
    """
    if not jobs:
        return [], None
    child = _take()
    try:
        outcomes, error, usable = child.send(jobs)
    except Exception as err:  # the pipe or a pickle: the child's state is unknown
        child.stop()
        return [], SenderProcessLost(f"the sending process could not be used: {err}")
    if usable:
        with _lock:
            _idle.append(child)
    else:
        child.stop()
    return outcomes, error


def close(*, stop: bool = False) -> None:
    """QUIT the idle children's connections (and stop them, with ``stop``)."""
    with _lock:
        if _pid != os.getpid():
            return
        children = list(_idle)
        _idle.clear()  # out of reach of send_many while they are spoken to
    for child in children:
        try:
            if stop:
                child.stop()
                continue
            child.ask(None)
        except Exception:
            child.stop()
            continue
        with _lock:
            _idle.append(child)


atexit.register(close, stop=True)
