"""The web app's OpenAPI schema, fuzzed in process (schemathesis over ASGI): whatever a
client sends to a documented route (paths, queries, headers, bodies the schema allows
and variations on them), the answer is never a 5xx other than the documented 503s.

Bounded: a fixed number of examples per operation, no example database, so it runs in
the normal suite in under half a minute."""

from __future__ import annotations

import base64
from collections import Counter
from typing import Any

import pytest
import schemathesis
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.core.result import Ok
from sqlalchemy.orm import Session

from aicmo.config import get_settings
from aicmo.web.app import create_app

EXAMPLES = 40  # per operation: 6 operations, a few hundred requests in all


@pytest.mark.fuzz
@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)  # the routes, not the database
def test_no_documented_route_answers_5xx_to_generated_requests(
    db: Session, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    der = (
        ec.generate_private_key(ec.SECP256R1())
        .public_key()
        .public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    monkeypatch.setenv("AICMO_DATABASE_URL", db_url)
    monkeypatch.setenv("AICMO_SENDGRID_WEBHOOK_PUBLIC_KEY", base64.b64encode(der).decode())
    monkeypatch.setenv("AICMO_SES_TOPIC_ARNS", "arn:aws:sns:us-east-1:123456789012:aicmo")
    get_settings.cache_clear()

    def no_network(url: str) -> bytes:
        raise OSError(f"no network in tests: {url}")

    schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(fetch_cert=no_network))
    operations = []
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), result.err()  # the schema itself is valid
        operations.append(result.ok())
    assert {op.path for op in operations} >= {"/u/{token}", "/webhooks/sendgrid", "/webhooks/ses"}
    seen: list[tuple[str, int]] = []
    for operation in operations:

        @given(case=operation.as_strategy(), stamp=st.sampled_from(_STAMPS))
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
        )
        def answers_without_5xx(case: schemathesis.Case[Any], stamp: str) -> None:
            headers = dict(case.headers or {})
            if case.path == "/webhooks/sendgrid":
                # Reach past the header checks now and then: a signature and a timestamp
                # from the absurd to the current.
                headers["X-Twilio-Email-Event-Webhook-Signature"] = "MEUCIQ=="
                headers["X-Twilio-Email-Event-Webhook-Timestamp"] = stamp
            response = case.call(headers=headers)
            seen.append((case.path, response.status_code))
            # 503 is documented: the database or the SNS certificate is out of reach.
            assert response.status_code < 500 or response.status_code == 503, (
                case.method,
                case.formatted_path,
                response.status_code,
                response.text[:300],
            )

        answers_without_5xx()
    assert len(seen) >= 100
    # Every route was reached, each with more than one kind of answer or many examples.
    assert {path for path, _ in Counter(seen)} == {op.path for op in operations}


#: SendGrid timestamps from the absurd to the plausible (the current one is added lazily
#: as text: hypothesis samples from this list).
_STAMPS = ["999999999999", "0", "-1", "1e10", "now", "17731440000000000000000"]
