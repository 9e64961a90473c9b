"""The email channel end to end: a mailbox in the database, our service, a real SMTP server."""

from __future__ import annotations

import base64
import email
import email.policy
from collections.abc import Iterator

import dkim
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy.orm import Session

from aicmo import operator_services as ops
from aicmo.operator_services.channels.email import close_transports
from aicmo.operator_services.channels.mailboxes import add_mailbox
from tests.integration.smtp.conftest import Behaviour, StartServer


@pytest.fixture(autouse=True)
def _close_connections() -> Iterator[None]:
    yield
    close_transports()


def mailbox_for(db: Session, port: int, **extra: object) -> dict[str, object]:
    return add_mailbox(
        db,
        "sales",
        "alex@aicmo.example",
        from_name="Alex Martin",
        smtp_host="127.0.0.1",
        smtp_port=port,
        smtp_security="none",
        **extra,  # type: ignore[arg-type]
    )


def test_a_message_arrives_with_valid_mime_and_the_unsubscribe_headers(
    db: Session, smtp_server: StartServer
) -> None:
    server = smtp_server("plain")
    mailbox_for(db, server.port)
    lead = ops.create_lead(db, email="jane@acme.example", first_name="Jane", company="Acme")
    result = ops.send_outreach_message(
        db, lead["id"], "Hi {{ first_name }}, a question about {{ company }}.", "Quick question"
    )
    assert result["status"] == "SENT" and result["transport"] == "smtp"
    assert result["response"].startswith("250")
    assert len(server.received) == 1
    got = server.received[0]
    assert got.mail_from == "alex@aicmo.example" and got.rcpt_tos == ["jane@acme.example"]
    msg = email.message_from_bytes(got.content, policy=email.policy.default)
    assert msg["Subject"] == "Quick question"
    assert msg["From"].addresses[0].display_name == "Alex Martin"
    assert msg["Message-ID"].endswith("@aicmo.example>")
    unsubscribe = str(msg["List-Unsubscribe"])
    assert (
        "<https://localhost:8000/u/" in unsubscribe and "<mailto:alex@aicmo.example" in unsubscribe
    )
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    body = msg.get_body(preferencelist=("plain",))
    assert body is not None and "Hi Jane, a question about Acme." in body.get_content()
    history = ops.get_outreach_history(db, lead_id=lead["id"])[0]
    assert history["status"] == "SENT"


def test_dkim_signature_verifies(db: Session, smtp_server: StartServer) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    record = b"v=DKIM1; k=rsa; p=" + base64.b64encode(public)
    server = smtp_server("plain")
    mailbox_for(
        db, server.port, dkim_domain="aicmo.example", dkim_selector="s1", dkim_private_key_pem=pem
    )
    lead = ops.create_lead(db, email="jane@acme.example")
    ops.send_outreach_message(db, lead["id"], "Hello", "Signed")
    content = server.received[0].content

    def dns(name: bytes, timeout: int = 5) -> bytes:
        assert name == b"s1._domainkey.aicmo.example."
        return record

    assert dkim.verify(content, dnsfunc=dns)
    assert not dkim.verify(content.replace(b"Hello", b"Hellx"), dnsfunc=dns)


def test_a_550_on_rcpt_is_a_hard_bounce_and_suppresses_at_once(
    db: Session, smtp_server: StartServer
) -> None:
    server = smtp_server(
        "plain", Behaviour(rcpt_replies={"gone@acme.example": "550 5.1.1 User unknown"})
    )
    mailbox_for(db, server.port)
    lead = ops.create_lead(db, email="gone@acme.example")
    result = ops.send_outreach_message(db, lead["id"], "Hi", "Hello")
    assert result["status"] == "BOUNCED"
    hit = ops.check_suppression(db, email="gone@acme.example")
    assert hit is not None and hit["reason"] == "HARD_BOUNCE"
    again = ops.send_outreach_message(db, lead["id"], "Hi again", "Hello")
    assert again["status"] == "SUPPRESSED"
    assert len(server.received) == 0


def test_a_451_is_a_temporary_failure(db: Session, smtp_server: StartServer) -> None:
    server = smtp_server("plain", Behaviour(data_reply="451 4.3.0 Try again later"))
    mailbox_for(db, server.port)
    lead = ops.create_lead(db, email="jane@acme.example")
    result = ops.send_outreach_message(db, lead["id"], "Hi", "Hello")
    assert result["status"] == "FAILED" and result["error"].startswith("temporary failure")
    assert ops.check_suppression(db, email="jane@acme.example") is None


def test_a_connection_dropped_mid_data_is_unknown_and_not_resent(
    db: Session, smtp_server: StartServer
) -> None:
    server = smtp_server("plain", Behaviour(after_payload="hang-up"))
    mailbox_for(db, server.port)
    lead = ops.create_lead(db, email="jane@acme.example")
    result = ops.send_outreach_message(db, lead["id"], "Hi", "Hello", idempotency_key="k-1")
    assert result["status"] == "UNKNOWN"
    retry = ops.send_outreach_message(db, lead["id"], "Hi", "Hello", idempotency_key="k-1")
    assert retry["duplicate"] is True and retry["status"] == "UNKNOWN"
    assert ops.get_channel_metrics(db)["EMAIL"]["unknown"] == 1


def test_a_mailbox_at_its_cap_is_not_used(db: Session, smtp_server: StartServer) -> None:
    from aicmo.errors import RateLimitedError

    server = smtp_server("plain")
    mailbox_for(db, server.port, daily_cap=1)
    a = ops.create_lead(db, email="a@acme.example")
    b = ops.create_lead(db, email="b@acme.example")
    assert ops.send_outreach_message(db, a["id"], "Hi", "Hello")["status"] == "SENT"
    with pytest.raises(RateLimitedError):
        ops.send_outreach_message(db, b["id"], "Hi", "Hello")
    assert len(server.received) == 1
