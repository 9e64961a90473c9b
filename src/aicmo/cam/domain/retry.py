"""Retry decisions after a transient channel failure.

Pure: no I/O, no clock. ``decide_retry`` takes ``now`` and returns a
:class:`RetryDecision`; the caller records it and schedules the attempt.

The formula, with ``n = retries_so_far`` (0 before the first retry) and
``b = backoff_hours``::

    retry        = n < max_retries
    base         = b[min(n, len(b) - 1)] hours        # the last step repeats
    jitter       = 0                                   # without a seed
                 = (H mod (2s + 1)) - s seconds        # with a seed, where
                   s = floor(base_seconds / 10)        #   |jitter| <= 10 % of base
                   H = SHA-256("<seed>:<n>") as an integer (first 8 bytes, big-endian)
    at           = now + base + jitter

With the channel defaults (``max_retries=2``, ``backoff_hours=[24, 48]``) a transient
failure is retried after 24 h, then after 48 h more, then given up. The jitter spreads
retries of many leads that failed together (a provider outage) without ``random``, so
every worker computes the same instant for the same attempt.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from aicmo.cam.domain.window import require_aware
from aicmo.errors import ValidationError

__all__ = ["DEFAULT_RETRY_POLICY", "RetryDecision", "RetryPolicy", "decide_retry"]


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often and how late a transient failure is retried (per channel config).

    Args:
        max_retries: retries allowed after the first attempt, ``>= 0``.
        backoff_hours: wait before retry ``n`` is ``backoff_hours[min(n, len - 1)]``;
            finite, ``>= 0``, at least one value when ``max_retries > 0``.

    Raises:
        ValidationError: a negative count, or a missing, negative or non-finite wait.
    """

    max_retries: int = 2
    backoff_hours: Sequence[float] = field(default=(24.0, 48.0))

    def __post_init__(self) -> None:
        if isinstance(self.max_retries, bool) or self.max_retries < 0:
            raise ValidationError(
                f"max_retries must be >= 0, got {self.max_retries!r}", field="max_retries"
            )
        waits = tuple(float(h) for h in self.backoff_hours)
        if self.max_retries > 0 and not waits:
            raise ValidationError(
                "backoff_hours needs at least one value when retries are allowed",
                field="backoff_hours",
            )
        if any(not math.isfinite(h) or h < 0 for h in waits):
            raise ValidationError(
                f"backoff_hours must be finite and >= 0, got {list(waits)}", field="backoff_hours"
            )
        object.__setattr__(self, "backoff_hours", waits)

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> RetryPolicy:
        """The policy from a channel config row or dict (``max_retries``, ``backoff_hours``).

        Missing keys take the defaults (2 retries, 24 h then 48 h).
        """
        max_retries = config.get("max_retries")
        backoff = config.get("backoff_hours")
        return cls(
            max_retries=2 if max_retries is None else int(max_retries),
            backoff_hours=(24.0, 48.0) if backoff is None else tuple(backoff),
        )

    def base_delay(self, n: int) -> timedelta:
        """The wait before retry ``n`` (0-based) without jitter."""
        return timedelta(hours=self.backoff_hours[min(n, len(self.backoff_hours) - 1)])


#: Two retries, after 24 h and then 48 h: the channel config's defaults.
DEFAULT_RETRY_POLICY = RetryPolicy()


@dataclass(frozen=True, slots=True)
class RetryDecision:
    """Whether to try the same channel again, and when."""

    #: True when another attempt is allowed.
    retry: bool
    #: When to make it (aware); None when ``retry`` is False.
    at: datetime | None
    #: Why, in words for the operator.
    reason: str


def _jitter_seconds(seed: str, n: int, base: timedelta) -> int:
    spread = int(base.total_seconds() // 10)
    if spread <= 0:
        return 0
    digest = hashlib.sha256(f"{seed}:{n}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % (2 * spread + 1) - spread


def decide_retry(
    policy: RetryPolicy, retries_so_far: int, now: datetime, jitter_seed: str | None = None
) -> RetryDecision:
    """Decide whether a transient failure is retried, and when (see the module formula).

    Args:
        policy: the channel's retry policy.
        retries_so_far: retries already made for this step on this channel.
        now: when the failure happened (aware).
        jitter_seed: a stable identity of the attempt (e.g. the enrollment id and step);
            when given, the wait moves by at most ±10 %, the same on every call.

    Returns:
        ``RetryDecision(retry=True, at=now + wait)`` while retries remain, otherwise
        ``RetryDecision(retry=False, at=None)``.

    Raises:
        ValidationError: ``retries_so_far`` is negative or ``now`` is naive.
    """
    require_aware(now, "now")
    if retries_so_far < 0:
        raise ValidationError(
            f"retries_so_far must be >= 0, got {retries_so_far}", field="retries_so_far"
        )
    if retries_so_far >= policy.max_retries:
        return RetryDecision(
            retry=False,
            at=None,
            reason=f"retries used up ({retries_so_far} of {policy.max_retries})",
        )
    base = policy.base_delay(retries_so_far)
    shift = 0 if jitter_seed is None else _jitter_seconds(jitter_seed, retries_so_far, base)
    wait = base + timedelta(seconds=shift)
    hours = wait.total_seconds() / 3600
    return RetryDecision(
        retry=True,
        at=now + wait,
        reason=f"retry {retries_so_far + 1} of {policy.max_retries} in {hours:.4g} h",
    )
