"""Sequences, their steps, and the decision of what happens after each attempt.

Pure: no I/O, no clock. One module per job, this package the one face callers import:

- ``steps``: the step and sequence definitions (``sequence_configs.steps``), validated;
- ``record``: the ``enrollments.variant`` record of a lead's A/B variants;
- ``assignment``: which variant of each step a new enrollment gets;
- ``timing``: when a step falls due, and whether it still applies after a reply;
- ``states``: the enrollment states and what stops an enrollment;
- ``decision``: :func:`next_action`, what follows an attempt's outcome.
"""

from __future__ import annotations

from aicmo.cam.domain.sequencing.assignment import assign_variant, assign_variants
from aicmo.cam.domain.sequencing.decision import (
    AttemptOutcome,
    Decision,
    DecisionKind,
    next_action,
    outcome_of,
    state_after,
)
from aicmo.cam.domain.sequencing.record import variant_of, variant_record
from aicmo.cam.domain.sequencing.states import (
    DEFAULT_STOP_ON,
    NEVER_STOP_ON,
    STOP_STAGES,
    TERMINAL_STATES,
    EnrollmentState,
    StopReason,
    should_stop,
    stop_on_stage,
    stop_reason,
)
from aicmo.cam.domain.sequencing.steps import (
    MAX_VARIANTS,
    Sequence,
    Step,
    StepTemplate,
    Variant,
    channels_for,
    dump_steps,
    parse_steps,
)
from aicmo.cam.domain.sequencing.timing import due_at, first_run_at, step_applies

__all__ = [
    "DEFAULT_STOP_ON",
    "MAX_VARIANTS",
    "NEVER_STOP_ON",
    "STOP_STAGES",
    "TERMINAL_STATES",
    "AttemptOutcome",
    "Decision",
    "DecisionKind",
    "EnrollmentState",
    "Sequence",
    "Step",
    "StepTemplate",
    "StopReason",
    "Variant",
    "assign_variant",
    "assign_variants",
    "channels_for",
    "due_at",
    "dump_steps",
    "first_run_at",
    "next_action",
    "outcome_of",
    "parse_steps",
    "should_stop",
    "state_after",
    "step_applies",
    "stop_on_stage",
    "stop_reason",
    "variant_of",
    "variant_record",
]
