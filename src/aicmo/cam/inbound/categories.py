"""What a human reply means: one category, and the id of the rule that gave it. Pure: no I/O.

The rule set is a fixed, ordered table (:data:`RULES`). The first rule that fires wins and
its id is recorded with the category, so an operator can always see *why* a reply is
"interested" and correct it when the rules got it wrong. Nothing here learns or scores:
a reply no rule recognises is ``other`` (rule ``none``) and waits for a person.

Only the *new* text is read (quoted history stripped with :mod:`.quotes`, then its
leading lines): our own message quoted back says "interested?" and "book a call", and a
long disclaimer under a signature says "please contact the sender".

Precedence, and why:

1. an opt-out (:mod:`.optout`) outranks everything: missing one is the costly mistake;
2. an out-of-office notice (:mod:`.absence`) says nothing about the person's intent;
3. a meeting booked (a calendar invitation or acceptance, a confirmation in words) is
   the strongest positive signal, and a confirmation often also says "interested";
4. a wrong person / referral before any intent: "not my area, talk to Jane, she is
   interested in this" is about Jane, and the lead in hand is not the buyer;
5. not interested before interested, so "not interested" never counts as "interested";
   the interested phrases are also checked for a negation just before them ("we are not
   really interested", "kein Interesse").

Languages: those :data:`aicmo.cam.inbound.optout.LANGUAGES` knows (English, French,
German, Spanish, Dutch, Portuguese, Italian, Chinese).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from aicmo.cam.domain.reply_categories import ReplyCategory
from aicmo.cam.inbound.absence import find_absence_notice
from aicmo.cam.inbound.optout import find_unsubscribe_request
from aicmo.cam.inbound.quotes import visible_text
from aicmo.cam.inbound.text import fold

#: How many non-empty lines of the new text the phrase rules read.
LEADING_LINES = 12
#: How much of a calendar part is read (characters).
CALENDAR_CHARS = 64 * 1024
#: The rule id of a reply no rule recognised.
NO_RULE = "none"
#: The rule id recorded when a person set the category.
OPERATOR = "operator"


@dataclass(frozen=True, slots=True)
class Categorization:
    """The category of one reply and the rule that fired."""

    category: ReplyCategory
    #: The stable id of the rule (see :data:`RULES`), or ``none``.
    rule: str
    #: The words that fired it, as the sender wrote them (None for ``none``).
    phrase: str | None = None


@dataclass(frozen=True, slots=True)
class Rule:
    """One line of the rule table (documentation and the order of evaluation)."""

    id: str
    category: ReplyCategory
    meaning: str


@dataclass(frozen=True, slots=True)
class _Reply:
    """A reply as the rules read it."""

    subject: str
    #: The new text, history stripped.
    text: str
    #: Its leading lines, apostrophes normalised.
    leading: str
    #: ``leading`` lower-cased and accent-free, same length.
    folded: str
    calendar: str | None


_Matcher = Callable[[_Reply], str | None]


def _compile(patterns: tuple[str, ...]) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{p})" for p in patterns), re.M)


def _phrase(reply: _Reply, match: re.Match[str]) -> str:
    return reply.leading[match.start() : match.end()].strip()


def _phrases(*patterns: str) -> _Matcher:
    """A rule that fires on the first of ``patterns`` found in the folded leading text."""
    compiled = _compile(patterns)

    def match(reply: _Reply) -> str | None:
        found = compiled.search(reply.folded)
        return _phrase(reply, found) if found else None

    return match


# --- 1, 2: opt-out and absence, the inbound modules' own rules ------------------------------


def _unsubscribe(reply: _Reply) -> str | None:
    request = find_unsubscribe_request(reply.subject, reply.text)
    return request.phrase if request else None


def _out_of_office(reply: _Reply) -> str | None:
    notice = find_absence_notice(reply.text)
    return notice.phrase if notice else None


# --- 3: meetings ----------------------------------------------------------------------------

_METHOD_RE = re.compile(r"^METHOD:\s*([A-Z-]+)", re.M | re.I)
_PARTSTAT_RE = re.compile(r"PARTSTAT=([A-Z-]+)", re.I)


def calendar_answer(ics: str) -> str | None:
    """What a text/calendar part says: ``invite`` (a request or a published event),
    ``accepted``, ``tentative``, ``declined``, ``cancelled``, or None when unreadable.

    Reads only METHOD and the attendee's PARTSTAT (RFC 5546): enough to tell a meeting
    being set up from one being turned down; the times belong to the calendar, not here.
    """
    text = ics[:CALENDAR_CHARS].replace("\r\n ", "").replace("\n ", "")
    method_match = _METHOD_RE.search(text)
    method = method_match.group(1).upper() if method_match else ""
    if method == "CANCEL":
        return "cancelled"
    if method == "REPLY":
        states = {s.upper() for s in _PARTSTAT_RE.findall(text)}
        if "DECLINED" in states:
            return "declined"
        if "ACCEPTED" in states:
            return "accepted"
        if "TENTATIVE" in states:
            return "tentative"
        return None
    if method in {"REQUEST", "PUBLISH", "ADD", "COUNTER"} or (
        not method and "BEGIN:VEVENT" in text.upper()
    ):
        return "invite"
    return None


def _calendar_part(reply: _Reply) -> str | None:
    if reply.calendar is None:
        return None
    answer = calendar_answer(reply.calendar)
    return f"text/calendar ({answer})" if answer in {"invite", "accepted", "tentative"} else None


#: Subjects calendar programs give an invitation or an acceptance, in the known languages.
_CALENDAR_SUBJECT_RE = re.compile(
    r"^(?:(?:re|aw|sv|antw|r|res)\s*:\s*)*(?:accepted|updated invitation|invitation"
    r"|new event|accepte|invitation mise a jour|angenommen|akzeptiert|einladung"
    r"|aceptado|aceptada|invitacion|geaccepteerd|uitnodiging|aceito|aceita|convite"
    r"|accettato|accettata|invito|已接受|邀请)\s*[:：]"
)


def _calendar_subject(reply: _Reply) -> str | None:
    found = _CALENDAR_SUBJECT_RE.search(fold(reply.subject.strip()))
    return reply.subject.strip()[found.start() : found.end()] if found else None


_DAY = (
    r"(?:monday|tuesday|wednesday|thursday|friday|mon|tue|tues|wed|thu|thurs|fri"
    r"|tomorrow|today|next week)"
)
_MEETING_CONFIRMED = _phrases(
    # en
    r"\b(?:i|we)(?: have|'ve| just| already)* (?:booked|scheduled|grabbed|picked|reserved|"
    r"set up|put)\b[^.\n]{0,40}\b(?:time|slot|call|meeting|demo|invite|calendar|spot|"
    r"appointment)",
    r"\b(?:i|we)(?: have|'ve| just)* (?:sent|accepted) (?:you |over )?(?:an?|the)"
    r" (?:calendar )?(?:invite|invitation)\b",
    r"\b(?:invite|invitation|meeting|call|demo|time) (?:is |has been )?"
    r"(?:accepted|confirmed|booked)\b",
    r"\bconfirmed for\b",
    r"(?:^|[.!?]\s+)(?:just )?(?:booked|grabbed|scheduled|picked) (?:a|the) (?:time|slot|call"
    r"|meeting|demo|spot)\b",
    r"\bsee you (?:on |then\b|" + _DAY + r")",
    r"\b" + _DAY + r" at \d{1,2}(?:[:.]\d{2})?\s*(?:am|pm|h)?\s*(?:works|is fine|suits|"
    r"is good|is perfect)\b",
    r"\blooking forward to (?:our|the) (?:call|meeting|chat|demo) (?:on|at|tomorrow|" + _DAY + r")",
    # fr
    r"\brendez-vous (?:est )?confirme\b",
    r"\bj'ai (?:reserve|pris|cale|bloque) (?:un )?(?:creneau|rendez-vous|rdv)\b",
    r"\bc'est (?:note|bon) pour (?:lundi|mardi|mercredi|jeudi|vendredi|demain)\b",
    # de
    r"\btermin (?:ist |wurde )?(?:bestatigt|gebucht|eingetragen|vereinbart)\b",
    r"\b(?:habe|haben) (?:einen |den )?termin (?:gebucht|eingetragen|vereinbart|reserviert)\b",
    # es
    r"\b(?:reunion|llamada|cita) (?:esta |queda |quedo )?(?:confirmada|agendada|reservada)\b",
    r"\b(?:he|hemos) (?:reservado|agendado) (?:una |la )?(?:reunion|llamada|cita|hora)\b",
    # nl
    r"\bafspraak (?:is )?(?:bevestigd|ingepland|geboekt)\b",
    r"\b(?:heb|hebben) (?:een |de )?(?:afspraak|tijd|meeting) (?:ingepland|geboekt)\b",
    # pt
    r"\b(?:reuniao|chamada) (?:esta |fica )?(?:confirmada|agendada|marcada)\b",
    r"\b(?:agendei|marquei|reservei) (?:uma |a )?(?:reuniao|chamada|horario)\b",
    # it
    r"\b(?:appuntamento|riunione|chiamata) (?:e )?(?:confermat[oa]|fissat[oa]|prenotat[oa])\b",
    r"\bho (?:prenotato|fissato) (?:un |una |la |il )?(?:appuntamento|riunione|chiamata|slot)\b",
    # zh
    r"已(?:预约|預約|预定|預定)|会议已确认|會議已確認|已接受(?:了)?(?:会议|會議)?邀请",
    r"(?:已|已经)(?:安排|约好|約好)(?:了)?.{0,6}(?:会议|會議|电话|電話|时间|時間)",
)


# --- 4: wrong person / referral -------------------------------------------------------------

#: Who a referral names: a colleague, a team or an address, never "me"/"us".
_SOMEONE = (
    r"(?:my|our|the) (?:colleague|coworker|co-worker|team|head|director|manager|boss|cto|ceo|"
    r"cfo|cmo|vp|department|procurement|purchasing|marketing|sales|it|hr|partner|founder)"
    r"|[\w.+-]+@[\w-]+(?:\.[\w-]+)+|(?!me\b|us\b|him\b|her\b)[a-z]+ (?:at|in|from|on) "
    r"(?:our|the) "
)
_WRONG_PERSON = _phrases(
    # en
    r"(?:\b(?:is|am|are)|'m|'re|'s) no longer (?:with|at|working|employed|part of|in charge"
    r"|responsible|the right|involved)\b",
    r"\bno longer (?:works?|working|employed) (?:at|for|with|here)\b",
    r"\b(?:has|have|had) (?:left|departed) (?:the|our|this) (?:company|firm|organi[sz]ation"
    r"|business|team)\b",
    r"\bleft (?:the company|the firm|the organi[sz]ation)\b",
    r"\b(?:wrong|not the right|not the correct|not the best) (?:person|contact|people"
    r"|department|address)\b",
    r"\b(?:i'm|i am|we're|we are) not (?:the (?:right|correct|best) (?:person|contact)"
    r"|(?:in charge|responsible) (?:of|for))\b",
    r"\bnot (?:my|our) (?:area|department|responsibility|call|decision|remit)\b",
    r"\b(?:i'm|i am) not (?:involved|the decision[- ]maker)\b",
    r"\b(?:i|we)(?:'ve| have|'ll| will)? (?:forwarded|passed|forward|pass)\b[^.\n]{0,30}"
    r"\b(?:to|on to|along to) (?:" + _SOMEONE + r")",
    r"\b(?:please |you should |better to |best to |you'll want to |you may want to )"
    r"(?:contact|reach out to|get in touch with|speak (?:to|with)|talk to|email|write to)"
    r" (?:" + _SOMEONE + r")",
    r"\b(?:the right person|the person you want|who you want|the person responsible)"
    r" (?:is|would be)\b",
    r"\b(?:handles|handled by|is responsible for|takes care of) (?:this|that|these|such)\b",
    # fr
    r"\bne fait plus partie\b",
    r"\bn'(?:est|travaille) plus (?:chez|dans|au sein|avec|pour)\b",
    r"\ba quitte (?:la societe|l'entreprise|l'agence|le groupe|nos)\b",
    r"\bpas (?:la bonne|le bon) (?:personne|interlocuteur|contact)\b",
    r"\b(?:contactez|adressez-vous a|voyez avec) (?:mon|ma|notre|nos) "
    r"(?:collegue|responsable|service|directeur|directrice)\b",
    # de
    r"\bnicht mehr (?:bei|im unternehmen|fur|in unserem|tatig|beschaftigt)\b",
    r"\bhat (?:das unternehmen|die firma|uns) verlassen\b",
    r"\bnicht (?:der|die) (?:richtige|zustandige) (?:ansprechpartner\w*|person)\b",
    r"\b(?:bin|ist) (?:dafur )?nicht zustandig\b",
    r"\bwenden sie sich (?:bitte )?an\b",
    r"\b(?:leite|gebe|leiten|geben) (?:ich |wir )?(?:das|es|ihre|die|den)\b[^.\n]{0,30}\bweiter\b",
    # es
    r"\bya no (?:trabaja|forma parte|esta en|esta con)\b",
    r"\bno soy la persona (?:adecuada|indicada|correcta)\b",
    r"\b(?:contacte|contacta|pongase en contacto|escriba) (?:con|a) (?:mi|nuestro|nuestra)"
    r" (?:companer[oa]|responsable|departamento|director[a]?)\b",
    # nl
    r"\bniet meer (?:werkzaam|in dienst|bij)\b",
    r"\bniet de (?:juiste|aangewezen) (?:persoon|contactpersoon)\b",
    r"\bneem (?:contact op met|dan contact op met) (?:mijn|onze)\b",
    # pt
    r"\b(?:nao|ja nao) (?:trabalha|faz parte|esta) (?:mais )?(?:na|no|com|da|do|aqui|conosco)\b",
    r"\bnao sou a pessoa (?:certa|indicada|responsavel)\b",
    r"\b(?:entre|entrar) em contato com (?:o |a )?(?:meu|minha|nosso|nossa)\b",
    # it
    r"\bnon (?:lavora|e) piu (?:con|presso|in|per)\b",
    r"\bnon fa piu parte\b",
    r"\bnon sono la persona (?:giusta|corretta|indicata)\b",
    r"\b(?:contatti|contattare|rivolgersi a|si rivolga a) (?:il |la )?(?:mio|mia|nostro|nostra)"
    r" (?:collega|responsabile|ufficio)\b",
    # zh
    r"已(?:经)?离职|已離職|不再(?:负责|負責)|不是(?:负责人|負責人|这方面的负责人)|不(?:负责|負責)(?:这|這)",
    r"(?:转|轉)(?:给|給|交)(?:了)?.{0,4}(?:同事|负责人|負責人|部门|部門)",
    r"(?:请|請)(?:联系|聯繫|联络|聯絡|找)(?:我(?:的|们的|們的)?)?(?:同事|负责人|負責人|部门|部門)",
)


# --- 5: not interested ----------------------------------------------------------------------

_NOT_INTERESTED = _phrases(
    # en
    r"\bnot (?:really |currently |at all |that |too |very |even )?interested\b",
    r"\bno (?:real )?interest\b",
    r"\bnot (?:of )?interest (?:to|for) (?:us|me)\b",
    r"\bno,? thank(?:s| you)\b",
    r"\b(?:thanks|thank you),? but no\b",
    r"^no[.!]*$",
    r"\b(?:we're|we are|i'm|i am) (?:all set|good for now|covered|fine for now|set for now)\b",
    r"\bnot (?:a |the )?(?:good |great |right )?fit\b",
    r"\bnot (?:looking|in the market|a priority|something we need|relevant|for us|for me)\b",
    r"\b(?:we|i) (?:don't|do not|won't|will not) need\b",
    r"\bno need (?:for|at)\b",
    r"\bnot (?:at this time|right now|at the moment|now|this year|this quarter)\b",
    r"\b(?:we'll|we will|i'll|i will|going to) pass\b",
    r"\bpass on (?:this|that|it)\b",
    r"\b(?:no|(?:don't|do not|doesn't) have (?:a |the |any )?)budget\b",
    r"\b(?:happy|satisfied) with (?:our|the|my) (?:current|existing) (?:provider|vendor|solution"
    r"|tool|agency|supplier|partner|setup)\b",
    r"\b(?:isn't|is not|not) (?:really )?(?:for us|a priority|relevant)\b",
    r"\b(?:we|i) (?:already )?(?:have|use|work with) (?:a|an|our own) (?:solution|vendor"
    r"|provider|partner|agency|tool|supplier|in-house)\b",
    r"\b(?:please )?(?:don't|do not) (?:follow up|reach out again|bother)\b",
    r"\b(?:i'm|i am|we're|we are) (?:going to |gonna )?decline\b",
    # fr
    r"\bpas (?:vraiment |du tout )?interess",
    r"\bne (?:nous|m') ?interesse pas\b",
    r"\bnon,? merci\b",
    r"\bpas (?:besoin|pour nous|pour le moment|d'actualite)\b",
    # de
    r"\bkein(?:e|en|erlei)? (?:interesse|bedarf)\b",
    r"\bnicht interessiert\b",
    r"\bnein,? danke\b",
    r"\bbrauchen (?:wir|ich) nicht\b",
    # es
    r"\bno (?:estoy|estamos|estaria|estariamos) interesad",
    r"\bno (?:me|nos) interesa\b",
    r"\bno,? gracias\b",
    r"\bno (?:lo )?necesit(?:o|amos)\b",
    # nl
    r"\bgeen (?:interesse|behoefte)\b",
    r"\bniet geinteresseerd\b",
    r"\bnee,? (?:bedankt|dank je|dank u)\b",
    # pt
    r"\bnao (?:tenho|temos) (?:interesse|necessidade)\b",
    r"\bnao (?:estou|estamos) interessad",
    r"\bnao,? obrigad",
    r"\bnao (?:nos|me) interessa\b",
    # it
    r"\bnon (?:sono|siamo) interessat",
    r"\bnon (?:ci|mi) interessa\b",
    r"\bno,? grazie\b",
    r"\bnon (?:ne )?abbiamo bisogno\b",
    # zh
    r"不感兴趣|不感興趣|没有兴趣|沒有興趣|没兴趣|暂(?:时)?不需要|暫(?:時)?不需要|不需要|不用了",
)


# --- 6: interested (negation-aware) ---------------------------------------------------------

_INTERESTED_RE = _compile(
    (
        # en
        r"\binterest(?:ed|ing)\b",
        r"\btell me more\b",
        r"\b(?:send|share|forward)(?: me| us| over)?(?: some| a bit)?(?: more)?"
        r" (?:info|information|details|the deck|a deck|deck|pricing|prices|a proposal"
        r"|case studies|a case study|a quote|materials|examples|a demo)\b",
        r"\bmore (?:info|information|details)\b",
        r"\blet'?s (?:talk|chat|connect|set up|schedule|hop on|jump on|find a time|meet|do it"
        r"|discuss|book)\b",
        r"\b(?:happy|glad|keen|open|eager) to (?:chat|talk|connect|meet|hop|jump|learn|hear"
        r"|discuss|explore|take a look|look)\b",
        r"\bwould (?:love|like|be happy|be glad) to (?:learn|hear|chat|see|talk|know|discuss"
        r"|connect|meet|get|try|explore)\b",
        r"\bsounds (?:good|great|interesting|promising|intriguing|like a plan)\b",
        r"\b(?:can|could|shall) we (?:schedule|set up|book|arrange|find a time|talk|chat|meet"
        r"|hop on|jump on|do)\b",
        r"\b(?:what(?:'s| is| are)|when(?:'s| is| are)) your (?:availability|calendar"
        r"|schedule)\b",
        r"\b(?:are|is) you (?:free|available)\b",
        r"\b(?:book|schedule|set up|arrange) a (?:call|demo|meeting|time|chat|quick call)\b",
        r"\bhow much (?:does|is|would|do)\b",
        r"\bwhat(?:'s| is| are| would be) (?:the |your )?(?:pricing|price|cost|rates?)\b",
        r"\bworth a (?:chat|call|conversation|look)\b",
        r"\b(?:happy|glad|keen|open|up) (?:to|for) a (?:chat|call|conversation|quick call|demo)\b",
        r"\b(?:what|how) (?:does|do|is|are|would|much is) (?:the |your )?(?:pricing|price|cost)",
        r"\bcount (?:me|us) in\b",
        # fr
        r"\binteress(?:e|es|ee|ees|ant|ante)\b",
        r"\ben savoir plus\b",
        r"\b(?:envoyez|envoie|transmettez)[- ](?:moi|nous)\b",
        r"\b(?:discutons|parlons)[- ]en\b",
        r"\bvolontiers\b",
        r"\bavec plaisir\b",
        # de
        r"\binteress(?:iert|ant|e)\b",
        r"\bgerne?\b",
        r"\bmehr (?:infos?|informationen|details|erfahren)\b",
        r"\blassen sie uns\b",
        # es
        r"\binteres(?:ad[oa]s?|a|ante)\b",
        r"\bmas (?:informacion|detalles|info)\b",
        r"\bhablemos\b",
        r"\bme gustaria (?:saber|conocer|hablar|ver|recibir)\b",
        # nl
        r"\b(?:geinteresseerd|interessant|interesse)\b",
        r"\bmeer (?:informatie|info|weten)\b",
        r"\blaten we\b",
        # pt
        r"\binteress(?:ad[oa]s?|e|ante)\b",
        r"\bmais (?:informacoes|informacao|detalhes|info)\b",
        r"\bvamos (?:conversar|falar|marcar)\b",
        r"\bgostaria de (?:saber|conhecer|conversar|ver|receber)\b",
        # it
        r"\binteress(?:at[oaie]|ante|a)\b",
        r"\bmaggiori (?:informazioni|dettagli)\b",
        r"\bvolentieri\b",
        r"\bsentiamoci\b",
        # zh
        r"感兴趣|感興趣|有兴趣|有興趣|了解(?:一下|更多)|详细(?:资料|介绍|信息)|詳細|聊聊|约个时间|約個時間",
    )
)

#: Words that negate an interested phrase when they come shortly before it in the same
#: clause ("we are not really interested", "kein Interesse", "不感兴趣").
_NEGATION_RE = re.compile(
    r"\b(?:not|no|never|nor|neither|hardly|n't|dont|don't|doesn't|isn't|aren't|wasn't|won't"
    r"|pas|jamais|nicht|kein\w*|nie|niet|geen|nooit|nao|nunca|non)\b|n't\b|[不没沒]$"
)
#: How far before a phrase a negation counts (characters).
NEGATION_WINDOW = 30
_CLAUSE_END_RE = re.compile(r"[.,;:!?\n。，；！？]|\b(?:but|aber|mais|pero|maar|mas|ma)\b")


def _negated(folded: str, start: int) -> bool:
    before = folded[max(0, start - NEGATION_WINDOW) : start]
    clause = _CLAUSE_END_RE.split(before)[-1]
    return _NEGATION_RE.search(clause.rstrip()) is not None


def _interested(reply: _Reply) -> str | None:
    for found in _INTERESTED_RE.finditer(reply.folded):
        if not _negated(reply.folded, found.start()):
            return _phrase(reply, found)
    return None


# --- the table ------------------------------------------------------------------------------

_TABLE: tuple[tuple[Rule, _Matcher], ...] = (
    (
        Rule(
            "unsubscribe-request",
            ReplyCategory.UNSUBSCRIBE,
            "asks to hear no more, in the subject or opening lines (the opt-out phrases)",
        ),
        _unsubscribe,
    ),
    (
        Rule(
            "out-of-office-notice",
            ReplyCategory.OUT_OF_OFFICE,
            "the text is an absence notice (an automatic reply that lost its headers)",
        ),
        _out_of_office,
    ),
    (
        Rule(
            "calendar-part",
            ReplyCategory.MEETING_BOOKED,
            "carries a text/calendar invitation or acceptance (not a decline or cancel)",
        ),
        _calendar_part,
    ),
    (
        Rule(
            "calendar-subject",
            ReplyCategory.MEETING_BOOKED,
            'the subject a calendar gives an acceptance or invitation ("Accepted: ...")',
        ),
        _calendar_subject,
    ),
    (
        Rule(
            "meeting-confirmed",
            ReplyCategory.MEETING_BOOKED,
            'confirms a booked time in words ("I booked a slot", "see you Tuesday")',
        ),
        _MEETING_CONFIRMED,
    ),
    (
        Rule(
            "wrong-person",
            ReplyCategory.WRONG_PERSON,
            'left the company, not the right person, or refers to someone else ("please '
            'contact my colleague")',
        ),
        _WRONG_PERSON,
    ),
    (
        Rule(
            "not-interested",
            ReplyCategory.NOT_INTERESTED,
            'declines ("not interested", "no thanks", "we are all set", "not a fit")',
        ),
        _NOT_INTERESTED,
    ),
    (
        Rule(
            "interested",
            ReplyCategory.INTERESTED,
            'asks for more or to talk ("tell me more", "let\'s talk"), not negated',
        ),
        _interested,
    ),
)

#: Every rule, in the order they are tried; the first that fires gives the category.
RULES: tuple[Rule, ...] = tuple(rule for rule, _ in _TABLE)
#: Rule ids that can be recorded, including ``none`` and ``operator``.
RULE_IDS: frozenset[str] = frozenset({*(r.id for r in RULES), NO_RULE, OPERATOR})


def _leading(text: str) -> str:
    lines = [line.strip() for line in text.split("\n") if line.strip()]
    return "\n".join(lines[:LEADING_LINES])


def categorize_reply(
    text: str, *, subject: str = "", calendar: str | None = None
) -> Categorization:
    """The category of a reply whose body is ``text``.

    Args:
        text: what the person sent; quoted history is stripped here (passing text that
            is already stripped is fine).
        subject: the reply's subject (opt-outs and calendar acceptances are read there).
        calendar: the text of a ``text/calendar`` part, if the reply carried one.

    Returns:
        The category and the id of the first rule that fired (``none`` when none did).
    """
    new_text = visible_text(text or "")
    leading = _leading(new_text).replace("\u2019", "'").replace("\u2018", "'")
    reply = _Reply(
        subject=subject or "",
        text=new_text,
        leading=leading,
        folded=fold(leading),
        calendar=calendar,
    )
    for rule, matcher in _TABLE:
        phrase = matcher(reply)
        if phrase is not None:
            return Categorization(rule.category, rule.id, phrase)
    return Categorization(ReplyCategory.OTHER, NO_RULE)
