"""What a human reply means for the pipeline: the categories every reply is given.

Shared by the rule set that proposes a category, the operator's correction, the rollups
(positive replies, meetings) and the reports, so that all of them count the same thing.
Pure: no I/O.
"""

from __future__ import annotations

from enum import StrEnum


class ReplyCategory(StrEnum):
    """The meaning of one human reply."""

    INTERESTED = "interested"
    MEETING_BOOKED = "meeting_booked"
    NOT_INTERESTED = "not_interested"
    OUT_OF_OFFICE = "out_of_office"
    WRONG_PERSON = "wrong_person"
    UNSUBSCRIBE = "unsubscribe"
    #: No rule recognised the reply; a person should read it.
    OTHER = "other"


#: Categories that count as a positive reply (the A/B tests' default metric).
POSITIVE: frozenset[ReplyCategory] = frozenset(
    {ReplyCategory.INTERESTED, ReplyCategory.MEETING_BOOKED}
)
