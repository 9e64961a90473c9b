"""The sending engine: the worker's tick and the batched fast path, one job per module.

Each module imports only modules below it in this list:

- :mod:`.tick`: a tick (recover attempts left SENDING, claim due enrollments, plan, send
  the batch, process the rest one by one) and the one-by-one path.
- :mod:`.pipeline`: chunks and their pace, the sender thread and the sending process,
  the recording thread.
- :mod:`.compose`: a batched email's message (envelope, unsubscribe, DKIM).
- :mod:`.record`: SENDING rows, bulk events, outcomes and next states.
- :mod:`.windows`: the rate windows' room for each chunk, and its mailboxes.
- :mod:`.plan`: the batched planner: which claimed enrollments are plain email sends.
- :mod:`.guards`: the checks before a step goes (stopped, sending window, lead touch
  limit), for one enrollment or a batch, from the rules in
  :mod:`aicmo.cam.domain.attempts`.
"""

from aicmo.operator_services.engine.guards import lead_touch_slot
from aicmo.operator_services.engine.pipeline import FIRST_GROUP, GROUP, dispatch
from aicmo.operator_services.engine.plan import plan
from aicmo.operator_services.engine.tick import (
    LEASE,
    claim_due,
    list_unknown_attempts,
    process_enrollment,
    recover_unknown,
    run_due,
)

__all__ = [
    "FIRST_GROUP",
    "GROUP",
    "LEASE",
    "claim_due",
    "dispatch",
    "lead_touch_slot",
    "list_unknown_attempts",
    "plan",
    "process_enrollment",
    "recover_unknown",
    "run_due",
]
