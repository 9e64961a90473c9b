"""Which A/B variant of each step a new enrollment gets.

:func:`assign_variant` hashes (campaign, step, lead) with SHA-256 into the variants'
weighted buckets: the same on every run and every machine, and independent between steps
and campaigns. Apart from the step definitions because it is the one place chance (a
stable one) enters the sequencing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

from aicmo.cam.domain.sequencing.record import variant_record
from aicmo.cam.domain.sequencing.steps import Sequence, Step


def assign_variant(campaign_id: int, step_index: int, lead_id: int, step: Step) -> str | None:
    """The variant of ``step`` lead ``lead_id`` gets in campaign ``campaign_id``.

    ``u = SHA-256("<campaign>:<step>:<lead>")``, its first 8 bytes as a fraction of 2^64,
    falls in the bucket of the variant whose cumulative share of the weights covers it.
    The same on every run, process and machine (not Python's salted ``hash()``), and
    independent between steps and campaigns.
    """
    if not step.variants:
        return None
    digest = hashlib.sha256(f"{campaign_id}:{step_index}:{lead_id}".encode()).digest()
    u = int.from_bytes(digest[:8], "big") / 2**64
    total = sum(v.weight for v in step.variants)
    edge = 0.0
    for variant in step.variants:
        edge += variant.weight / total
        if u < edge:
            return variant.name
    return step.variants[-1].name  # u within rounding of 1.0


def assign_variants(
    campaign_id: int, seq: Sequence, lead_id: int, winners: Mapping[int, str] | None = None
) -> str | None:
    """The ``enrollments.variant`` of a new enrollment: every step's choice, or None.

    ``winners`` (step index to variant name) overrides the hash for the steps whose test
    is decided, when the campaign sends newcomers to the winner.
    """
    chosen = {
        i: name
        for i, step in enumerate(seq.steps)
        if (name := assign_variant(campaign_id, i, lead_id, step)) is not None
    }
    for index, name in (winners or {}).items():
        if index in chosen:
            chosen[index] = name
    return variant_record(chosen)
