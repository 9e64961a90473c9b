"""The steps of a mailbox connection check, from the first stage that failed."""

from __future__ import annotations

from aicmo.cam.domain.mailbox_check import CheckStep, check_steps


def statuses(steps: list[CheckStep]) -> list[str]:
    return [s.status for s in steps]


def test_a_passed_check_marks_every_step_ok_except_those_not_configured() -> None:
    steps = check_steps("smtp", True, "ok", "fine", encrypted=False, authenticates=True)
    assert statuses(steps) == ["ok", "ok", "skipped", "ok"]


def test_a_failed_login_passes_the_steps_before_it_and_says_what_to_do() -> None:
    steps = check_steps("imap", False, "auth", "LOGIN failed", encrypted=True, authenticates=True)
    assert statuses(steps) == ["ok", "ok", "ok", "failed", "not tried"]
    assert steps[3].message == "LOGIN failed"
    assert "password" in steps[3].hint


def test_a_refusal_before_connecting_fails_the_first_step_with_its_own_hint() -> None:
    steps = check_steps(
        "smtp", False, "address", "127.0.0.1 is this machine", encrypted=True, authenticates=False
    )
    assert statuses(steps) == ["failed", "not tried", "not tried", "skipped"]
    assert "aicmo mailbox test" in steps[0].hint
