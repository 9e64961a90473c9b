"""Opt-out requests written as a reply ("please remove me", "退订"). Pure: no I/O.

Only the subject and the first lines of the *new* text are read. Quoted history often holds
our own footer ("To unsubscribe, reply STOP"), and a long reply that mentions
unsubscribing somewhere deep down is usually about something else. Missing an opt-out is
the costliest mistake here (we keep mailing someone who asked us to stop: complaints,
law), so the phrase list is generous; false positives are limited by looking only where
people actually put the request, and by anchoring the bare forms ("please remove it",
"退订") to a sentence of their own, so "please remove it before you send the deck" stays a
reply.

Languages recognised (:data:`LANGUAGES`): English, French, German, Spanish, Dutch,
Portuguese, Italian and Chinese. A request in another language is read as a reply.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from aicmo.cam.inbound.text import fold

#: How many non-empty lines of the new text are read.
LEADING_LINES = 5
#: The languages whose opt-out phrasing is recognised, as ISO 639-1 codes.
LANGUAGES = ("en", "fr", "de", "es", "nl", "pt", "it", "zh")

_REPLY_PREFIX_RE = re.compile(
    r"^(?:\s*(?:re|aw|sv|vs|antw|r|rif|res|ref|fw|fwd|wg|tr|回复|答复|转发)\s*[:：])+\s*"
)

#: Where a sentence starts: the start of a line or after a sentence end.
_SENTENCE_START = r"(?:^|(?<=[.!?。！？])\s*)"
#: Where it ends: the end of the line, maybe after closing punctuation.
_SENTENCE_END = r"\s*[.!。！]*\s*$"

#: Phrases on folded (lower-case, accent-free) text, by language. Chinese has no word
#: boundaries, so its phrases are plain substrings.
_PHRASES: tuple[tuple[str, str], ...] = (
    ("en", r"\bunsubscribe\b"),
    ("en", r"\bunsub\b"),
    ("en", r"\bremove (?:me|us|my (?:e-?mail|address|details|name|contact))\b"),
    ("en", r"\bremove (?:this|our) (?:e-?mail )?address\b"),
    (
        "en",
        r"\btake (?:me|us|my (?:e-?mail|address|name)|this (?:e-?mail(?: address)?|address))"
        r" off\b(?! (?:the |this |of the )?(?:cc|thread|chain|call|invite|loop|meeting))",
    ),
    (
        "en",
        r"\b(?:to|i|we|please|me|us) (?:be|get|getting|being) (?:removed|taken off|unsubscribed)"
        r" from (?:your|the|this|all)"
        r" (?:mailing |e-?mail |distribution |contact |marketing )?(?:list|lists|database"
        r"|mailings?|e-?mails)\b",
    ),
    (
        "en",
        r"\bstop (?:e-?mailing|emailing|messaging|sending|contacting|writing to|spamming)"
        r" (?:me|us)\b",
    ),
    (
        "en",
        r"\bstop (?:e-?mailing|sending (?:me |us )?(?:these |this |your )?"
        r"(?:e-?mails|messages|mail))\b",
    ),
    ("en", r"\bnot interested\b.{0,30}\bremove\b"),
    ("en", r"\bopt(?:ing)?[ -]?out\b"),
    ("en", r"\b(?:do not|don['’]?t) (?:contact|e-?mail|email|write to|mail) (?:me|us)\b"),
    ("en", r"\bno (?:more|further) (?:e-?mails|emails|messages|mails)\b"),
    ("en", r"^(?:stop|remove|unsubscribe)[.!]*$"),
    (
        "en",
        _SENTENCE_START + r"(?:(?:please|pls|kindly|just) )?(?:remove|delete) (?:it|this|us|me)"
        r"(?: please)?" + _SENTENCE_END,
    ),
    ("fr", r"\bdesinscri(?:re|vez|s|ption)\b"),
    ("fr", r"\bdesabonn(?:er|ez|ement)\b"),
    ("fr", r"\b(?:retirez|supprimez)[- ]moi\b"),
    ("fr", r"\b(?:retirez|supprimez) mon (?:adresse|e-?mail|courriel)\b"),
    ("fr", r"\bne (?:plus|pas) (?:me |m['’])?(?:contacter|recevoir|ecrire|envoyer)\b"),
    ("fr", r"\bne m['’](?:envoyez|ecrivez) plus\b"),
    ("de", r"\babmelden\b"),
    ("de", r"\b(?:aus|ent)tragen\b"),
    ("de", r"\babbestellen\b"),
    ("de", r"\bkeine (?:weiteren )?(?:e-?mails|nachrichten|zusendungen|werbung)\b"),
    # "Nehmen Sie Herrn Müller aus dem Verteiler" asks for someone else.
    (
        "de",
        r"^(?!.*\b(?:herrn?|frau|kolleg\w*)\b).*\baus (?:dem|ihrem|eurem|diesem)"
        r" (?:e-?mail-?)?(?:verteiler|newsletter)\b",
    ),
    ("de", r"\bloschen sie (?:bitte )?meine (?:e-?mail|adresse|daten|kontaktdaten)\b"),
    ("de", r"\bnicht mehr (?:kontaktieren|anschreiben|anmailen)\b"),
    ("es", r"\bdar(?:se|me)? de baja\b"),
    ("es", r"\b(?:denme|deme) de baja\b"),
    ("es", r"^baja[.!]*$"),
    ("es", r"\bno (?:me )?(?:contacten|escriban|envien)\b"),
    ("es", r"\bno (?:quiero|deseo) recibir\b"),
    ("nl", r"\buitschrijven\b"),
    ("nl", r"\bafmelden\b"),
    ("nl", r"\bverwijder (?:mij|me|mijn)\b"),
    ("pt", r"\bcancelar (?:a )?(?:minha )?inscricao\b"),
    ("pt", r"\bdescadastr(?:ar|e|em|o)\b"),
    ("pt", r"\bremov(?:a|am|er)[- ]me\b"),
    ("pt", r"\bme (?:remova|removam|retire|retirem|tire|tirem|descadastre)\b"),
    (
        "pt",
        r"\b(?:remova|removam|remover|retire|retirar|tire|tirar|excluam?|excluir)"
        r" (?:o )?(?:meu|este|esse) (?:e-?mail|endereco|contato|contacto)\b",
    ),
    ("pt", r"\bnao (?:quero|desejo) (?:mais )?receber\b"),
    ("pt", r"\bparem? de (?:me )?(?:enviar|mandar)\b"),
    ("it", r"\bcancellami\b|\bcancellatemi\b|\bcancellarmi\b"),
    ("it", r"\bdisiscri(?:vere|vimi|zione)\b"),
    ("it", r"\brimuove(?:temi|rmi)\b"),
    ("it", r"\bnon (?:mi )?(?:contattate|scrivete)\b"),
    ("zh", r"退订|退訂|取消订阅|取消訂閱|退阅"),
    ("zh", r"移出.{0,6}(?:列表|名单|名單)|(?:从|從).{0,8}(?:列表|名单|名單)中?(?:移除|删除|刪除)"),
    ("zh", r"(?:移除|删除|刪除)(?:我的)?(?:邮箱|郵箱|邮件地址|地址)"),
    (
        "zh",
        r"(?:不要|别|別|请勿|請勿|勿)再?(?:给我|給我|向我)?(?:发|發|寄)(?:送)?.{0,6}"
        r"(?:邮件|郵件|信)",
    ),
    ("zh", r"不(?:再|想再?)(?:接收|收到).{0,4}(?:邮件|郵件|信息|訊息)"),
)
_COMPILED: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (language, re.compile(pattern, re.M)) for language, pattern in _PHRASES
)


@dataclass(frozen=True, slots=True)
class UnsubscribeRequest:
    #: The words that triggered it, as the sender wrote them.
    phrase: str
    #: "subject" or "body".
    where: str
    language: str


def _search(text: str) -> tuple[str, str] | None:
    folded = fold(text)
    for language, pattern in _COMPILED:
        match = pattern.search(folded)
        if match:
            return text[match.start() : match.end()].strip(), language
    return None


def find_unsubscribe_request(subject: str, new_text: str) -> UnsubscribeRequest | None:
    """The opt-out request in a reply's subject or opening lines, if there is one."""
    subject_hit = _search(_REPLY_PREFIX_RE.sub("", subject).strip())
    if subject_hit:
        return UnsubscribeRequest(subject_hit[0], "subject", subject_hit[1])
    leading = [line.strip() for line in new_text.split("\n") if line.strip()][:LEADING_LINES]
    body_hit = _search("\n".join(leading))
    if body_hit:
        return UnsubscribeRequest(body_hit[0], "body", body_hit[1])
    return None
