"""docs/webhooks.md: its event table is the code's, and its verification example runs."""

from __future__ import annotations

import re
import time
from pathlib import Path

from aicmo.cam.domain import webhooks as W

DOC = Path(__file__).resolve().parents[2] / "docs" / "webhooks.md"


def test_the_documented_events_are_exactly_the_subscribable_ones() -> None:
    text = DOC.read_text(encoding="utf-8")
    table = re.findall(r"^\| `([a-z_.]+)` \| (.+?) \| (.+?) \|$", text, flags=re.MULTILINE)
    assert [name for name, _, _ in table] == [e.name for e in W.WEBHOOK_EVENTS]
    for (name, _, source), entry in zip(table, W.WEBHOOK_EVENTS, strict=True):
        for t in entry.types:
            assert f"`{t.value}`" in source, name
        assert ("any channel" if entry.channel == W.ANY_CHANNEL else entry.channel) in source


def test_the_verification_example_runs_and_accepts_what_aicmo_signs() -> None:
    text = DOC.read_text(encoding="utf-8")
    [code] = re.findall(r"```python\n(.*?)```", text, flags=re.DOTALL)
    scope: dict[str, object] = {}
    exec(compile(code, str(DOC), "exec"), scope)
    verify = scope["verify_webhook"]
    secret = W.format_secret(b"k" * 32)
    body = b'{"id":"evt_1","type":"email.replied"}'
    stamp = int(time.time())
    headers = {
        "webhook-id": "evt_1",
        "webhook-timestamp": str(stamp),
        "webhook-signature": W.signature_header([secret], "evt_1", stamp, body),
    }
    assert verify(secret, headers, body)  # type: ignore[operator]
    assert not verify(W.format_secret(b"x" * 32), headers, body)  # type: ignore[operator]
