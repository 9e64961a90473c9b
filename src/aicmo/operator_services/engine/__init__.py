"""The sending engine: the worker's tick and the batched fast path, one job per module.
Import from the module that does the job (``engine.tick.run_due``): this package
re-exports nothing, so that its modules can be imported by the services below it
(``engine.progress`` by the operator tasks) without loading the whole engine.

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
