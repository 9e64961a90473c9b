"""The REST API fuzzed with a real key (schemathesis over ASGI, in process): whatever a
client sends to a documented /api/v1 route, the answer is never a 5xx, its status is one
the schema documents, and its body matches the schema it promises.

Bounded: a fixed number of examples per operation, no example database."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy.orm import Session

from aicmo import operator_services as ops
from aicmo.config import get_settings
from aicmo.operator_services import accounts
from aicmo.web.app import create_app

EXAMPLES = 12  # per operation; about 40 operations


@pytest.mark.fuzz
@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)  # the routes, not the database
def test_the_api_answers_generated_requests_as_its_schema_says(
    db: Session, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AICMO_DATABASE_URL", db_url)
    get_settings.cache_clear()
    key = accounts.create_api_key(db, workspace_id=1, name="fuzz", role="admin")["key"]
    for i in range(3):
        ops.create_lead(db, email=f"f{i}@lead.example", first_name="F", tags=["t"])
    schema = schemathesis.openapi.from_asgi("/openapi.json", create_app())
    operations = []
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), result.err()
        if result.ok().path.startswith("/api/v1"):
            operations.append(result.ok())
    assert len(operations) >= 30
    statuses: Counter[int] = Counter()
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
        )
        def conforms(case: schemathesis.Case[Any]) -> None:
            headers: dict[str, Any] = dict(case.headers or {})
            headers["Authorization"] = f"Bearer {key}"
            if case.path == "/api/v1/session":
                headers.pop("Authorization")
            response = case.call(headers=headers)
            statuses[response.status_code] += 1
            assert response.status_code < 500, (
                case.method,
                case.formatted_path,
                response.text[:300],
            )
            case.validate_response(
                response,
                checks=[
                    status_code_conformance,
                    content_type_conformance,
                    response_schema_conformance,
                ],
            )

        conforms()
    # The key worked: most answers are not refusals of the caller.
    assert statuses[401] + statuses[403] < sum(statuses.values()) / 2, statuses
