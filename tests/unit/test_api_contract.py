"""The API's pure parts: its models follow the lead schema, cursors refuse what they did
not make, roles nest."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from aicmo.cam.domain.access import (
    Role,
    allows,
    format_key,
    parse_key,
    secret_digest,
    secret_matches,
)
from aicmo.cam.domain.lead_fields import EDITABLE_FIELDS, RECORD_KEYS
from aicmo.errors import ValidationError
from aicmo.web.api.pagination import decode_cursor, encode_cursor
from aicmo.web.api.schemas import Lead, LeadFields


def test_the_lead_models_carry_exactly_the_lead_schemas_fields() -> None:
    assert set(Lead.model_fields) - {"notes"} == set(RECORD_KEYS)
    assert set(LeadFields.model_fields) == set(EDITABLE_FIELDS)


def test_a_cursor_round_trips_and_a_forged_one_is_a_named_422() -> None:
    at = datetime(2026, 12, 7, 6, 0, tzinfo=UTC)
    assert decode_cursor(encode_cursor([at, 42]), (datetime, int)) == (at, 42)
    assert decode_cursor(encode_cursor([None, 7]), (int, int)) == (None, 7)
    for forged in ("!!", encode_cursor(["x", 1]), encode_cursor([1]), "A" * 600, "e30"):
        with pytest.raises(ValidationError) as err:
            decode_cursor(forged, (int, int))
        assert err.value.field == "cursor"


def test_roles_nest_viewer_operator_admin() -> None:
    assert allows(Role.ADMIN, Role.OPERATOR) and allows(Role.OPERATOR, Role.VIEWER)
    assert not allows(Role.VIEWER, Role.OPERATOR) and not allows(Role.OPERATOR, Role.ADMIN)


def test_a_key_parses_back_and_only_its_own_secret_matches() -> None:
    key = format_key("AbCdEf123456", "s" * 43)
    parts = parse_key(key)
    assert parts is not None and parts.public_id == "AbCdEf123456"
    assert secret_matches(parts.secret, secret_digest("s" * 43))
    assert not secret_matches("t" * 43, secret_digest("s" * 43))
    for junk in ("", "aicmo_", "Bearer x", "aicmo_short_s", key + "\n\r x"):
        assert parse_key(junk) is None
