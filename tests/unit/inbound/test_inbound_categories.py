"""The reply categories' rules: what each one recognises, in which languages, what it must
not take for itself (negations, quoted history, look-alikes), and their precedence."""

from __future__ import annotations

import pytest

from aicmo.cam.domain.messages import LeadStage
from aicmo.cam.domain.reply_categories import ReplyCategory as C
from aicmo.cam.domain.reply_stage import plan_stage
from aicmo.cam.inbound.categories import (
    NO_RULE,
    RULE_IDS,
    RULES,
    calendar_answer,
    categorize_reply,
)

CASES: list[tuple[str, C, str]] = [
    # interested
    ("Sounds interesting, tell me more.", C.INTERESTED, "interested"),
    ("Happy to chat next week.", C.INTERESTED, "interested"),
    ("Could you send more info on pricing?", C.INTERESTED, "interested"),
    ("Let’s talk. What is your availability on Thursday?", C.INTERESTED, "interested"),
    ("Nous sommes intéressés, envoyez-moi la plaquette.", C.INTERESTED, "interested"),
    ("Klingt interessant, schicken Sie mir gerne mehr Infos.", C.INTERESTED, "interested"),
    ("Me interesa, ¿podemos hablar? Hablemos el lunes.", C.INTERESTED, "interested"),
    ("Interessant, ik wil graag meer informatie.", C.INTERESTED, "interested"),
    ("Tenho interesse, podem enviar mais informações?", C.INTERESTED, "interested"),
    ("Molto interessante, mi mandi maggiori informazioni.", C.INTERESTED, "interested"),
    ("我们很感兴趣，可以约个时间聊聊。", C.INTERESTED, "interested"),
    # not interested, and negations of interest
    ("Not interested, thanks.", C.NOT_INTERESTED, "not-interested"),
    ("We are not really interested at this point.", C.NOT_INTERESTED, "not-interested"),
    ("No thanks.", C.NOT_INTERESTED, "not-interested"),
    ("We're all set with our current vendor.", C.NOT_INTERESTED, "not-interested"),
    ("Honestly not a fit for us.", C.NOT_INTERESTED, "not-interested"),
    ("Pas intéressé, merci.", C.NOT_INTERESTED, "not-interested"),
    ("Kein Interesse.", C.NOT_INTERESTED, "not-interested"),
    ("No nos interesa, gracias.", C.NOT_INTERESTED, "not-interested"),
    ("Geen interesse.", C.NOT_INTERESTED, "not-interested"),
    ("Não temos interesse.", C.NOT_INTERESTED, "not-interested"),
    ("Non siamo interessati.", C.NOT_INTERESTED, "not-interested"),
    ("我们不感兴趣。", C.NOT_INTERESTED, "not-interested"),
    # wrong person / referral
    ("Paul is no longer with the company.", C.WRONG_PERSON, "wrong-person"),
    ("I'm not the right person for this, sorry.", C.WRONG_PERSON, "wrong-person"),
    ("Please contact my colleague Dana, she runs marketing.", C.WRONG_PERSON, "wrong-person"),
    ("I have forwarded your note to our head of IT.", C.WRONG_PERSON, "wrong-person"),
    ("Elle ne fait plus partie de la société.", C.WRONG_PERSON, "wrong-person"),
    (
        "Herr Meier ist nicht mehr bei uns. Wenden Sie sich bitte an Frau Roth.",
        C.WRONG_PERSON,
        "wrong-person",
    ),
    ("Ya no trabaja en la empresa.", C.WRONG_PERSON, "wrong-person"),
    ("他已经离职了，请联系我的同事。", C.WRONG_PERSON, "wrong-person"),
    # meetings
    ("I booked a slot on your calendar for Tuesday.", C.MEETING_BOOKED, "meeting-confirmed"),
    ("Thursday at 3pm works. See you then!", C.MEETING_BOOKED, "meeting-confirmed"),
    ("Termin ist bestätigt.", C.MEETING_BOOKED, "meeting-confirmed"),
    ("会议已确认。", C.MEETING_BOOKED, "meeting-confirmed"),
    # opt-out and absence come from their own modules
    ("Please remove me from your list.", C.UNSUBSCRIBE, "unsubscribe-request"),
    ("退订", C.UNSUBSCRIBE, "unsubscribe-request"),
    (
        "I am out of the office until Monday 7 December with limited access to email.",
        C.OUT_OF_OFFICE,
        "out-of-office-notice",
    ),
    # nothing to go on
    ("Who gave you my address?", C.OTHER, NO_RULE),
    ("", C.OTHER, NO_RULE),
]


@pytest.mark.parametrize(("text", "category", "rule"), CASES, ids=[c[0][:40] for c in CASES])
def test_each_rule_recognises_its_replies(text: str, category: C, rule: str) -> None:
    found = categorize_reply(text)
    assert (found.category, found.rule) == (category, rule)
    if rule != NO_RULE:
        assert found.phrase and found.phrase.lower().strip() in text.lower().replace("’", "'")


@pytest.mark.parametrize(
    "text",
    [
        "It isn't interesting to us.",
        "We were never interested in outsourcing.",
        "Das ist nicht interessant für uns.",
        "No estamos interesados.",
        "Ce n'est pas intéressant pour nous.",
    ],
)
def test_a_negated_interest_is_never_interested(text: str) -> None:
    assert categorize_reply(text).category is not C.INTERESTED


def test_quoted_history_counts_for_nothing() -> None:
    body = (
        "Thanks for reaching out.\n\n"
        "On Mon, 30 Nov 2026 at 10:02, Alex <alex@aicmo.example> wrote:\n"
        "> Interested? Happy to chat, or tell me you are not interested.\n"
        "> To unsubscribe reply STOP\n"
    )
    assert categorize_reply(body).category is C.OTHER
    outlook = (
        "No thanks.\n\n-----Original Message-----\nFrom: Alex\nSent: Monday\n"
        "Subject: Hi\n\nLet's talk! Tell me more about your needs."
    )
    assert categorize_reply(outlook).category is C.NOT_INTERESTED


def test_a_disclaimer_below_the_opening_lines_is_not_read() -> None:
    body = "Sounds good, let's talk Monday.\n" + "\n".join(["..."] * 12)
    body += "\nIf you are not the intended recipient please contact the sender."
    assert categorize_reply(body).category is C.INTERESTED


@pytest.mark.parametrize(
    ("text", "category"),
    [
        # An opt-out wins over the "not interested" it comes with.
        ("Not interested, please remove me from your list.", C.UNSUBSCRIBE),
        # A referral wins over the interest it mentions (the interest is someone else's).
        ("I'm not the right person, but my colleague Jo is interested.", C.WRONG_PERSON),
        # A booked meeting wins over the interest around it.
        ("Interesting! I booked a time on your calendar for Friday.", C.MEETING_BOOKED),
        # "Not interested" is checked before "interested".
        ("Not interested in the audit, interesting idea though.", C.NOT_INTERESTED),
    ],
)
def test_precedence(text: str, category: C) -> None:
    assert categorize_reply(text).category is category


def test_a_calendar_part_books_a_meeting_unless_it_declines_or_cancels() -> None:
    invite = "BEGIN:VCALENDAR\r\nMETHOD:REQUEST\r\nBEGIN:VEVENT\r\nEND:VEVENT\r\nEND:VCALENDAR"
    accepted = (
        "BEGIN:VCALENDAR\nMETHOD:REPLY\nBEGIN:VEVENT\nATTENDEE;CN=Jo;\n PARTSTAT=ACCEPTED:"
        "mailto:jo@example.org\nEND:VEVENT\nEND:VCALENDAR"
    )
    declined = accepted.replace("ACCEPTED", "DECLINED")
    cancel = invite.replace("REQUEST", "CANCEL")
    assert [calendar_answer(x) for x in (invite, accepted, declined, cancel, "hello")] == [
        "invite",
        "accepted",
        "declined",
        "cancelled",
        None,
    ]
    assert categorize_reply("", calendar=invite).rule == "calendar-part"
    assert categorize_reply("See the invite", calendar=accepted).category is C.MEETING_BOOKED
    assert categorize_reply("Sorry, can't make it.", calendar=declined).category is C.OTHER
    assert categorize_reply("", subject="Accepted: Intro call").rule == "calendar-subject"
    assert categorize_reply("", subject="Akzeptiert: Kennenlernen").rule == "calendar-subject"


def test_rule_ids_are_unique_and_stable() -> None:
    ids = [r.id for r in RULES]
    assert len(ids) == len(set(ids))
    assert ids == [
        "unsubscribe-request",
        "out-of-office-notice",
        "calendar-part",
        "calendar-subject",
        "meeting-confirmed",
        "wrong-person",
        "not-interested",
        "interested",
    ]
    assert {"none", "operator"} <= RULE_IDS


S = LeadStage


@pytest.mark.parametrize(
    ("stage", "category", "after"),
    [
        (S.NEW, C.INTERESTED, S.ENGAGED),
        (S.ENGAGED, C.INTERESTED, S.ENGAGED),
        (S.MEETING, C.INTERESTED, S.MEETING),
        (S.WON, C.INTERESTED, S.WON),
        (S.LOST, C.INTERESTED, S.LOST),
        (S.ENGAGED, C.MEETING_BOOKED, S.MEETING),
        (S.QUALIFIED, C.MEETING_BOOKED, S.MEETING),
        (S.LOST, C.MEETING_BOOKED, S.LOST),
        (S.ENGAGED, C.NOT_INTERESTED, S.LOST),
        (S.MEETING, C.NOT_INTERESTED, S.MEETING),
        (S.ENGAGED, C.WRONG_PERSON, S.ENGAGED),
        (S.ENGAGED, C.OUT_OF_OFFICE, S.ENGAGED),
        (S.CONTACTED, C.OTHER, S.CONTACTED),
    ],
)
def test_a_category_moves_the_stage_forward_only(stage: S, category: C, after: S) -> None:
    assert plan_stage(stage.value, category).stage == after.value


def test_a_correction_undoes_the_previous_move_only_where_it_left_the_lead() -> None:
    wrong = plan_stage("ENGAGED", C.NOT_INTERESTED)
    assert wrong.move == ("ENGAGED", "LOST")
    fixed = plan_stage("LOST", C.INTERESTED, undo=wrong.move)
    assert (fixed.stage, fixed.move) == ("ENGAGED", None)
    # Moved by hand since: the undo does not apply.
    assert plan_stage("QUALIFIED", C.INTERESTED, undo=wrong.move).stage == "QUALIFIED"
    meeting = plan_stage("ENGAGED", C.MEETING_BOOKED)
    assert plan_stage("MEETING", C.NOT_INTERESTED, undo=meeting.move).stage == "LOST"
