"""Benchmark: building and sending email through our code vs a bare smtplib loop.

In one run, against one aiosmtpd sink on loopback, over one SMTP connection each:
- build: templates rendered in the sandbox + message built (MIME, headers), per second;
- ours: render + build + SmtpTransport.send (connection reuse, per-stage error mapping);
- baseline: smtplib.SMTP.sendmail of the same messages, prebuilt, in a bare loop.
Prints build rate, then `ratio=ours/baseline` last. Medians of several cycles after a
warm-up.

    python bench/email_build.py [--messages 2000] [--cycles 5]
"""

from __future__ import annotations

import argparse
import smtplib
import socket
import statistics
import time
from datetime import UTC, datetime
from typing import Any

from aiosmtpd.controller import Controller

from aicmo.operator_services.channels.email_message import (
    EmailContent,
    EmailEnvelope,
    build_email,
    make_message_id,
)
from aicmo.transports.rendering import RenderContext, render
from aicmo.transports.smtp import Security, SmtpSettings, SmtpTransport

SUBJECT = "Quick question, {{ first_name | default('there') }}"
BODY = (
    "Hi {{ first_name | default('there') }},\n\n"
    "I noticed {{ company }} is hiring {{ title }}s. {Would|Could} a 15-minute call next week "
    "make sense?\n\n{{ sender.name }}\n"
)
NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


class Sink:
    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        return "250 2.0.0 Ok"


def lead(i: int) -> dict[str, Any]:
    return {
        "first_name": f"Ann{i}",
        "last_name": "Lee",
        "company": f"Acme {i}",
        "title": "engineer",
        "email": f"ann{i}@acme{i % 50}.example",
    }


def build(i: int) -> bytes:
    data = lead(i)
    key = f"bench:{i}"
    ctx = RenderContext(
        lead=data,
        sender={"name": "Alex", "email": "alex@aicmo.example"},
        unsubscribe_url=f"https://aicmo.example/u/{key}",
    )
    return build_email(
        EmailContent(
            subject=render(SUBJECT, ctx, seed=key, field="subject"),
            text=render(BODY, ctx, seed=key),
            html=None,
        ),
        EmailEnvelope(
            from_name="Alex",
            from_address="alex@aicmo.example",
            to_name="Ann Lee",
            to_address=data["email"],
        ),
        message_id=make_message_id(key, "aicmo.example"),
        date=NOW,
        unsubscribe_https=f"https://aicmo.example/u/{i}",
        unsubscribe_mailto="mailto:alex@aicmo.example",
        postal_address="1 Example Street, Springfield",
    )


def run_build(n: int) -> float:
    t0 = time.perf_counter()
    for i in range(n):
        build(i)
    return n / (time.perf_counter() - t0)


def run_ours(n: int, port: int) -> float:
    transport = SmtpTransport(
        SmtpSettings(host="127.0.0.1", port=port, security=Security.NONE),
        max_messages_per_connection=10**9,
    )
    t0 = time.perf_counter()
    for i in range(n):
        msg = build(i)
        transport.send(
            msg,
            mail_from="alex@aicmo.example",
            rcpt_to=f"ann{i}@acme{i % 50}.example",
            now=NOW,
            key=f"bench:{i}",
        )
    rate = n / (time.perf_counter() - t0)
    transport.close()
    return rate


def run_transport_only(n: int, port: int, prebuilt: list[bytes]) -> float:
    transport = SmtpTransport(
        SmtpSettings(host="127.0.0.1", port=port, security=Security.NONE),
        max_messages_per_connection=10**9,
    )
    t0 = time.perf_counter()
    for i in range(n):
        transport.send(
            prebuilt[i],
            mail_from="alex@aicmo.example",
            rcpt_to=f"ann{i}@acme{i % 50}.example",
            now=NOW,
            key=f"bench:{i}",
        )
    rate = n / (time.perf_counter() - t0)
    transport.close()
    return rate


def run_baseline(n: int, port: int, prebuilt: list[bytes]) -> float:
    client = smtplib.SMTP("127.0.0.1", port)
    client.ehlo()
    t0 = time.perf_counter()
    for i in range(n):
        client.sendmail("alex@aicmo.example", [f"ann{i}@acme{i % 50}.example"], prebuilt[i])
    rate = n / (time.perf_counter() - t0)
    client.quit()
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--cycles", type=int, default=5)
    args = parser.parse_args()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    controller = Controller(Sink(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        n = args.messages
        prebuilt = [build(i) for i in range(n)]
        run_build(200), run_ours(200, port), run_baseline(200, port, prebuilt)  # warm-up
        builds, ours, only, base = [], [], [], []
        for _ in range(args.cycles):
            builds.append(run_build(n))
            ours.append(run_ours(n, port))
            only.append(run_transport_only(n, port, prebuilt))
            base.append(run_baseline(n, port, prebuilt))
        print(
            f"build_per_s={statistics.median(builds):.0f} build_min_per_s={min(builds):.0f} "
            f"messages={n} cycles={args.cycles}"
        )
        only_ratio = statistics.median(only) / statistics.median(base)
        print(
            f"ratio={only_ratio:.2f} "
            f"ours_per_s={statistics.median(only):.0f} "
            f"baseline_per_s={statistics.median(base):.0f} "
            "conn=1 transport=smtp case=prebuilt-bytes-through-SmtpTransport"
        )
        ratio = statistics.median(ours) / statistics.median(base)
        print(
            f"ratio={ratio:.2f} ours_per_s={statistics.median(ours):.0f} "
            f"baseline_per_s={statistics.median(base):.0f} ours_min_per_s={min(ours):.0f} "
            f"baseline_min_per_s={min(base):.0f} conn=1 transport=smtp"
        )
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
