"""Provider webhooks over real HTTP (uvicorn on loopback), signed as the providers sign."""

from __future__ import annotations

import base64
import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import NameOID
from sqlalchemy.orm import Session

from aicmo import operator_services as ops
from aicmo.cam.db_models import OutreachMessageDB
from aicmo.config import get_settings
from aicmo.web.app import create_app
from tests.factories import add_sent_email
from tests.http_server import serve

HOOKS = Path(__file__).parent.parent.parent / "fixtures" / "webhooks"
MESSAGE_ID = "<6b1f0d9a3c2e4f5a8b7c6d5e4f3a2b1c@aicmo.example>"
TOPIC = "arn:aws:sns:us-east-1:123456789012:aicmo-ses-events"


def sent_attempt(db: Session, email: str) -> int:
    lead = ops.create_lead(db, email=email)
    return add_sent_email(db, lead["id"], email, MESSAGE_ID, at=datetime.now(UTC))


def status_of(db: Session, attempt_id: int) -> str:
    db.rollback()
    row = db.get(OutreachMessageDB, attempt_id)
    assert row is not None
    return row.status


@pytest.fixture
def sendgrid_key(monkeypatch: pytest.MonkeyPatch, db_url: str) -> ec.EllipticCurvePrivateKey:
    key = ec.generate_private_key(ec.SECP256R1())
    der = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    monkeypatch.setenv("AICMO_SENDGRID_WEBHOOK_PUBLIC_KEY", base64.b64encode(der).decode())
    monkeypatch.setenv("AICMO_SES_TOPIC_ARNS", TOPIC)
    monkeypatch.setenv("AICMO_DATABASE_URL", db_url)
    get_settings.cache_clear()
    return key


def test_a_signed_sendgrid_bounce_suppresses_and_a_retry_changes_nothing(
    db: Session, sendgrid_key: ec.EllipticCurvePrivateKey
) -> None:
    attempt_id = sent_attempt(db, "ann.lee@lead.example")
    body = (HOOKS / "sendgrid_bounce_unknown_user.json").read_bytes()
    stamp = str(int(time.time()))
    signature = sendgrid_key.sign(stamp.encode() + body, ec.ECDSA(hashes.SHA256()))
    headers = {
        "X-Twilio-Email-Event-Webhook-Signature": base64.b64encode(signature).decode(),
        "X-Twilio-Email-Event-Webhook-Timestamp": stamp,
        "Content-Type": "application/json",
    }
    with serve(create_app()) as base:
        first = httpx.post(f"{base}/webhooks/sendgrid", content=body, headers=headers)
        again = httpx.post(f"{base}/webhooks/sendgrid", content=body, headers=headers)
        forged = httpx.post(
            f"{base}/webhooks/sendgrid", content=body.replace(b"5.1.1", b"4.1.1"), headers=headers
        )
    assert first.status_code == 200 and first.json()["applied"] == 1
    assert again.json() == {**again.json(), "applied": 0, "duplicates": 1}
    assert forged.status_code == 403
    assert status_of(db, attempt_id) == "BOUNCED"
    hit = ops.check_suppression(db, email="ann.lee@lead.example")
    assert hit is not None and hit["reason"] == "HARD_BOUNCE"


def _cert(key: rsa.RSAPrivateKey) -> bytes:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sns.amazonaws.com")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM)


def test_a_signed_ses_complaint_over_sns_suppresses(
    db: Session, sendgrid_key: ec.EllipticCurvePrivateKey
) -> None:
    attempt_id = sent_attempt(db, "ann.lee@lead.example")
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    message: dict[str, Any] = json.loads((HOOKS / "ses_complaint_abuse.json").read_text())
    message["Timestamp"] = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    message["SignatureVersion"] = "2"
    keys = ["Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"]
    canonical = "".join(f"{k}\n{message[k]}\n" for k in keys if k in message).encode()
    message["Signature"] = base64.b64encode(
        key.sign(canonical, padding.PKCS1v15(), hashes.SHA256())
    ).decode()
    fetched: list[str] = []

    def fetch(url: str) -> bytes:
        fetched.append(url)
        return _cert(key)

    # SNS sends the topic and the message type in headers too.
    sns = {"x-amz-sns-message-type": "Notification", "x-amz-sns-topic-arn": TOPIC}
    with serve(create_app(fetch_cert=fetch)) as base:
        ok = httpx.post(f"{base}/webhooks/ses", content=json.dumps(message), headers=sns)
        message["TopicArn"] = "arn:aws:sns:us-east-1:999999999999:someone-else"
        other_topic = httpx.post(f"{base}/webhooks/ses", content=json.dumps(message), headers=sns)
    assert ok.status_code == 200 and ok.json()["applied"] == 1
    assert other_topic.status_code == 403
    assert fetched == [message["SigningCertURL"]]
    assert status_of(db, attempt_id) == "COMPLAINED"
    hit = ops.check_suppression(db, email="ann.lee@lead.example")
    assert hit is not None and hit["reason"] == "COMPLAINED"
