"""The app's door: the pool-wide limit, and SQLite's narrow lane whose slot is leased."""

from __future__ import annotations

import asyncio
import contextlib

from starlette.types import Message, Receive, Scope, Send

from aicmo.web.concurrency import (
    POSTGRESQL_NARROW,
    SQLITE_NARROW,
    ConcurrencyLimit,
    narrow_lane,
)


async def nothing_received() -> Message:
    return {"type": "http.disconnect"}


async def nothing_sent(message: Message) -> None:
    return None


class Probe:
    """An ASGI app that records how many requests are inside it at once; a request
    whose path is /long waits for ``release`` before it ends."""

    def __init__(self) -> None:
        self.inside = 0
        self.most = 0
        self.entered: list[str] = []
        self.release = asyncio.Event()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.inside += 1
        self.most = max(self.most, self.inside)
        self.entered.append(scope["path"])
        try:
            if scope["path"] == "/long":
                await self.release.wait()
            else:
                await asyncio.sleep(0.01)
        finally:
            self.inside -= 1


async def request(gate: ConcurrencyLimit, path: str = "/short") -> None:
    await gate({"type": "http", "path": path}, nothing_received, nothing_sent)


def test_short_requests_go_in_two_at_a_time_on_the_narrow_lane() -> None:
    async def run() -> int:
        probe = Probe()
        gate = ConcurrencyLimit(probe, limit=15, narrow=2, lease=5.0)
        await asyncio.gather(*(request(gate) for _ in range(12)))
        return probe.most

    assert asyncio.run(run()) == 2


def test_without_a_narrow_lane_the_pool_limit_alone_applies() -> None:
    async def run() -> int:
        probe = Probe()
        gate = ConcurrencyLimit(probe, limit=5)
        await asyncio.gather(*(request(gate) for _ in range(12)))
        return probe.most

    assert asyncio.run(run()) == 5


def test_long_requests_give_their_slot_back_when_the_lease_ends() -> None:
    """Two long requests (an import, an export) hold the narrow lane only for the lease:
    a short one behind them gets in and finishes while they still run."""

    async def run() -> tuple[bool, list[str], int]:
        probe = Probe()
        gate = ConcurrencyLimit(probe, limit=15, narrow=2, lease=0.05)
        longs = [asyncio.create_task(request(gate, "/long")) for _ in range(2)]
        await asyncio.sleep(0.01)
        short = asyncio.create_task(request(gate, "/short"))
        await asyncio.wait_for(asyncio.shield(short), timeout=2)
        still_running = not any(t.done() for t in longs)
        probe.release.set()
        await asyncio.gather(*longs)
        return still_running, probe.entered, probe.inside

    still_running, entered, inside = asyncio.run(run())
    assert still_running
    assert entered == ["/long", "/long", "/short"]
    assert inside == 0


def test_a_request_inside_its_lease_keeps_others_waiting() -> None:
    async def run() -> bool:
        probe = Probe()
        gate = ConcurrencyLimit(probe, limit=15, narrow=1, lease=5.0)
        long = asyncio.create_task(request(gate, "/long"))
        await asyncio.sleep(0.01)
        short = asyncio.create_task(request(gate, "/short"))
        await asyncio.sleep(0.1)
        waited = not short.done() and probe.entered == ["/long"]
        probe.release.set()
        await asyncio.gather(long, short)
        return waited

    assert asyncio.run(run())


def test_a_failing_request_gives_its_slots_back() -> None:
    async def boom(scope: Scope, receive: Receive, send: Send) -> None:
        raise RuntimeError("route failed")

    async def run() -> None:
        gate = ConcurrencyLimit(boom, limit=1, narrow=1, lease=5.0)
        for _ in range(3):  # would hang on the second if a slot were kept
            with contextlib.suppress(RuntimeError):
                await asyncio.wait_for(request(gate), timeout=2)

    asyncio.run(run())


def test_each_database_gets_its_measured_narrow_lane() -> None:
    assert narrow_lane("sqlite") == SQLITE_NARROW
    assert narrow_lane("postgresql") == POSTGRESQL_NARROW


def test_non_http_scopes_pass_the_door() -> None:
    seen: list[str] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(scope["type"])

    gate = ConcurrencyLimit(app, limit=1, narrow=1)
    asyncio.run(gate({"type": "lifespan"}, nothing_received, nothing_sent))
    assert seen == ["lifespan"]
