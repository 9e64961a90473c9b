"""The seed's fallback path, Email → LinkedIn → Contact form, end to end against real
loopback servers: an SMTP sink that refuses the address, a LinkedIn provider that does not
know the profile, and a website whose contact form takes the message."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy.orm import Session

from aicmo import operator_services as ops
from aicmo.cam.domain import ChannelType, OutreachMessage
from aicmo.cam.outreach.sequencer import ChannelSequencer
from aicmo.config import get_settings
from aicmo.demo_site import DemoSite, create_demo_site
from aicmo.operator_services.channels import contact_form as contact_forms
from aicmo.operator_services.channels import linkedin_accounts as linkedin
from aicmo.operator_services.channels.mailboxes import add_mailbox
from aicmo.transports.safe_http import SafeHttpClient
from tests.e2e.crash import free_port
from tests.http_server import serve
from tests.linkedin_provider import (
    DEFAULT_ACCOUNT_ID,
    DEFAULT_API_KEY,
    ProviderState,
    create_provider_app,
)


class RefusingSink:
    """Knows no mailbox: every RCPT gets 550 5.1.1."""

    def __init__(self) -> None:
        self.data = 0

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        return "550 5.1.1 <" + address + ">: Recipient address rejected: User unknown"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.data += 1
        return "250 2.0.0 Ok"


@dataclass
class Servers:
    sink: RefusingSink
    smtp_port: int
    provider: ProviderState
    provider_url: str
    site: DemoSite
    site_url: str


@pytest.fixture
def servers(monkeypatch: pytest.MonkeyPatch) -> Iterator[Servers]:
    sink = RefusingSink()
    port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    state = ProviderState()
    site = DemoSite()
    monkeypatch.setenv("AICMO_SENDER_NAME", "Alex Martin")
    monkeypatch.setenv("AICMO_ALLOW_LOOPBACK", "1")  # the provider is on 127.0.0.1
    get_settings.cache_clear()
    monkeypatch.setattr(
        contact_forms, "client_factory", lambda _s: SafeHttpClient(allow_loopback=True)
    )
    try:
        with serve(create_provider_app(state)) as li_base, serve(create_demo_site(site)) as web:
            yield Servers(sink, port, state, li_base, site, web)
    finally:
        controller.stop()


def test_email_then_linkedin_then_the_contact_form_each_attempt_on_record(
    db: Session, servers: Servers
) -> None:
    add_mailbox(
        db,
        "sink",
        "alex@aicmo.example",
        smtp_host="127.0.0.1",
        smtp_port=servers.smtp_port,
        smtp_security="none",
    )
    linkedin.add_linkedin_account(
        db,
        "alex",
        base_url=servers.provider_url,
        account_ref=DEFAULT_ACCOUNT_ID,
        api_key=DEFAULT_API_KEY,
    )
    seq = ChannelSequencer(session=lambda: nullcontext(db))
    msg = OutreachMessage(
        channel=ChannelType.EMAIL,
        message_type="cold_outreach",
        body="Hi John, I wanted to reach out...",
        subject="Quick question",
    )
    result = seq.execute_sequence(
        message=msg,
        recipient_email="john@acme.example",
        recipient_linkedin_id="john-li-id",
        form_url=f"{servers.site_url}/contact/",
    )
    assert result["success"] is True and result["channel_used"] == "CONTACT_FORM"
    assert [(a["channel"], a["status"]) for a in result["attempts"]] == [
        ("EMAIL", "BOUNCED"),
        ("LINKEDIN", "FAILED"),
        ("CONTACT_FORM", "SENT"),
    ]
    assert servers.sink.data == 0  # refused at RCPT: nothing was handed over
    assert "not found" in result["attempts"][1]["error"].lower()
    [received] = servers.site.received
    assert received["your-message"].startswith("Hi John, I wanted to reach out")
    assert received["your-name"] == "Alex Martin" and not received.get("url")  # honeypot
    history = ops.get_outreach_history(db, lead_id=result["lead_id"])
    assert {h["channel"] for h in history} == {"EMAIL", "LINKEDIN", "CONTACT_FORM"}
    form = next(h for h in history if h["channel"] == "CONTACT_FORM")
    assert form["details"]["status"] == 200
    assert form["details"]["final_url"].endswith("/thank-you/")
    # The bounce suppressed the address, for email only: the person stayed reachable.
    assert ops.check_suppression(db, email="john@acme.example") is not None
