"""SMTP status codes: hard or soft, policy or not, and reading them out of bounce text."""

from __future__ import annotations

import pytest

from aicmo.cam.inbound.dsn import extract_status
from aicmo.cam.inbound.status import (
    Severity,
    is_policy,
    normalize_status,
    status_info,
    status_severity,
)


@pytest.mark.parametrize(
    ("status", "severity", "policy"),
    [
        ("5.1.1", Severity.HARD, False),
        ("5.1.10", Severity.HARD, False),
        ("5.1.2", Severity.HARD, False),
        ("5.2.1", Severity.HARD, False),
        ("5.2.2", Severity.SOFT, False),  # mailbox full: the address exists
        ("5.2.3", Severity.SOFT, False),  # our message too large, not the address
        ("5.3.4", Severity.SOFT, False),
        ("5.4.4", Severity.HARD, False),
        ("5.7.1", Severity.HARD, True),
        ("5.7.26", Severity.HARD, True),
        ("5.7.509", Severity.HARD, True),  # unknown detail: the subject decides
        ("4.2.2", Severity.SOFT, False),
        ("4.4.1", Severity.SOFT, False),
        ("4.7.0", Severity.SOFT, True),
        ("2.0.0", Severity.NONE, False),
    ],
)
def test_status_severity_and_policy_follow_the_table(
    status: str, severity: Severity, policy: bool
) -> None:
    assert status_severity(status) is severity
    assert is_policy(status) is policy


def test_every_status_has_a_description() -> None:
    assert status_info("5.1.1").description == "bad destination mailbox address"
    assert status_info("5.9.99").description == "unrecognised status"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("5.1.1", "5.1.1"),
        ("5.1.1 (bad destination mailbox address)", "5.1.1"),
        (" 4.04.01", "4.4.1"),
        ("5.1.10", "5.1.10"),
        ("failed", None),
        ("6.1.1", None),
    ],
)
def test_status_field_is_normalised(raw: str, expected: str | None) -> None:
    assert normalize_status(raw) == expected


@pytest.mark.parametrize(
    ("text", "status", "inferred"),
    [
        ("550 5.1.1 <a@example.org>: Recipient address rejected", "5.1.1", False),
        ("552-5.2.2 The email account is over quota", "5.2.2", False),
        ("Sorry, no mailbox here by that name. (#5.1.1)", "5.1.1", False),
        ("#550 5.1.1 RESOLVER.ADR.RecipNotFound; not found ##", "5.1.1", False),
        ("421 4.7.0 Try again later, closing connection.", "4.7.0", False),
        ("554 delivery error: dd This user doesn't have an example.org account", "5.1.1", True),
        ("552 Mailbox full", "5.2.2", True),
        ("550 Message rejected as spam", "5.7.1", True),
        ("450 Requested action aborted", "4.0.0", True),
    ],
)
def test_status_is_read_from_bounce_text(text: str, status: str, inferred: bool) -> None:
    found = extract_status(f"Remote host said:\n{text}\n")

    assert found is not None
    assert found.status == status
    assert found.inferred is inferred


@pytest.mark.parametrize(
    "text",
    [
        "host mx.example.org[192.0.2.25] accepted the message",
        "Received: from 10.4.4.1 by Postfix 2.11.3",
        "250 2.0.0 Ok: queued as 4ZkP6w0Gs1z4hDa",
        "",
    ],
)
def test_addresses_versions_and_success_codes_are_no_failure_status(text: str) -> None:
    assert extract_status(text) is None


def test_diagnostic_joins_the_lines_of_a_multi_line_reply() -> None:
    text = (
        "    552-5.2.2 The recipient's inbox is out of storage space. Please direct the\n"
        "    552-5.2.2 recipient to\n"
        "    552 5.2.2  https://support.example.org/?p=OverQuota d2si - gsmtp\n"
        "    552 5.2.2 this line belongs to another reply\n"
    )

    found = extract_status(text)

    assert found is not None
    assert found.diagnostic == (
        "552-5.2.2 The recipient's inbox is out of storage space. Please direct the "
        "recipient to https://support.example.org/?p=OverQuota d2si - gsmtp"
    )
