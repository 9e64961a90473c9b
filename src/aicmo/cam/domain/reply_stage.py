"""What a reply's category does to its lead's stage. Pure: no I/O.

Any human reply already moves a NEW or CONTACTED lead to ENGAGED (the inbound path does
that before the reply is categorised). The category then moves it on, forward only:

==============  ==========================================  =====================
category        moves a lead in                             to
==============  ==========================================  =====================
interested      NEW, CONTACTED                              ENGAGED
meeting_booked  NEW, CONTACTED, ENGAGED, QUALIFIED          MEETING
not_interested  NEW, CONTACTED, ENGAGED                     LOST
(the others)    nothing: wrong person, out of office, unsubscribe (suppression does
                the work there) and other leave the stage where it is
==============  ==========================================  =====================

Never backwards: a lead at MEETING, WON or LOST is never put back to ENGAGED by a reply,
and a "no" after a meeting or a qualification leaves the stage to the deal's owner.

A correction first undoes the move the previous category made, if the lead is still
where that move put it (the rules were wrong, so was their move), then applies the new
category's move from there. So "interested" corrected to "not_interested" moves ENGAGED
to LOST; "not_interested" corrected to "interested" moves the LOST the rule caused back
to ENGAGED; a lead someone has since moved by hand is not touched by the undo.
"""

from __future__ import annotations

from dataclasses import dataclass

from aicmo.cam.domain.messages import LeadStage
from aicmo.cam.domain.reply_categories import ReplyCategory

_S = LeadStage
#: For each category: the stages it moves a lead out of, and where to.
MOVES: dict[ReplyCategory, tuple[frozenset[LeadStage], LeadStage]] = {
    ReplyCategory.INTERESTED: (frozenset({_S.NEW, _S.CONTACTED}), _S.ENGAGED),
    ReplyCategory.MEETING_BOOKED: (
        frozenset({_S.NEW, _S.CONTACTED, _S.ENGAGED, _S.QUALIFIED}),
        _S.MEETING,
    ),
    ReplyCategory.NOT_INTERESTED: (frozenset({_S.NEW, _S.CONTACTED, _S.ENGAGED}), _S.LOST),
}


@dataclass(frozen=True, slots=True)
class StagePlan:
    """Where the lead goes, and the move to remember as the category's own."""

    #: The lead's stage after the categorisation (may equal the stage before).
    stage: str
    #: The move the category made (from, to), or None: what a later correction undoes.
    move: tuple[str, str] | None


def plan_stage(
    stage: str, category: ReplyCategory, *, undo: tuple[str, str] | None = None
) -> StagePlan:
    """The lead's stage after a reply is given ``category``.

    Args:
        stage: the lead's stage now.
        category: the reply's (new) category.
        undo: the move the reply's previous category made, for a correction.
    """
    base = undo[0] if undo is not None and stage == undo[1] else stage
    rule = MOVES.get(category)
    if rule is None or base not in {s.value for s in rule[0]}:
        return StagePlan(stage=base, move=None)
    return StagePlan(stage=rule[1].value, move=(base, rule[1].value))
