"""Delivery failure reports: RFC 3464 DSNs and the formats MTAs invented before it. Pure: no I/O.

Standard DSNs (``multipart/report; report-type=delivery-status``) are read field by field,
one finding per recipient block. Everything else (qmail, classic Exim, Yahoo, old Sendmail,
Exchange text NDRs) goes to ``flufl.bounce``'s detectors for the failed addresses, while
the status code and diagnostic come from the notification text around each address.

The heuristic path only runs on mail that already looks like a bounce (daemon sender,
``X-Failed-Recipients``, a bounce subject with corroboration, or an automated sender whose
text says delivery failed): several of flufl's detectors would otherwise find "failed
recipients" in ordinary human replies. When neither the report structure nor flufl yields
anything (carriers' plain "delivery failed" notes, Lotus Notes in ISO-2022-JP, a damaged
MIME tree), the notification's words decide: the recipient the text points at ("RCPT TO:",
"error delivering your mail to <...>"), else a finding without recipient that the service
matches to the lead through our Message-ID. Such a message is never left for a reply.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, replace
from email.message import Message
from email.utils import getaddresses

from flufl.bounce import all_failures

from aicmo.cam.inbound import mime
from aicmo.cam.inbound.status import (
    Severity,
    infer_detail,
    is_delay,
    is_expiry,
    is_policy,
    normalize_status,
    status_severity,
)
from aicmo.cam.inbound.text import clean_line, fold

DSN_PART_TYPES = frozenset({"message/delivery-status", "message/global-delivery-status"})

_DAEMON_LOCAL_RE = re.compile(
    r"^(?:mailer[-_.]?daemon|mail[-_.]?daemon|post[-_.]?master|mdaemon|double-bounce"
    r"|mail[-_.]?delivery(?:[-_.]?(?:subsystem|system))?|microsoftexchange[0-9a-f]{32})$"
)
_DAEMON_NAME_RE = re.compile(
    r"\bmail delivery (?:subsystem|system|service)\b|\bmailer.?daemon\b|^post.?master$"
    r"|\bmail administrator\b"
)
#: Robots that send more than bounces (ticket systems, carriers' gateways): a bounce only
#: when their text says delivery failed.
_AUTOMATED_LOCAL_RE = re.compile(
    r"^(?:no[-_.]?reply|do[-_.]?not[-_.]?reply|donotreply|bounces?|mail[-_.]?admin(?:istrator)?"
    r"|e?mail[-_.]?(?:gateway|service)|smtp[-_.]?mail[-_.]?service|[a-z0-9]*_smtp_mail_service"
    r"|(?:mail|smtp)[-_.]?gw|mta|nobody|root)$"
)

#: Words that say a delivery failed or is delayed (folded text; Japanese carriers too).
_FAILURE_TEXT_RE = re.compile(
    r"could ?n[o']?t be delivered|(?:was|were|has|have) not (?:been )?delivered|wasn'?t delivered"
    r"|not be delivered|cannot be delivered|can'?t be delivered|unable to deliver|undeliver"
    r"|non-?delivery|delivery (?:to .{0,60})?(?:has )?failed|delivery failure|failed recipient"
    r"|(?:permanent|fatal) error|error delivering|did not reach|invalid (?:user|recipient|address)"
    r"|no such (?:user|recipient|mailbox)|user unknown|unknown user|not listed in|failure reasons"
    r"|mailbox (?:is )?(?:full|unavailable)|returned mail|delivery (?:status notification|delayed)"
    r"|has been delayed|not yet been delivered|postponed|delivery failed"
    r"|送信できませんでした|配信できませんでした|届きませんでした|一杯のため|宛先不明|エラーのため"
)

#: Bounce subjects in the languages the product's users and their leads write in. Matched
#: on folded (lower-case, accent-free) text; never enough on its own, see ``looks_like_bounce``.
_BOUNCE_SUBJECT_RE = re.compile(
    r"undeliver(?:able|ed)|delivery (?:status notification|failure|failed|has failed"
    r"|notification|problem|delayed)|mail delivery fail|failure notice|returned mail"
    r"|returned to sender|message not delivered|could not be delivered|delayed mail"
    r"|mail system error|warning: message .{0,40} delayed|non remis|non distribuable"
    r"|unzustellbar|nicht zustellbar|onbestelbaar|niet (?:bezorgd|afgeleverd)"
    r"|no se puede entregar|no entregado|non recapitabile|mancata consegna|nao entregue"
    r"|nao foi possivel entregar|non-?delivery|delivery warning|mail delivery warning"
    r"|undeliverable|メールエラー|配信エラー|エラー通知"
)

# A basic reply code followed by an enhanced one: "550 5.1.1", "552-5.2.2", "550 #5.1.0".
_SMTP_ENHANCED_RE = re.compile(
    r"(?<![\d.])(?P<basic>[45]\d\d)[ -]+#?(?P<enh>[45]\.\d{1,3}\.\d{1,3})(?!\d|\.\d)"
)
# qmail and old Exchange write the enhanced code alone after a hash: "(#5.1.1)".
_HASH_ENHANCED_RE = re.compile(r"#(?P<enh>[45]\.\d{1,3}\.\d{1,3})(?!\d|\.\d)")
_ENHANCED_RE = re.compile(r"(?<![\w.#-])(?P<enh>[45]\.\d{1,3}\.\d{1,3})(?!\d|\.\d)")
# A basic code alone, followed by words: "554 delivery error: dd This user ...".
_BASIC_RE = re.compile(r"(?:^|(?<=[\s:;(\[]))(?P<basic>[45][0-5]\d)(?=[ :-]\s*[A-Za-z<#(])", re.M)
# The codes a multi-line reply repeats on each line, after the first: "550-5.1.1 ".
_REPEATED_CODE_RE = re.compile(r"(?<=\S)\s+[45]\d\d[ -][45]\.\d{1,3}\.\d{1,3}\s+")
_CODE_PREFIX_RE = re.compile(r"^\s*[45]\d\d[ -](?:#?[45]\.\d{1,3}\.\d{1,3}\s*)?")

_PERMANENT_RE = re.compile(
    r"permanent (?:fatal )?error|failed permanently|will not be retried|gave up|giving up"
    r"|not going to try again",
    re.IGNORECASE,
)
_COPY_MARKER_RE = re.compile(
    r"^\s*-{2,}.{0,20}\b(?:below this line is a copy|this is a copy of|original message"
    r"|returned message|copy of the message|header of the original|message follows)"
    r"|^\s*original message headers:|^\s*message headers follow|^\s*bounced e-?mail:",
    re.IGNORECASE | re.M,
)
_TEXT_ADDRESS_RE = re.compile(r"[A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
#: Words that introduce the failed recipient in a notification's text, then the address
#: (within a short stretch without another address, at most one blank line away).
_RECIPIENT_CUE_RE = re.compile(
    r"(?:rcpt to|x-failed-recipients|original-recipient|final-recipient|failed recipients?"
    r"|following (?:recipients?|address(?:es|\(es\))?|users?)|address(?:es|\(es\))? failed"
    r"|(?:delivered|delivering(?: your (?:mail|message))?|delivery"
    r"|deliver(?: your)? (?:mail|message)) to|did not reach(?: the following recipient)?"
    r"|not listed in|message to|user(?: account)?"
    r"|mailbox|recipient(?: address)?|to this address|target (?:mail )?address|failure reasons)"
    r"[^@\n]{0,60}?(?:\n[^@\n]{0,60}?){0,2}?[\s:<\"(\[]"
    r"(?P<address>[A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)",
    re.IGNORECASE,
)
_TEXT_MSGID_RE = re.compile(
    r"^\s*(?:message-id|in-reply-to|references)\s*:\s*(.*)$", re.IGNORECASE | re.M
)
_INLINE_MSGID_RE = re.compile(r"^\s*Message-ID:\s*(<[^<>\s]+>)", re.IGNORECASE | re.M)
_REMOTE_HOST_RE = re.compile(
    r"\bhost\s+([a-z0-9][a-z0-9-]*(?:\.[a-z0-9-]+)+)\.?\s*\[", re.IGNORECASE
)
_REPORTING_HOST_RE = re.compile(
    r"\b(?:qmail-send program|mail system|mail delivery agent|mta program|deliver program)"
    r"\s+at\s+(?:host\s+)?([a-z0-9][a-z0-9-]*(?:\.[a-z0-9-]+)+)",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class BounceFinding:
    """One recipient's fate as a delivery report tells it."""

    recipient: str | None
    severity: Severity
    status: str | None = None
    action: str | None = None
    diagnostic: str | None = None
    diagnostic_type: str | None = None
    remote_mta: str | None = None
    reporting_mta: str | None = None
    final_recipient: str | None = None
    original_recipient: str | None = None
    status_inferred: bool = False
    format: str = "dsn"

    @property
    def policy(self) -> bool:
        return self.status is not None and is_policy(self.status)


@dataclass(frozen=True, slots=True)
class BounceReport:
    """What a bounce says: per-recipient findings and the ids of the bounced message."""

    findings: tuple[BounceFinding, ...]
    original_message_ids: tuple[str, ...]
    format: str

    @property
    def failures(self) -> tuple[BounceFinding, ...]:
        return tuple(f for f in self.findings if f.severity is not Severity.NONE)


@dataclass(frozen=True, slots=True)
class _TextStatus:
    status: str | None
    diagnostic: str | None
    inferred: bool


def has_delivery_status(msg: Message) -> bool:
    """Whether ``msg`` carries an RFC 3464 report (outside any attached message)."""
    if mime.content_type(msg) == "multipart/report" and mime.param(msg, "report-type") in {
        "delivery-status",
        "global-delivery-status",
    }:
        return True
    return any(mime.content_type(p) in DSN_PART_TYPES for p in mime.iter_parts(msg))


def is_daemon(address: str) -> bool:
    """Whether ``address`` belongs to a mail system rather than a person."""
    local = address.partition("@")[0]
    return bool(_DAEMON_LOCAL_RE.match(local) or _AUTOMATED_LOCAL_RE.match(local))


def says_delivery_failed(text: str) -> bool:
    """Whether ``text`` (a subject or a notification) says a delivery failed or is delayed."""
    return _FAILURE_TEXT_RE.search(fold(text)) is not None


def looks_like_bounce(msg: Message, sender: str | None, subject: str, text: str = "") -> bool:
    """Whether non-standard bounce detection may run on ``msg`` at all.

    ``text`` is the notification text; a carrier's or an automated gateway's "delivery
    failed" note (ordinary From, no report part) is recognised from it.
    """
    if mime.header_values(msg, "X-Failed-Recipients"):
        return True
    local = sender.partition("@")[0] if sender else ""
    if sender and _DAEMON_LOCAL_RE.match(local):
        return True
    if _DAEMON_NAME_RE.search(fold(mime.display_name(msg)).strip()):
        return True
    failure_words = says_delivery_failed(f"{subject}\n{_before_copy(text)}")
    if sender and _AUTOMATED_LOCAL_RE.match(local) and failure_words:
        return True
    if failure_words and mime.attached_original(msg) is not None and _cued_addresses(text, _NOBODY):
        # A carrier's notice from an ordinary address (au's "Could not be delivered to:
        # <...>" from a user-like sender) with the original message attached.
        return True
    if not _BOUNCE_SUBJECT_RE.search(fold(subject)):
        return False
    return_path = mime.raw_header(msg, "Return-Path").replace(" ", "")
    if return_path == "<>" or mime.header_text(msg, "Auto-Submitted"):
        return True
    if mime.attached_original(msg) is not None:
        return True
    if extract_status(text) is not None:
        return True
    # A human may write "undeliverable" in a subject; only a notice names whom it failed for.
    return says_delivery_failed(_before_copy(text)) and bool(_cued_addresses(text, _NOBODY))


def parse_bounce(
    msg: Message,
    *,
    subject: str,
    sender: str | None,
    ignore: frozenset[str] = frozenset(),
    addressees: frozenset[str] = frozenset(),
) -> BounceReport | None:
    """The bounce report in ``msg``, or ``None`` when ``msg`` is not a bounce.

    ``ignore`` names addresses that can never be the failed recipient (the bounce's sender,
    our own mailboxes). ``addressees`` (the bounce's To) are left out of what flufl's
    detectors pick from free text, but still count when the text names them as the failed
    recipient: some MTAs address the bounce to the very address that failed.
    """
    original_ids = _original_message_ids(msg)
    text = mime.notification_text(msg)
    dsn = has_delivery_status(msg)
    if dsn:
        standard = _dsn_findings(msg)
        if standard:
            softened = tuple(_soften_from_text(f, text) for f in standard)
            return BounceReport(_with_fallback_recipient(softened, msg), original_ids, "dsn")
    if not dsn and not looks_like_bounce(msg, sender, subject, text):
        return None
    findings = _heuristic_findings(msg, text, ignore | addressees)
    if not findings:
        # Some MTAs paste DSN fields into the text body instead of a report part, and a
        # report whose MIME tree is broken still carries them as text.
        blocks = mime.parse_field_blocks(text)
        findings = [f for f in map(_finding_from_block, blocks) if f is not None]
        findings = [_soften_from_text(f, text) for f in findings]
    if not findings:
        findings = _text_findings(text, subject, ignore, addressees)
    return BounceReport(_with_fallback_recipient(tuple(findings), msg), original_ids, "heuristic")


def _original_message_ids(msg: Message) -> tuple[str, ...]:
    own = set(mime.message_ids(mime.raw_header(msg, "Message-ID")))
    ids: list[str] = []
    original = mime.attached_original(msg)
    if original is not None:
        ids.extend(mime.message_ids(mime.raw_header(original, "Message-ID")))
    for part in mime.iter_parts(msg):
        if mime.content_type(part) in DSN_PART_TYPES:
            for block in mime.field_blocks(part):
                ids.extend(mime.message_ids(mime.block_get(block, "x-original-message-id")))
    if not ids:
        # qmail, Yahoo and classic Exim paste the original below a marker line, as text.
        for part in mime.iter_parts(msg):
            if mime.content_type(part) == "text/plain":
                for found in _INLINE_MSGID_RE.findall(mime.part_text(part)):
                    ids.extend(mime.message_ids(clean_line(found, max_len=998)))
    unique: list[str] = []
    for msgid in ids:
        if msgid not in own and msgid not in unique:
            unique.append(msgid)
    return tuple(unique)


def _strip_type(value: str) -> tuple[str | None, str]:
    """``("smtp", "550 ...")`` from ``"smtp; 550 ..."`` (RFC 3464 typed fields)."""
    kind, sep, rest = value.partition(";")
    if sep and kind.strip() and " " not in kind.strip() and len(kind.strip()) < 20:
        return kind.strip().lower(), rest.strip()
    return None, value.strip()


def _host(value: str) -> str | None:
    _kind, rest = _strip_type(value)
    token = rest.split()[0] if rest.split() else ""
    token = token.strip("[]<>;,").rstrip(".")
    return clean_line(token, max_len=255).lower() or None


def _dsn_findings(msg: Message) -> tuple[BounceFinding, ...]:
    findings: list[BounceFinding] = []
    for part in mime.iter_parts(msg):
        if mime.content_type(part) not in DSN_PART_TYPES:
            continue
        blocks = mime.field_blocks(part)
        reporting_mta = None
        for block in blocks:
            if mime.block_get(block, "reporting-mta"):
                reporting_mta = _host(mime.block_get(block, "reporting-mta"))
            finding = _finding_from_block(block, reporting_mta)
            if finding is not None:
                findings.append(finding)
    return _dedupe(findings)


def _finding_from_block(
    block: mime.FieldBlock, reporting_mta: str | None = None
) -> BounceFinding | None:
    final_raw = mime.block_get(block, "final-recipient")
    original_raw = mime.block_get(block, "original-recipient", "x-actual-recipient")
    action = mime.block_get(block, "action").lower().split(" ")[0].split("(")[0] or None
    status_raw = mime.block_get(block, "status")
    if not final_raw and not original_raw and not action and not status_raw:
        return None  # the per-message block, or noise
    final = mime.normalize_address(_strip_type(final_raw)[1]) if final_raw else None
    original = mime.normalize_address(_strip_type(original_raw)[1]) if original_raw else None
    diagnostic_type, diagnostic = _strip_type(mime.block_get(block, "diagnostic-code"))
    diagnostic = _REPEATED_CODE_RE.sub(" ", diagnostic)
    if not diagnostic and status_raw.strip() != status_raw.strip().split(" ")[0]:
        # "Status: 5.0.0 (recipient reached disk quota)": the only words there are.
        diagnostic = status_raw.strip()
    status = normalize_status(status_raw)
    inferred = False
    if status is None and status_raw:
        # "Status: 553 Exceeded maximum inbound message size": a reply code, not a status.
        from_field = extract_status(status_raw)
        if from_field is not None and from_field.status:
            status, inferred = from_field.status, from_field.inferred
            diagnostic = diagnostic or status_raw
    from_diagnostic = extract_status(diagnostic) if diagnostic else None
    if from_diagnostic and from_diagnostic.status and not from_diagnostic.inferred:
        # "Status: 5.0.0" next to "550 5.1.1 user unknown": the diagnostic knows better.
        generic = status is None or status.endswith(".0.0")
        if generic and (status is None or status[0] == from_diagnostic.status[0]):
            status = from_diagnostic.status
    if status is None and from_diagnostic and from_diagnostic.status:
        status, inferred = from_diagnostic.status, True
    severity = _dsn_severity(action, status)
    return BounceFinding(
        recipient=original or final,
        severity=severity,
        status=status,
        action=action,
        diagnostic=clean_line(diagnostic, max_len=1000) or None,
        diagnostic_type=diagnostic_type,
        remote_mta=_host(mime.block_get(block, "remote-mta")),
        reporting_mta=reporting_mta or _host(mime.block_get(block, "reporting-mta")),
        final_recipient=final,
        original_recipient=original,
        status_inferred=inferred,
        format="dsn",
    )


_FAILED_ACTIONS = frozenset({"failed", "failure", "error"})
_NOBODY: frozenset[str] = frozenset()


def _dsn_severity(action: str | None, status: str | None) -> Severity:
    if action in {"delivered", "relayed", "expanded"}:
        return Severity.NONE
    if action in {"delayed", "expired"}:
        # "expired" (SendGrid, some appliances): the retry period ran out; the address
        # was never refused, so it is soft, as "retry timeout exceeded" is.
        return Severity.SOFT
    if status is None:
        # "Action: failed" without a status; opensmtpd writes "Action: error", others
        # "Action: failure".
        return Severity.HARD if action in _FAILED_ACTIONS else Severity.NONE
    severity = status_severity(status)
    if severity is Severity.NONE and action in _FAILED_ACTIONS:
        return Severity.HARD
    return severity


def _failure_finding(
    recipient: str | None,
    status: str | None,
    *,
    delayed: bool,
    context: str,
    diagnostic: str | None,
    inferred: bool,
    format: str,
    remote_mta: str | None = None,
    reporting_mta: str | None = None,
    soft: bool = False,
) -> BounceFinding:
    """A failure read from a notice's words rather than a report's fields.

    The notice says delivery failed, so a status that reads as delivered (or none at all)
    still counts hard; a delay, an expired retry period named in ``context`` or ``soft``
    makes it soft.
    """
    severity = status_severity(status) if status else Severity.HARD
    if severity is Severity.NONE:
        severity = Severity.HARD
    if soft or delayed or is_expiry(context):
        severity = Severity.SOFT
    return BounceFinding(
        recipient=recipient,
        severity=severity,
        status=status,
        action="delayed" if delayed else "failed",
        diagnostic=diagnostic,
        remote_mta=remote_mta,
        reporting_mta=reporting_mta,
        final_recipient=recipient,
        status_inferred=inferred,
        format=format,
    )


def _heuristic_findings(msg: Message, text: str, ignore: frozenset[str]) -> list[BounceFinding]:
    try:
        temporary, permanent = all_failures(_flufl_ready(msg))
    except Exception:  # a detector choking on odd input must not sink classification
        temporary, permanent = frozenset(), frozenset()
    not_recipients = ignore | _message_id_addresses(text)
    addresses: dict[str, bool] = {}
    for raw, is_temporary in [(a, False) for a in sorted(permanent)] + [
        (a, True) for a in sorted(temporary)
    ]:
        address = mime.normalize_address(raw.decode("ascii", "replace"))
        if not address or address in not_recipients or address in addresses:
            continue
        if is_daemon(address):
            continue
        addresses[address] = is_temporary
    notification = _before_copy(text)
    folded = fold(notification)  # same length as the text, so offsets carry over
    mentioned = {a: t for a, t in addresses.items() if a in folded}
    if mentioned or not _cued_addresses(notification, not_recipients):
        addresses = mentioned or addresses
    else:
        # flufl picked addresses only from the pasted copy (its envelope sender, say),
        # while the notification itself names whom it failed for: trust the words.
        addresses = {}
    reporting = _REPORTING_HOST_RE.search(text)
    reporting_mta = reporting.group(1).lower() if reporting else None
    findings: list[BounceFinding] = []
    alone = len(addresses) == 1
    for address, is_temporary in addresses.items():
        window = _window(notification, folded, address, list(addresses))
        found = extract_status(window) or extract_status(notification)
        status = found.status if found else None
        if status is None and found is None:
            # The reason may stand before the address ("... is over disk quota: <x>").
            detail = infer_detail(window) or (infer_detail(notification) if alone else None)
            if detail:
                status = f"{'4' if is_temporary else '5'}.{detail}"
        remote = _REMOTE_HOST_RE.search(window)
        findings.append(
            _failure_finding(
                address,
                status,
                delayed=is_temporary or _is_delay_notice(notification),
                context=window or notification,
                diagnostic=found.diagnostic if found else None,
                inferred=found.inferred if found else status is not None,
                format="heuristic",
                remote_mta=remote.group(1).lower() if remote else None,
                reporting_mta=reporting_mta,
            )
        )
    return findings


def _flufl_ready(msg: Message) -> Message:
    """``msg``, or a copy whose headers flufl's detectors can read without raising.

    Several detectors call ``str`` methods on raw header values (a ``Header`` object when
    they hold 8-bit bytes) or index ``getaddresses``' result for From (empty for some
    garbage). Either raises and stops the whole detector chain, so such values are
    replaced by their decoded text first.
    """
    from_value: object = msg.get("From", "")
    plain_from = isinstance(from_value, str) and bool(getaddresses([from_value]))
    if plain_from and all(
        isinstance(value, str) and value.isascii()
        for part in mime.iter_parts(msg, into_attached=True)
        for value in part.values()
    ):
        return msg
    plain = copy.deepcopy(msg)
    for part in mime.iter_parts(plain, into_attached=True):
        for name in dict.fromkeys(part.keys()):
            values = [
                clean_line(mime.decode_header_value(v), max_len=4000)
                for v in part.get_all(name, [])
            ]
            del part[name]
            for value in values:
                part[name] = value
    del plain["From"]
    plain["From"] = mime.sender_address(msg) or "unknown@invalid"
    return plain


def _text_findings(
    text: str, subject: str, ignore: frozenset[str], addressees: frozenset[str]
) -> list[BounceFinding]:
    """Findings from the notification's words when no structure or detector knew it.

    The recipients are the addresses the text points at as failed; failing that, the one
    foreign address it names. A notice that says delivery failed but names nobody still
    yields a finding (recipient ``None``): the service matches it through our Message-ID.
    """
    notification = _before_copy(text)
    found = extract_status(notification)
    failed_words = says_delivery_failed(f"{subject}\n{notification}")
    if found is None and not failed_words:
        return []
    not_recipients = ignore | _message_id_addresses(text)
    cued = _cued_addresses(notification, not_recipients)
    # The bounce's addressee counts only when the text names no one else: a notice that
    # quotes "To: <our mailbox>" above the failed address is not about us.
    others = [a for a in cued if a not in addressees]
    recipients: list[str | None] = list(others or cued)
    if not recipients:
        named = {
            address
            for address in map(mime.normalize_address, _TEXT_ADDRESS_RE.findall(notification))
            if address
            and address not in not_recipients
            and address not in addressees
            and not is_daemon(address)
        }
        recipients = [named.pop()] if len(named) == 1 else [None]
    folded = fold(notification)
    everyone = [r for r in recipients if r]
    findings: list[BounceFinding] = []
    for recipient in recipients:
        window = _window(notification, folded, recipient, everyone) if recipient else ""
        local = extract_status(window) if window else None
        judged = local or found
        status = judged.status if judged else None
        inferred = judged.inferred if judged else True
        delayed = _is_delay_notice(f"{subject}\n{notification}")
        if status is None:
            detail = infer_detail(window) if window else None
            if detail is None and len(recipients) == 1:
                # The reason may stand before the address ("reject reason: Mailbox full").
                detail = infer_detail(notification)
            status = f"{'4' if delayed else '5'}.{detail or '0.0'}"
            inferred = True
        findings.append(
            _failure_finding(
                recipient,
                status,
                delayed=delayed,
                context=window or notification,
                diagnostic=(judged.diagnostic if judged else None)
                or _reason_line(window)
                or _reason_line(notification),
                inferred=inferred,
                format="text",
                # Words alone, naming nobody and giving no code: not enough to declare the
                # lead's address dead on one notice (the soft-bounce rule decides).
                soft=recipient is None and judged is None,
            )
        )
    return findings


def _reason_line(text: str) -> str | None:
    """The first line of ``text`` that gives a reason (a known wording or failure words)."""
    for line in text.split("\n"):
        if line.strip().startswith(("-", "#", "*")):
            continue  # a section's banner ("------- Failure Reasons --------"), not a reason
        if line.strip() and (infer_detail(line) or says_delivery_failed(line)):
            return clean_line(line, max_len=300)
    return None


def _cued_addresses(text: str, not_recipients: frozenset[str]) -> list[str]:
    """The addresses ``text`` introduces as failed ("RCPT TO: x", "delivering your mail to
    <x>", "could not be delivered to: x"), in order, without robots and our own."""
    found: list[str] = []
    for match in _RECIPIENT_CUE_RE.finditer(_before_copy(text)):
        address = mime.normalize_address(match.group("address"))
        if (
            address
            and address not in not_recipients
            and address not in found
            and not is_daemon(address)
        ):
            found.append(address)
    return found


def _message_id_addresses(text: str) -> frozenset[str]:
    """Message-IDs quoted in ``text``: they look like addresses but never failed."""
    ids: set[str] = set()
    for value in _TEXT_MSGID_RE.findall(text):
        for msgid in mime.message_ids(value):
            address = mime.normalize_address(msgid.strip("<>"))
            if address:
                ids.add(address)
    return frozenset(ids)


def _is_delay_notice(text: str) -> bool:
    """A warning that delivery is still being tried, unless the text also says it gave up."""
    return is_delay(text) and not _PERMANENT_RE.search(text)


def _soften_from_text(finding: BounceFinding, text: str) -> BounceFinding:
    """A hard finding whose own words say the retry period ran out is soft.

    Exim writes ``Status: 5.0.0`` for "mailbox is full: retry timeout exceeded"; the
    address was never refused, so one such report must not suppress it for good.
    """
    if finding.severity is not Severity.HARD:
        return finding
    generic = finding.status is None or finding.status.endswith(".0.0") or finding.status_inferred
    if not generic:
        return finding
    notification = _before_copy(text)
    window = ""
    if finding.recipient:
        window = _window(notification, fold(notification), finding.recipient, [])
    about = " ".join(filter(None, [finding.diagnostic, window]))
    if is_expiry(about):
        return replace(finding, severity=Severity.SOFT)
    detail = infer_detail(about)
    if detail:
        status = f"{(finding.status or '5')[0]}.{detail}"
        if status_severity(status) is Severity.SOFT:
            return replace(finding, severity=Severity.SOFT, status=status, status_inferred=True)
    return finding


def _with_fallback_recipient(
    findings: tuple[BounceFinding, ...] | list[BounceFinding], msg: Message
) -> tuple[BounceFinding, ...]:
    """Fill a missing recipient from the attached original when it had exactly one."""
    if all(f.recipient for f in findings):
        return tuple(findings)
    original = mime.attached_original(msg)
    candidates = mime.addresses_in(mime.raw_header(original, "To")) if original else []
    if len(candidates) != 1:
        return tuple(findings)
    return tuple(
        replace(f, recipient=candidates[0]) if f.recipient is None else f for f in findings
    )


def _dedupe(findings: list[BounceFinding]) -> tuple[BounceFinding, ...]:
    seen: set[tuple[str | None, Severity]] = set()
    unique: list[BounceFinding] = []
    for finding in findings:
        key = (finding.recipient, finding.severity)
        if finding.recipient is not None and key in seen:
            continue
        seen.add(key)
        unique.append(finding)
    return tuple(unique)


def _before_copy(text: str) -> str:
    """The notification proper, without the pasted copy of the original message."""
    marker = _COPY_MARKER_RE.search(text)
    return text[: marker.start()] if marker else text


def _window(text: str, folded: str, address: str, others: list[str]) -> str:
    """The text about ``address``: from its first mention to the next failed address."""
    start = folded.find(address)
    if start < 0:
        return ""
    end = min(start + 1500, len(text))
    for other in others:
        if other == address:
            continue
        position = folded.find(other, start + len(address))
        if 0 <= position < end:
            end = position
    return text[start:end]


def extract_status(text: str) -> _TextStatus | None:
    """The failure code a notification text gives, with its diagnostic line.

    Prefers a basic+enhanced pair ("550 5.1.1"), then a lone enhanced code, then a basic
    code whose wording suggests the enhanced one (marked ``inferred``).
    """
    match = _SMTP_ENHANCED_RE.search(text)
    candidates = [m for m in (_HASH_ENHANCED_RE.search(text), _ENHANCED_RE.search(text)) if m]
    if match is None and candidates:
        match = min(candidates, key=lambda m: m.start())
    if match is not None:
        status = normalize_status(match.group("enh"))
        return _TextStatus(status, _diagnostic_at(text, match), inferred=False)
    basic = _BASIC_RE.search(text)
    if basic is None:
        return None
    diagnostic = _diagnostic_at(text, basic)
    detail = infer_detail(diagnostic) or "0.0"
    return _TextStatus(f"{basic.group('basic')[0]}.{detail}", diagnostic, inferred=True)


def _diagnostic_at(text: str, match: re.Match[str]) -> str:
    """The reply line holding ``match``, joined with the continuation lines of the reply.

    A match that starts with a basic code is the SMTP reply itself and is quoted from
    there; a lone enhanced code ("... by that name. (#5.1.1)") is quoted with its line.
    """
    line_start = text.rfind("\n", 0, match.start()) + 1
    line_end = text.find("\n", match.start())
    line_end = len(text) if line_end < 0 else line_end
    basic = text[match.start() : match.start() + 3]
    start = match.start() if basic.isdigit() else line_start
    parts = [text[start:line_end].strip()]
    # "552-..." announces another line of the same reply; "552 ..." is its last line.
    more = basic.isdigit() and text[match.start() + 3 : match.start() + 4] == "-"
    for line in text[line_end + 1 :].split("\n")[:10]:
        stripped = line.strip()
        if not more or not stripped.startswith(basic) or stripped[3:4] not in {" ", "-"}:
            break
        parts.append(_CODE_PREFIX_RE.sub("", stripped))
        more = stripped[3:4] == "-"
    diagnostic = " ".join(p for p in parts if p)
    if diagnostic.endswith(")") and diagnostic.count("(") < diagnostic.count(")"):
        diagnostic = diagnostic[:-1]
    return clean_line(diagnostic, max_len=1000)
