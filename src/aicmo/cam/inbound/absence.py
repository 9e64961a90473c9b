"""Out-of-office notices recognised from their text alone. Pure: no I/O.

Many vacation notices reach us as a plain ``Re:`` reply without any RFC 3834 header:
forwarding rules, hosted mail that drops the headers, an assistant pasting the notice.
Taken for a person, such a notice stops the sequence and counts as a reply. Taking a person
for a notice is worse (their answer goes unseen and the sequence mails them again), so a
text is a notice only when, in its opening lines:

1. it states an absence in the present or future ("I am out of the office", "bin ich nicht
   im Hause", "je suis absente du bureau", "我正在休假"), not in the past ("I was out of
   the office last week", "ich war bis gestern im Urlaub");
2. and it says what only notices bother to say: how mail is handled meanwhile ("limited
   access to email", "in dringenden Fällen", "I will respond on my return", "thank you for
   your message"), or else gives a date or day and nothing but the absence ("Bin bis
   1.01.2016 im Urlaub."), since people who give a date go on to talk business ("I'm away
   until Friday. Send me the deck.");
3. and nothing in it reads like a conversation: a question, "let's", "sounds good",
   "send me", "gerne", "intéressés", or a body longer than notices are.

A sentence that says outright that the message is automatic ("this is an automatic
reply", "自动回复：" heading the text) is enough alone.

Languages: English, German, French, Portuguese, Spanish, Dutch, Italian and Chinese, the
ones the opt-out and subject checks read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from aicmo.cam.inbound.text import fold

#: How many non-empty lines of the new text are read.
LEADING_LINES = 6
#: Notices are short; a longer new text is a person writing at length.
MAX_NOTICE_CHARS = 1500
#: How far before an absence phrase a past-tense word cancels it (characters).
PAST_WINDOW = 25


def _compile(*patterns: str) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{p})" for p in patterns), re.M)


#: The text says outright that it is automatic (folded text).
_AUTOMATIC_RE = _compile(
    r"^(?:automatic reply|auto[- ]?reply|autoreply|out of (?:the )?office(?: reply)?"
    r"|abwesenheitsnotiz|automatische antwort|reponse automatique|message d'absence"
    r"|resposta automatica|respuesta automatica|risposta automatica|automatisch antwoord)"
    r"\s*[:-]",
    r"^(?:自动回复|自動回覆|自动答复|自動答覆)",
    r"\bthis is an? (?:\w+ )?(?:automatic|automated|auto-?generated|auto-?respon\w*"
    r"|auto-?repl\w*)\b",
    r"\b(?:an?|this) (?:automatic|automated) (?:reply|response|message|notification)\b",
    r"\bdies ist eine automatische\b"
    r"|\bautomatisch (?:generierte|erstellte) (?:antwort|nachricht)\b",
    r"\bceci est une? (?:reponse|message) automatique\b",
    r"\buma (?:resposta|mensagem) automatica\b|\besta e uma (?:resposta|mensagem) automatica\b",
    r"\besta es una respuesta automatica\b|\beste es un mensaje automatico\b",
    r"这是(?:一封)?自动(?:回复|答复)|此(?:邮件|郵件)(?:为|為)自动(?:回复|发送)",
)

#: An absence in the present or future, by language (folded text).
_ABSENCE_RE = _compile(
    # English: "I am (currently) out of the office / away / on leave / travelling".
    r"\b(?:i am|i'm|i’m|i will be|i'll be|i’ll be|i shall be|we are|we're|we will be"
    r"|our office(?:s)? (?:is|are|will be))\s+(?:currently\s+|now\s+|also\s+)?"
    r"(?:out of (?:the )?office|ooo|away|absent|unavailable|off work|out of town"
    r"|out of the country|not in the office|closed"
    r"|on (?:\w+ )?leave|on (?:vacation|holiday|holidays|sabbatical|pto|a business trip"
    r"|business travel)|travell?ing|attending)\b",
    r"\b(?:i will|i'll|i’ll|i shall) be back\b(?! with| to you)|\bwill not (?:be )?(?:back|return)"
    r"|\b(?:i will|i'll|i’ll|i shall) return(?= (?:to (?:the|my) (?:office|desk|work)|on|in|at"
    r"|from|next|after|\\d))",
    # Telegraphic: "On leave until Monday.", "Out of office today."
    r"(?:^|[.!]\s+)(?:currently |now )?(?:out of (?:the )?office|on (?:\w+ )?leave"
    r"|on (?:vacation|holiday|holidays)|away from (?:the|my) (?:office|desk))\b",
    r"\b(?:limited|no|intermittent|sporadic|restricted) access to (?:my )?(?:e-?mails?|inbox)\b"
    r"|\baway from (?:my )?(?:e-?mail|inbox|desk|office|computer)\b",
    r"\breturning (?:to the office )?on\b|\b(?:upon|on|until|after) my return\b"
    r"|\bwhen i (?:return|am back|get back)\b",
    # German.
    r"\bnicht im (?:hause|haus|buro|office)\b"
    r"|\bnicht in (?:der|dem|meinem|unserem) (?:buro|agentur|firma|praxis|kanzlei|office)\b"
    r"|\b(?:ausser|außer) haus\b|\bim urlaub\b|\bin (?:elternzeit|mutterschutz)\b"
    r"|\babwesend\b|\bauf (?:dienst|geschafts)?reisen?\b"
    r"|\b(?:bin ich|ich bin)\b.{0,40}\bnicht erreichbar\b"
    r"|\bwieder (?:im (?:buro|hause|haus|office)|erreichbar|da|zuruck|verfugbar)\b"
    r"|\bnach meiner (?:ruckkehr|wiederkehr)\b",
    # French.
    r"\bje (?:suis|serai) (?:actuellement )?(?:absente?|absent\(e\)|en conge|en vacances"
    r"|en deplacement|hors du bureau|en formation|en arret)"
    r"|\babsente? du bureau\b|\babsent\(e\) du bureau|\bde retour le\b|\bje serai de retour\b"
    r"|\b(?:a|des|apres) mon retour\b",
    # Portuguese.
    r"\b(?:estou|estarei|encontro-me|estaremos|estamos) (?:actualmente |atualmente )?"
    r"(?:fora|ausente|de ferias|de licenca|em viagem|de folga)\b"
    r"|\bnao estou no escritorio\b|\b(?:regressarei|retornarei|voltarei) (?:no|em|a|ao|dia)\b"
    r"|\bassim que (?:regressar|retornar|voltar)\b|\bapos o meu regresso\b",
    # Spanish.
    r"\b(?:estoy|estare|me encuentro) (?:fuera|ausente|de vacaciones|de viaje)\b"
    r"|\ba mi regreso\b",
    # Dutch.
    r"\b(?:ik ben|ben ik) (?:niet aanwezig|afwezig|met vakantie|op vakantie)\b"
    r"|\bweer aanwezig\b",
    # Italian.
    r"\b(?:sono|saro) (?:fuori (?:ufficio|sede)|assente|in ferie|in vacanza)\b"
    r"|\bal mio rientro\b",
    # Chinese (no word boundaries).
    r"休假|年假|病假|产假|外出|出差|不在办公室|不在公司|返回(?:办公室|公司)|回到办公室"
    r"|(?:返回|回来)后",
)

#: Words that put the absence in the past, shortly before it (folded text).
_PAST_RE = re.compile(
    r"\b(?:was|were|been|war|waren|gewesen|etais|etait|estive|estava|estuve|estaba|ero)\b"
    r"|上周|上星期|昨天|前几天|刚|已经|之前"
)

#: What only notices say: how mail is handled while away (folded text).
_HANDLING_RE = _compile(
    # Access to mail.
    r"\b(?:limited|no|intermittent|sporadic|occasional|without|restricted) (?:e-?mail )?access\b"
    r"|\b(?:check|checking|read|reading) (?:my )?e-?mails?\b|\bsporadisch\b|\beingeschrankt\b"
    r"|\b(?:pas|sans) acces\b|\bacesso (?:limitado|restrito)\b|\bsem acesso\b"
    r"|\bacceso limitado\b|\bno connectivity\b|无法及时|不能及时|延迟",
    # Someone else for urgent matters.
    r"\b(?:urgent|emergency|emergencies|pressing|immediate assistance|dringend\w*|urgence"
    r"|urgente?s?|urgencia|urgencias|vertretung|in my absence|en mon absence"
    r"|na minha ausencia|en mi ausencia|dringende zaken)\b",
    r"\bplease contact\b|\bcontact my colleague\b|\bwenden sie sich\b|紧急|急事|请联系",
    r"\b(?:send|forward|direct|address) (?:your|all) (?:e-?mails?|messages?|requests?"
    r"|enquiries|inquiries|questions)\b.{0,30}\bto\b|\b(?:schicken|senden|richten) sie ihre"
    r" (?:anfrage|e-?mail|nachricht)\b|\badressez votre\b|\benvie (?:um|o seu|a sua|sua)"
    r" (?:e-?mail|mensagem)\b|(?:将|会|自动)(?:被)?转(?:给|交)",
    r"\b(?:try|reach|call) me on my (?:mobile|cell)\b|\bmay be able to help\b"
    r"|\b(?:my|a) (?:cell|mobile)(?: phone)?\b|\b(?:mein|meinem|dem) handy\b"
    r"|\bmon portable\b|\b(?:meu|mi) (?:celular|telemovel)\b",
    # What happens to the message.
    r"\b(?:respond|reply|answer|get back to you)\b.{0,40}\b(?:upon|on|after|when) (?:my|i)"
    r" (?:return|am back|get back)\b|\bwill respond then\b|\bwill not be forwarded\b"
    r"|\b(?:won['’]?t|will not|unable to|not be able to|cannot)(?: be able to)?"
    r" (?:respond|reply|answer)\b"
    r"|\bnach meiner ruckkehr\b|\bwird nicht weitergeleitet\b|\b(?:a|des) mon retour\b"
    r"|\bassim que (?:regressar|retornar|voltar)\b|\ba mi regreso\b|\bal mio rientro\b"
    r"|返回后|回来后",
    # The opener vacation programs share.
    r"\bthank you for your (?:e-?mail|message|mail)\b|\bthanks for (?:your (?:e-?mail|message)"
    r"|writing)\b|\b(?:vielen )?dank fur ihre (?:nachricht|e-?mail|mail)\b|\bmerci (?:pour|de)"
    r" votre (?:message|courriel|e-?mail)\b|\bobrigad[oa] (?:pela sua|pelo seu)"
    r" (?:mensagem|e-?mail)\b",
)

#: A date, day or period (folded text): said by notices, but by people too.
_WHEN_RE = _compile(
    r"\b\d{1,2}(?:st|nd|rd|th|er|e|o|º)?\.?\s*(?:of |de )?(?:jan|feb|mar|apr|may|jun|jul|aug"
    r"|sep|oct|nov|dec|januar|februar|marz|mai|juni|juli|august|oktober|dezember|janvier"
    r"|fevrier|mars|avril|juin|juillet|aout|septembre|octobre|novembre|decembre|janeiro"
    r"|fevereiro|marco|abril|maio|junho|julho|agosto|setembro|outubro|novembro|dezembro"
    r"|enero|febrero|marzo|junio|julio|septiembre|octubre|noviembre|diciembre)",
    r"\b(?:january|february|march|april|may|june|july|august|september|october|november"
    r"|december|jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec)\.?\s+\d{1,2}\b",
    r"(?<![\d.])\d{1,2}\.\d{1,2}\.(?:\d{2,4})?|\b\d{1,2}/\d{1,2}(?:/\d{2,4})?\b"
    r"|\b20\d\d-\d\d-\d\d\b",
    r"\b(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday|montag|dienstag"
    r"|mittwoch|donnerstag|freitag|samstag|sonntag|lundi|mardi|mercredi|jeudi|vendredi"
    r"|segunda|terca|quarta|quinta|sexta|lunes|martes|miercoles|jueves|viernes)\b",
    r"\b(?:next|this) week\b|\btomorrow\b|\buntil further notice\b|\bbis auf weiteres\b"
    r"|\bnachste woche\b",
    r"\d{1,2}月\d{1,2}[日号]|下周|明天",
)

#: Closing lines that say nothing either way.
_SIGN_OFF_RE = re.compile(
    r"^(?:best|best regards|kind regards|regards|cheers|thanks|thank you|many thanks"
    r"|mit freundlichen grußen|mit freundlichen grussen|viele gruße|viele grusse|gruß|gruss"
    r"|cordialement|bien a vous|atenciosamente|obrigad[oa]|cumprimentos|saludos|un saludo"
    r"|met vriendelijke groet|cordiali saluti|此致|谢谢|祝好)\b"
)

#: Signs of a conversation (folded text). A bare "Thanks," or "Danke," thanks us for
#: this very message; vacation programs say "thank you for your message".
_CONVERSATION_RE = _compile(
    r"[?？]",
    r"\A(?:thanks|thank you|many thanks|danke|danke schon|vielen dank|merci|obrigad[oa]"
    r"|gracias|grazie|bedankt)(?:\s*[,!.:]|\s+\w+\s*[,!.])|\A(?:谢谢|多谢|感谢)[，,！!]",
    r"\b(?:great|good|nice) to hear\b|\bi(?:'ve| have)? forwarded\b|\bkonn(?:en|ten) wir\b"
    r"|\bsollen wir\b",
    r"\blet'?s\b|\blet’s\b|\blet us\b|\bworks for (?:me|us)\b|\bsounds (?:good|great|interesting)\b"
    r"|\bbut yes\b|\b(?:happy|glad) to (?:meet|talk|chat|discuss|hear|join|sponsor)\b"
    r"|\binterested\b|\bgerne\b|\bpasst (?:es|ihnen)\b"
    r"|\blassen sie uns\b|\blass uns\b|\bvolontiers\b|\bpodemos\b|\bvamos\b"
    r"|有兴趣|感兴趣|吗|再谈|再聊|聊聊|已经转给|我已转给",
    # Talking about the offer itself. Not "call me" or "send your request to": notices
    # say those too.
    r"\bsend (?:me|us|over)\b|\bcount us in\b|\blooks? (?:good|great)\b|\bsure,"
    r"|\bwe(?:'d| would) like\b|\bwe want\b|\bmeet (?:there|up|you)\b|\bis best\b"
    r"|\bklingt\b|\bschicken sie mir\b|\binteress|\b(?:me|nos) (?:envie|mande)\b"
    r"|\b(?:envie|mande)-me\b",
)


#: Ends of sentences; "27. August" and "26.7." are dates, not ends.
_SENTENCE_END_RE = re.compile(r"(?<!\d)[.!?](?=\s|$)|[。！？]|\n")


@dataclass(frozen=True, slots=True)
class AbsenceNotice:
    #: The words that showed it, as the sender wrote them.
    phrase: str
    #: "automatic" (the text says so) or "absence" (an absence stated as notices do).
    basis: str


def _leading(new_text: str) -> str:
    lines = [line.strip() for line in new_text.split("\n") if line.strip()]
    return "\n".join(lines[:LEADING_LINES])


def _only_about_the_absence(folded: str) -> bool:
    """Whether every sentence of ``folded`` is part of a notice, not of a conversation.

    A sentence counts when it states the absence, gives a date, says how mail is handled,
    or is a greeting or closing (three words at most, or a usual sign-off).
    """
    for sentence in _SENTENCE_END_RE.split(folded):
        sentence = sentence.strip(" ,;:-*()[]")
        if len(sentence.split()) <= 3 or _SIGN_OFF_RE.match(sentence):
            continue
        if not (
            _ABSENCE_RE.search(sentence)
            or _WHEN_RE.search(sentence)
            or _HANDLING_RE.search(sentence)
        ):
            return False
    return True


def _present_absence(folded: str) -> re.Match[str] | None:
    """The first absence phrase not put in the past by the words just before it."""
    for match in _ABSENCE_RE.finditer(folded):
        before = folded[max(0, match.start() - PAST_WINDOW) : match.start()]
        before = re.split(r"[.!?;\n。！？；]", before)[-1]
        if not _PAST_RE.search(before):
            return match
    return None


def find_absence_notice(new_text: str) -> AbsenceNotice | None:
    """The out-of-office notice that ``new_text`` (history stripped) is, if it is one."""
    leading = _leading(new_text)
    if not leading:
        return None
    folded = fold(leading)
    automatic = _AUTOMATIC_RE.search(folded)
    if automatic:
        return AbsenceNotice(leading[automatic.start() : automatic.end()].strip(), "automatic")
    if len(new_text.strip()) > MAX_NOTICE_CHARS or _CONVERSATION_RE.search(folded):
        return None
    absence = _present_absence(folded)
    if absence is None:
        return None
    handled = _HANDLING_RE.search(folded) is not None
    if not handled and not (_WHEN_RE.search(folded) and _only_about_the_absence(folded)):
        return None
    return AbsenceNotice(leading[absence.start() : absence.end()].strip(), "absence")
