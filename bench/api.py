"""Benchmark: the REST API under concurrent clients, against the same queries called
directly through the service layer in the same run.

A fresh database gets N leads (100k by default: grades, tags, scores spread as an import
would leave them) and a campaign with a month of metrics. The API is served by uvicorn in
its own process (as `aicmo serve` runs it); C concurrent clients (200 by default, one
asyncio connection each) then list and filter leads and read campaign metrics with an API
key, for a fixed number of requests. The baseline runs the very same service calls
(`find_leads`, `get_channel_metrics`) in this process, one after another. The ratio shows
what HTTP, authentication, validation and serialisation cost:

    python bench/api.py [--leads 100000] [--clients 200 10] [--requests 4000] [--workers 1]

Prints one line per database and client count: `ratio = API requests/s / direct
calls/s` first (goal >= 0.7), then p50 / p99 latency seen by the clients (goal p99 <
100 ms), their mean, and `floor_ms`: C / (requests/s). The clients send their next
request as soon as the last one is answered (a closed loop), so by Little's law their
mean latency IS C / throughput, whatever the server does: with 200 clients the p99 can
only be under 100 ms at more than 2,000 requests/s. The smaller client count shows the
latency of a request when the server is not simply saturated. PostgreSQL runs when
AICMO_TEST_DATABASE_URL is set (own schema, dropped after).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
from sqlalchemy import Engine, insert, text

from aicmo.cam.db_models import CampaignDB, LeadDB, LeadTagDB, MetricsDailyDB
from aicmo.db import migrate
from aicmo.db.connect import make_engine, session_factory
from aicmo.operator_services import accounts
from aicmo.operator_services.crm.workspace import ensure_workspace_defaults
from aicmo.operator_services.leads import find_leads
from aicmo.operator_services.metrics import get_channel_metrics

NOW = datetime.now(UTC)
CHUNK = 10_000
TITLES = ["CEO", "VP Sales", "Head of Growth", "Engineer", "Intern", "CTO", "Marketing Lead"]
GRADES = ["A", "B", "C", "D"]


def populate(engine: Engine, leads: int) -> tuple[str, int]:
    """The leads, their tags, one campaign with 30 days of rollups; an API key."""
    rng = random.Random(7)
    with session_factory(engine)() as db:
        ensure_workspace_defaults(db)
        for start in range(0, leads, CHUNK):
            rows = []
            for i in range(start, min(start + CHUNK, leads)):
                grade = rng.choices(GRADES, weights=[1, 3, 4, 2])[0]
                email = f"p{i}@company{i % 5000}.example"
                rows.append(
                    {
                        "workspace_id": 1,
                        "email": email,
                        "email_key": email,
                        "first_name": f"First{i}",
                        "last_name": f"Last{i}",
                        "company": f"Company {i % 5000}",
                        "title": rng.choice(TITLES),
                        "stage": "NEW",
                        "grade": grade,
                        "score": {"A": 80, "B": 60, "C": 40, "D": 10}[grade] + rng.randint(0, 15),
                        "grade_reasons": [],
                        "custom_fields": {},
                        "created_at": NOW,
                        "updated_at": NOW,
                    }
                )
            ids = db.execute(insert(LeadDB).returning(LeadDB.id), rows).scalars().all()
            db.execute(
                insert(LeadTagDB),
                [
                    {"workspace_id": 1, "lead_id": lead_id, "tag": tag, "tag_key": tag}
                    for lead_id in ids
                    for tag in (["expo"] if lead_id % 3 == 0 else ["webinar"])
                ],
            )
            db.commit()
        campaign = CampaignDB(workspace_id=1, name="bench", status="ACTIVE", settings={})
        db.add(campaign)
        db.flush()
        today = NOW.date()
        db.execute(
            insert(MetricsDailyDB),
            [
                {
                    "workspace_id": 1,
                    "day": today - timedelta(days=d),
                    "campaign_id": campaign.id,
                    "channel": channel,
                    "attempted": 100,
                    "sent": 95,
                    "delivered": 90,
                    "replied": 4,
                }
                for d in range(30)
                for channel in ("EMAIL", "LINKEDIN", "CONTACT_FORM")
            ],
        )
        db.commit()
        campaign_id = campaign.id
        key = accounts.create_api_key(db, workspace_id=1, name="bench", role="viewer")["key"]
    return str(key), int(campaign_id)


#: What the clients ask, in turn: the dashboard's and an integration's common reads.
def requests_for(campaign_id: int) -> list[tuple[str, dict[str, Any]]]:
    return [
        ("/api/v1/leads", {"grade": "A", "limit": 50}),
        ("/api/v1/leads", {"tag": "expo", "limit": 50}),
        ("/api/v1/leads", {"search": "company 42", "limit": 50}),
        ("/api/v1/leads", {"min_score": 70, "limit": 50}),
        (f"/api/v1/campaigns/{campaign_id}/metrics", {"days": 30}),
    ]


def direct_calls(engine: Engine, campaign_id: int) -> list[Callable[[], object]]:
    factory = session_factory(engine)

    def call(fn: Callable[..., object], *args: Any, **kwargs: Any) -> Callable[[], object]:
        def run() -> object:
            with factory() as db:
                return fn(db, *args, **kwargs)

        return run

    return [
        call(find_leads, grade=["A"], limit=50),
        call(find_leads, tag="expo", limit=50),
        call(find_leads, search="company 42", limit=50),
        call(find_leads, min_score=70, limit=50),
        call(get_channel_metrics, campaign_id, 30),
    ]


def time_direct(calls: list[Callable[[], object]], total: int) -> float:
    for fn in calls:  # warm up
        fn()
    started = time.perf_counter()
    for i in range(total):
        calls[i % len(calls)]()
    return total / (time.perf_counter() - started)


async def _connect(host: str, port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection(host, port)


async def _get(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes
) -> tuple[int, bytes]:
    """One keep-alive HTTP/1.1 exchange: the status and the body (by Content-Length)."""
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    length = None
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length":
            length = int(value)
    if length is None:
        raise RuntimeError(f"no Content-Length in the answer: {lines[0]}")
    return status, await reader.readexactly(length)


def request_bytes(path: str, params: dict[str, Any], key: str) -> bytes:
    target = f"{path}?{urlencode(params)}" if params else path
    return (
        f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Authorization: Bearer {key}\r\nAccept: application/json\r\n\r\n"
    ).encode("ascii")


async def time_api(
    base: str, key: str, plan: list[tuple[str, dict[str, Any]]], clients: int, total: int
) -> tuple[float, list[float]]:
    """Each client has its own keep-alive connection, opened before the clock starts.

    The clients are bare asyncio streams sending prepared requests, as a load generator
    like wrk does: an httpx client cost 3 - 4 ms of CPU a request on this machine, on the
    same two cores as the server, so the run measured the client as much as the server.
    (One shared httpx pool was worse still: requests per client ranged from 3 to 16 and
    the slowest waited ~48 s in the client before the server saw them.) Every answer's
    status is checked; the warm-up checks each kind of answer's JSON with httpx.
    """
    async with httpx.AsyncClient(base_url=base, headers={"Authorization": f"Bearer {key}"}) as h:
        for path, params in plan:  # warm up the server, and check what it answers
            answer = await h.get(path, params=params)
            answer.raise_for_status()
            if not answer.json():
                raise RuntimeError(f"{path} {params} answered nothing")
    host, port = base.removeprefix("http://").split(":")
    requests = [request_bytes(path, params, key) for path, params in plan]
    conns = []
    for start in range(0, clients, 20):  # each client's connection, not all at once
        conns += await asyncio.gather(
            *(_connect(host, int(port)) for _ in range(start, min(start + 20, clients)))
        )
    latencies: list[float] = []
    counter = iter(range(total))

    async def client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        for i in counter:
            t0 = time.perf_counter()
            status, body = await _get(reader, writer, requests[i % len(requests)])
            latencies.append(time.perf_counter() - t0)
            if status != 200:
                raise RuntimeError(f"HTTP {status}: {body[:300]!r}")

    try:
        started = time.perf_counter()
        await asyncio.gather(*(client(r, w) for r, w in conns))
        elapsed = time.perf_counter() - started
    finally:
        for _, writer in conns:
            writer.close()
    return total / elapsed, latencies


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve(url: str, port: int, workers: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "AICMO_DATABASE_URL": url}
    code = (
        "import uvicorn; "
        "uvicorn.run('aicmo.web.app:serving_app', factory=True, host='127.0.0.1', "
        f"port={port}, log_level='warning', workers={workers}, "
        # Clients keep idle connections as long as the run: the server must too.
        "timeout_keep_alive=120)"
    )
    server = subprocess.Popen([sys.executable, "-c", code], env=env)
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                # The first process up answers; give the others time to load the app, so
                # that none joins in the middle of the timed run.
                time.sleep(0 if workers == 1 else 8)
                return server
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline or server.poll() is not None:
            server.kill()
            raise RuntimeError("the API server did not start")
        time.sleep(0.2)


def run_case(url: str, label: str, args: argparse.Namespace) -> None:
    engine = make_engine(url)
    try:
        migrate.upgrade(engine)
        t0 = time.perf_counter()
        key, campaign_id = populate(engine, args.leads)
        if engine.dialect.name == "postgresql":
            # As autovacuum soon would after an import this size: the statistics of the
            # empty tables would plan the listings as no installation in use does.
            with engine.begin() as conn:
                conn.execute(text("ANALYZE"))
        print(f"populated leads={args.leads} s={time.perf_counter() - t0:.1f} db={label}")
        direct = time_direct(direct_calls(engine, campaign_id), min(args.requests, 2000))
        port = free_port()
        server = serve(url, port, args.workers)
        try:
            for clients in args.clients:
                rate, latencies = asyncio.run(
                    time_api(
                        f"http://127.0.0.1:{port}",
                        key,
                        requests_for(campaign_id),
                        clients,
                        args.requests,
                    )
                )
                latencies.sort()
                p50 = statistics.median(latencies) * 1000
                p99 = latencies[int(len(latencies) * 0.99) - 1] * 1000
                mean = statistics.fmean(latencies) * 1000
                print(
                    f"ratio={rate / direct:.2f} api_per_s={rate:.0f} direct_per_s={direct:.0f} "
                    f"p50_ms={p50:.1f} p99_ms={p99:.1f} mean_ms={mean:.1f} "
                    f"floor_ms={clients / rate * 1000:.1f} clients={clients} "
                    f"requests={args.requests} leads={args.leads} workers={args.workers} "
                    f"db={label}",
                    flush=True,
                )
        finally:
            server.terminate()
            server.wait(timeout=30)
    finally:
        engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--leads", type=int, default=100_000)
    parser.add_argument("--clients", type=int, nargs="+", default=[200, 10])
    parser.add_argument("--requests", type=int, default=4000)
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        help="serving processes (aicmo serve --workers); the direct baseline stays one "
        "process, so above 1 the ratio also counts the cores the server is given",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        run_case(f"sqlite:///{Path(tmp) / 'api.db'}", "sqlite", args)
    base = os.environ.get("AICMO_TEST_DATABASE_URL")
    if not base:
        print("db=postgresql skipped (set AICMO_TEST_DATABASE_URL)")
        return
    schema = f"aicmo_bench_{uuid.uuid4().hex[:8]}"
    admin = make_engine(base)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in base else "?"
    try:
        run_case(f"{base}{sep}options=-csearch_path%3D{schema}", "postgresql", args)
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


if __name__ == "__main__":
    main()
