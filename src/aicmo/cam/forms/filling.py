"""Fill a parsed contact form with the sender's details, exactly as a browser would submit it.

Pure: no network, no database, no clock.

The payload is the browser's form data set in tree order: hidden inputs verbatim (CSRF tokens
and plugin bookkeeping are what make a post acceptable), default-checked boxes and default
select choices kept, the first submit button's name/value when it has a name, and honeypots
left at their markup value. A required field the filler cannot name is reported instead of
guessed, and a newsletter opt-in is never ticked: consenting to marketing on someone's behalf
is not ours to do.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from aicmo.cam.forms.markup import words
from aicmo.cam.forms.model import BUTTON_KINDS, FormField, ParsedForm
from aicmo.cam.forms.roles import Role, infer_role

#: Roles a field can be filled with (``select-default`` = left at the browser's default).
ROLES = (
    "first_name", "last_name", "full_name", "email", "phone", "company", "website", "subject",
    "message", "consent", "job_title", "country", "state", "city", "answer", "select-default",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class SenderProfile:
    """Who writes: the person and company named in the form."""

    first_name: str
    last_name: str
    email: str
    phone: str = ""
    company: str = ""
    website: str = ""
    job_title: str = ""
    country: str = ""
    #: Where the sender is, for forms that require it (US and Latin-American sites ask).
    city: str = ""
    state: str = ""

    @property
    def full_name(self) -> str:
        return " ".join(part for part in (self.first_name, self.last_name) if part.strip())


@dataclass(frozen=True, slots=True)
class FillResult:
    """The form data to post and what the filler did (or could not do) to build it.

    ``ok`` means: nothing required is left unmapped, a message and a way back (email or
    phone) are in, and the form has no blocker. ``problems`` also carries notes (a topic
    picked from a select, a truncated message) that are worth showing to the operator.
    """

    payload: tuple[tuple[str, str], ...]
    mapping: dict[str, Role] = field(default_factory=dict)
    unmapped_required: tuple[str, ...] = ()
    ok: bool = False
    problems: tuple[str, ...] = ()


_PLACEHOLDER_OPTION_RE = re.compile(
    r"^(?:-+|please|bitte|select|choose|pick|veuillez|selectionne|seleccion\w*|selezion\w*"
    r"|selecione|kies|maak een keuze|wahlen|auswahlen|choisi\w*|elige|escolha|escoja|scegli"
    r"|none|\W*$)"
)
#: Topic preferences for a cold message, best first.
_TOPIC_PREFERENCES: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "partnership",
        re.compile(
            r"\bpartner\w*|\bcooperation\b|\bkooperation\b|\bzusammenarbeit\b|\bcollaborat\w*"
            r"|\bcolaboracion\b|\bcollaborazione\b|\bsamenwerking\b|\bparceria\b"
            r"|\bbusiness development\b"
        ),
    ),
    (
        "general enquiry",
        re.compile(
            r"\bgeneral\b|\ballgemein\w*|\bgenerale?s?\b|\bgeral\b|\balgeme\w*|\binformation\w*"
            r"|\bgeneric\b"
        ),
    ),
    (
        "other",
        re.compile(
            r"\bother\b|\bsonstig\w*|\banderes\b|\bautres?\b|\botros?\b|\baltro\b|\boutros?\b"
            r"|\boverig\w*|\bmisc\w*"
        ),
    ),
    (
        "sales",
        re.compile(
            r"\bsales\b|\bvertrieb\b|\bbusiness\b|\bcommercial\w*|\bventas\b|\bvendite\b"
            r"|\bvendas\b|\bverkoop\b|\bnew project\b|\bproject\b|\bprojekt\b|\binquiry\b"
            r"|\benquiry\b|\banfrage\b"
        ),
    ),
    ("contact", re.compile(r"\bcontact\b|\bkontakt\b|\bcontacto\b|\bcontatto\b")),
)
#: Salutation options that state no gender; any other choice would be a guess about the sender.
_NEUTRAL_SALUTATION_RE = re.compile(
    r"\bkeine angabe\b|\bprefer not\b|\bnot specified\b|\bno answer\b|\bnon precise\b"
    r"|\bnon specifie\b|\bsin especificar\b|\bnon specificato\b|\bgeen opgave\b"
    r"|\bnao informar\b|\bohne anrede\b|\bnone\b"
)
_COUNTRY_ALIASES: tuple[frozenset[str], ...] = tuple(
    frozenset(group.split("|"))
    for group in (
        "germany|deutschland|de|deu|allemagne|alemania|germania|duitsland|alemanha",
        "united states|united states of america|usa|us|u s a|vereinigte staaten|etats unis"
        "|estados unidos|stati uniti|verenigde staten",
        "united kingdom|uk|gb|gbr|great britain|england|vereinigtes konigreich|royaume uni"
        "|reino unido|regno unito|verenigd koninkrijk",
        "france|fr|fra|frankreich|francia|frankrijk|franca",
        "spain|es|esp|spanien|espana|espagne|spagna|spanje|espanha",
        "italy|it|ita|italien|italia|italie|italie",
        "netherlands|the netherlands|nl|nld|niederlande|nederland|pays bas|paises bajos"
        "|paesi bassi|holland|paises baixos",
        "austria|at|aut|osterreich|autriche|oostenrijk",
        "switzerland|ch|che|schweiz|suisse|svizzera|suiza|zwitserland|suica",
        "belgium|be|bel|belgien|belgique|belgie|belgica|belgio",
        "portugal|pt|prt|portogallo",
        "poland|pl|pol|polen|pologne|polonia",
        "ireland|ie|irl|irland|irlande|irlanda|ierland",
        "canada|ca|can|kanada",
        "australia|au|aus|australien|australie",
    )
)


def _is_placeholder(value: str, label: str) -> bool:
    return not value.strip() or bool(_PLACEHOLDER_OPTION_RE.match(words(label)))


def _real_options(f: FormField) -> list[tuple[str, str]]:
    return [(value, label) for value, label in f.options if not _is_placeholder(value, label)]


def _country_keys(country: str) -> frozenset[str]:
    key = words(country)
    for group in _COUNTRY_ALIASES:
        if key in group:
            return group
    return frozenset({key}) if key else frozenset()


def _pick_country(f: FormField, country: str) -> tuple[str, str] | None:
    keys = _country_keys(country)
    for value, label in _real_options(f):
        if words(label) in keys or words(value) in keys:
            return value, label
    return None


def _pick_named(f: FormField, wanted: str) -> tuple[str, str] | None:
    """The option whose label or value is ``wanted`` ("California" or "CA")."""
    key = words(wanted)
    if not key:
        return None
    for value, label in _real_options(f):
        if key in (words(label), words(value)):
            return value, label
    return None


def _pick_topic(f: FormField) -> tuple[tuple[str, str] | None, str]:
    """The option a cold business message fits best, and how it was chosen."""
    options = _real_options(f)
    for name, pattern in _TOPIC_PREFERENCES:
        for value, label in options:
            if pattern.search(words(label)):
                return (value, label), name
    if options:
        return options[0], "first option"
    return None, ""


def _pick_neutral(f: FormField) -> tuple[str, str] | None:
    for value, label in _real_options(f):
        if _NEUTRAL_SALUTATION_RE.search(words(label)):
            return value, label
    return None


def _assign_roles(fields: tuple[FormField, ...]) -> dict[int, Role]:
    """Roles per field index, with the pairings fixed that one field alone cannot tell.

    "Name" next to "Vorname"/"Prénom" is the family name; "Nombre"/"Nome" next to
    "Apellidos"/"Cognome" is the given name; of several textareas only the one that says
    "message" (else the first) carries the message.
    """
    roles: dict[int, Role] = {}
    for index, f in enumerate(fields):
        if not f.name or f.disabled or f.honeypot or f.kind == "hidden" or f.kind in BUTTON_KINDS:
            continue
        role = infer_role(f)
        if role is not None:
            roles[index] = role
    _title_roles(fields, roles)
    present = set(roles.values())
    if "full_name" in present:
        swap = (
            "last_name"
            if "first_name" in present and "last_name" not in present
            else "first_name"
            if "last_name" in present and "first_name" not in present
            else None
        )
        if swap is not None:
            for index, role in roles.items():
                if role == "full_name":
                    roles[index] = swap
    messages = [i for i, role in roles.items() if role == "message"]
    if len(messages) > 1:
        explicit = [i for i in messages if _says_message(fields[i])]
        keep = explicit[0] if explicit else messages[0]
        for index in messages:
            if index != keep:
                del roles[index]
    return roles


_TITLE_WORDS = frozenset({"title", "titel", "titre", "titulo", "titolo"})


def _title_roles(fields: tuple[FormField, ...], roles: dict[int, Role]) -> None:
    """A text box called only "Title": the message's title when it sits just before the
    message box or the form asks nothing about the sender's work, else the job title."""
    typed = [
        i
        for i, f in enumerate(fields)
        if f.name and not f.honeypot and f.kind not in BUTTON_KINDS and f.kind != "hidden"
    ]
    have = set(roles.values())
    for position, index in enumerate(typed):
        f = fields[index]
        if index in roles or f.kind not in ("text", "search"):
            continue
        if (words(f.label) or words(f.placeholder) or words(f.name)) not in _TITLE_WORDS:
            continue
        following = typed[position + 1] if position + 1 < len(typed) else None
        before_message = following is not None and roles.get(following) == "message"
        if "subject" not in have and (before_message or not have & {"company", "job_title"}):
            roles[index] = "subject"
        elif "job_title" not in have:
            roles[index] = "job_title"
        have.add(roles.get(index, ""))


def _says_message(f: FormField) -> bool:
    return bool(
        re.search(
            r"\bmessage\b|\bnachricht\b|\bmensaje\b|\bbericht\b|\bmessaggio\b|\bmensagem\b",
            words(f"{f.label} {f.placeholder} {f.name}"),
        )
    )


class _Builder:
    """Accumulates the payload, mapping, notes and unmapped required fields."""

    def __init__(self) -> None:
        self.payload: list[tuple[str, str]] = []
        self.mapping: dict[str, Role] = {}
        self.unmapped: list[str] = []
        self.problems: list[str] = []

    def add(self, name: str, value: str) -> None:
        self.payload.append((name, value))

    def unmapped_required(self, f: FormField, why: str = "") -> None:
        description = f.description
        if description not in self.unmapped:
            self.unmapped.append(description)
            self.problems.append(
                f"required field '{description}' not filled" + (f": {why}" if why else "")
            )


def _truncate(f: FormField, value: str, role: Role, out: _Builder) -> str:
    if f.max_length is not None and len(value) > f.max_length:
        out.problems.append(
            f"{role} cut to {f.max_length} characters for '{f.description}' (maxlength)"
        )
        return value[: f.max_length]
    return value


def _role_values(sender: SenderProfile, subject: str, message: str) -> dict[Role, str]:
    return {
        "first_name": sender.first_name.strip(),
        "last_name": sender.last_name.strip(),
        "full_name": sender.full_name.strip(),
        "email": sender.email.strip(),
        "phone": sender.phone.strip(),
        "company": sender.company.strip(),
        "website": sender.website.strip(),
        "job_title": sender.job_title.strip(),
        "country": sender.country.strip(),
        "city": sender.city.strip(),
        "state": sender.state.strip(),
        "subject": subject.strip(),
        "message": message.strip(),
    }


def _fill_text(f: FormField, role: Role | None, values: dict[Role, str], out: _Builder) -> None:
    if f.answer:
        out.add(f.name, f.answer)
        out.mapping[f.name] = "answer"
        out.problems.append(f"note: '{f.description}' answered {f.answer} (a sum)")
        return
    if role is None or role not in values:
        if f.required and not f.value.strip() and not f.readonly:
            out.unmapped_required(f, "the filler cannot tell what it asks for")
        out.add(f.name, f.value)
        return
    value = values[role]
    if role == "phone" and f.kind == "number":
        value = re.sub(r"\D", "", value)
    if not value:
        if f.required and not f.value.strip():
            out.unmapped_required(f, f"the sender has no {role.replace('_', ' ')}")
        out.add(f.name, f.value)
        return
    out.add(f.name, _truncate(f, value, role, out))
    out.mapping[f.name] = role


def _choose(
    f: FormField, role: Role | None, sender: SenderProfile, out: _Builder
) -> tuple[tuple[str, str] | None, Role | None]:
    """The option to submit for a select or radio group, or ``None`` to keep the default."""
    if role == "country":
        picked = _pick_country(f, sender.country)
        if picked is None and sender.country:
            out.problems.append(f"no option of '{f.description}' matches {sender.country!r}")
        return picked, "country" if picked else None
    if role in ("state", "city"):
        wanted = sender.state if role == "state" else sender.city
        picked = _pick_named(f, wanted)
        if picked is None and wanted:
            out.problems.append(f"no option of '{f.description}' matches {wanted!r}")
        return picked, role if picked else None
    if role == "subject":
        picked, how = _pick_topic(f)
        if picked is not None:
            out.problems.append(f"note: '{f.description}' set to {picked[1]!r} ({how})")
        return picked, "subject" if picked else None
    if role == "salutation" and f.required:
        return _pick_neutral(f), "select-default"
    return None, None


def _fill_select(f: FormField, role: Role | None, sender: SenderProfile, out: _Builder) -> None:
    picked, used_role = _choose(f, role, sender, out)
    if picked is not None and used_role is not None:
        out.add(f.name, picked[0])
        out.mapping[f.name] = used_role
        return
    defaults = [v for v in f.selected if not _is_placeholder(v, _option_label(f, v))]
    if f.required and not defaults:
        out.unmapped_required(f, "no option can be chosen without guessing")
    for value in f.selected:
        out.add(f.name, value)
    if defaults:
        out.mapping[f.name] = "select-default"
        if f.required:
            out.problems.append(
                f"note: required '{f.description}' left at its default {defaults[0]!r}"
            )


def _option_label(f: FormField, value: str) -> str:
    return next((label for v, label in f.options if v == value), value)


def _radio_choices(
    fields: tuple[FormField, ...], roles: dict[int, Role], sender: SenderProfile, out: _Builder
) -> dict[str, str | None]:
    """The value each radio group submits (``None``: nothing checked)."""
    chosen: dict[str, str | None] = {}
    for index, f in enumerate(fields):
        if f.kind != "radio" or not f.name or f.name in chosen or f.disabled:
            continue
        group = [g for g in fields if g.kind == "radio" and g.name == f.name and not g.disabled]
        if f.honeypot:
            chosen[f.name] = next((g.value for g in group if g.checked), None)
            continue
        picked, used_role = _choose(f, roles.get(index), sender, out)
        if picked is not None and used_role is not None:
            chosen[f.name] = picked[0]
            out.mapping[f.name] = used_role
            continue
        default = next((g.value for g in reversed(group) if g.checked), None)
        chosen[f.name] = default
        if default is None and any(g.required for g in group):
            out.unmapped_required(
                f if not f.group_label else _as_group(f), "no choice without guessing"
            )
    return chosen


def _as_group(f: FormField) -> FormField:
    return FormField(name=f.name, kind=f.kind, label=f.group_label)


def _checkbox_value(f: FormField, role: Role | None, out: _Builder) -> str | None:
    if f.honeypot:
        return f.value if f.checked else None
    if role == "consent":
        out.mapping[f.name] = "consent"
        return f.value
    if role == "newsletter":
        out.problems.append(f"note: newsletter/marketing opt-in '{f.description}' left unticked")
        return None
    return f.value if f.checked else None


def fill_form(form: ParsedForm, sender: SenderProfile, *, subject: str, message: str) -> FillResult:
    """Build the form data set for ``form`` from the sender profile, subject and message."""
    out = _Builder()
    roles = _assign_roles(form.fields)
    values = _role_values(sender, subject, message)
    radios = _radio_choices(form.fields, roles, sender, out)
    emitted_radio: set[str] = set()
    submitter = form.fields[form.submitter] if form.submitter is not None else None
    checkbox_sent: dict[str, bool] = {}
    if (
        form.builder == "netlify"
        and form.form_name
        and all(f.name != "form-name" for f in form.fields)
    ):
        out.add("form-name", form.form_name)
    for index, f in enumerate(form.fields):
        if not f.name or f.disabled:
            continue
        role = roles.get(index)
        if f.kind in BUTTON_KINDS:
            if f is submitter:
                if f.kind == "image":
                    out.add(f"{f.name}.x", "1")
                    out.add(f"{f.name}.y", "1")
                else:
                    out.add(f.name, f.value)
            continue
        if f.kind == "hidden":
            out.add(f.name, f.value)
        elif f.kind == "file":
            if f.required and not f.honeypot:
                out.unmapped_required(f, "it asks for a file")
            else:
                out.problems.append(f"note: optional file field '{f.description}' left out")
        elif f.kind == "radio":
            if f.name not in emitted_radio and radios.get(f.name) == f.value:
                emitted_radio.add(f.name)
                out.add(f.name, f.value)
        elif f.kind == "checkbox":
            value = _checkbox_value(f, role, out)
            if value is not None:
                out.add(f.name, value)
            checkbox_sent[f.name] = checkbox_sent.get(f.name, False) or value is not None
        elif f.kind == "select":
            if f.honeypot:
                for value in f.selected:
                    out.add(f.name, value)
            else:
                _fill_select(f, role, sender, out)
        elif f.honeypot:
            out.add(f.name, f.value)
        else:
            _fill_text(f, role, values, out)
    for name, sent in checkbox_sent.items():
        group = [f for f in form.fields if f.kind == "checkbox" and f.name == name]
        if not sent and any(f.required and not f.honeypot for f in group):
            first = group[0]
            out.unmapped_required(
                first if not first.group_label or len(group) == 1 else _as_group(first),
                "a checkbox the filler will not tick",
            )
    return _result(form, out, roles)


def _result(form: ParsedForm, out: _Builder, roles: dict[int, Role]) -> FillResult:
    mapped = set(out.mapping.values())
    # A callback or booking form (name and phone only, nowhere to write) takes the
    # sender's number and no text: it is the site's way in, and the person calls back.
    # A form that asks an email but has no message box is no callback form.
    asked = set(roles.values())
    callback = not asked & {"message", "email"} and "phone" in mapped
    if callback:
        out.problems.append(
            "note: the form has no message box (a callback request): the message is not sent"
        )
    elif "message" not in mapped:
        out.problems.append("no message field was filled")
    if not mapped & {"email", "phone"}:
        out.problems.append("no email or phone field was filled: the lead cannot answer")
    if "subject" not in mapped:
        out.problems.append("note: no subject field was filled; the subject is not sent")
    for blocker in form.blockers:
        out.problems.append(f"blocked ({blocker.kind}): {blocker.detail}")
    ok = (
        not out.unmapped
        and ("message" in mapped or callback)
        and bool(mapped & {"email", "phone"})
        and not form.blockers
    )
    return FillResult(
        payload=tuple(out.payload),
        mapping=dict(out.mapping),
        unmapped_required=tuple(out.unmapped),
        ok=ok,
        problems=tuple(out.problems),
    )
