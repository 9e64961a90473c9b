"""What a form field is for (its role: email, name, message …) and whether it is a bot trap.

Pure. Roles come from the field's autocomplete token, type, name, id, label and
placeholder, voted by weight; the filler relies on them to put each sender detail in the
right box. A honeypot is a field a human would not see or fill: named or classed as one,
hidden by CSS or ``aria-hidden``, unreachable by keyboard, or labelled "leave empty".
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from bs4.element import Tag

from aicmo.cam.forms.markup import NON_WORD_RE, PageStyles, attr, control_groups, fold, words
from aicmo.cam.forms.model import BUTTON_KINDS, CHOICE_KINDS, TEXT_KINDS, FormField

Role = str

_ROLE_PATTERNS: tuple[tuple[Role, re.Pattern[str]], ...] = tuple(
    (role, re.compile(pattern))
    for role, pattern in (
        (
            "full_name",
            r"\bfull ?name\b|\bfullname\b|\b(?:first|given) (?:name )?(?:and|und|or) "
            r"(?:last|family|sur) ?name\b|\bvor (?:und )?(?:nach|zu) ?name\b"
            r"|\bname (?:und )?vorname\b"
            r"|\bvorname (?:und )?(?:nach)?name\b|\bnome e cognome\b|\bnombre y apellidos?\b"
            r"|\bnom (?:et )?prenom\b|\bprenom (?:et )?nom\b|\bnome completo\b|\bnombre completo\b"
            r"|\bnom complet\b|\bvoor en achternaam\b|\bvolledige naam\b|\bvollstandiger name\b"
            r"|\bcontact person\b|\bansprechpartner(?:in)?\b|\bpersona de contacto\b",
        ),
        (
            "email",
            r"\be ?mail\b|\bemail ?address\b|\bemailadres\b|\bmail\b|\bcourriel\b|\bcorreo\b"
            r"|\be ?mail ?adresse\b|\bmailadres\b|\bepost\b",
        ),
        (
            "phone",
            r"\bphone\b|\bphone ?number\b|\btelephone\b|\btel\b|\btelefon\w*|\btelefono\b"
            r"|\btelefoon\w*|\bmobile\b|\bmobil\w*|\bcell\b|\bcellphone\b|\bcellulare\b|\bhandy\b"
            r"|\bportable\b|\bcelular\b|\bmovil\b|\bgsm\b|\bfone\b|\brufnummer\b|\bwhatsapp\b",
        ),
        (
            "website",
            r"\bwebsite\b|\bweb ?site\b|\burl\b|\bhomepage\b|\bsite web\b|\bsitio web\b"
            r"|\bweb ?seite\b|\binternet ?seite\b|\binternetadresse\b|\bsito(?: web| internet)?\b"
            r"|\bwebadres\b|\bsite\b|\bdomain\b|\bwww\b",
        ),
        (
            "company",
            r"\bcompany\b|\bcompanyname\b|\bfirma\b|\bfirmenname\b|\bunternehmen\b|\bsociete\b"
            r"|\bentreprise\b|\bempresa\b|\bbedrijf\w*|\bazienda\b|\borgani[sz]ation\b"
            r"|\borganisatie\b|\borganizzazione\b|\borganizacion\b|\borganizacao\b|\bbusiness\b"
            r"|\bditta\b|\braison sociale\b|\bemployer\b|\binstitution\b|\bagency\b|\bagentur\b",
        ),
        (
            "job_title",
            r"\bjob ?title\b|\bjobtitle\b|\bposition\b|\bjob\b|\bfunktion\b|\bberuf\b"
            r"|\bfonction\b|\bposte\b|\bcargo\b|\bpuesto\b|\bfunctie\b|\bruolo\b|\bmansione\b",
        ),
        (
            "first_name",
            r"\bfirst ?name\b|\bfirstname\b|\bfirst\b|\bfname\b|\bgiven ?name\b|\bforename\b"
            r"|\bvorname\b|\bprenom\b|\bvoornaam\b|\bprimeiro nome\b",
        ),
        (
            "last_name",
            r"\blast ?name\b|\blastname\b|\blast\b|\blname\b|\bsurname\b|\bfamily ?name\b"
            r"|\bnachname\b|\bfamilienname\b|\bzuname\b|\bnom de famille\b|\bapellidos?\b"
            r"|\bachternaam\b|\bcognome\b|\bsobrenome\b|\bapelido\b",
        ),
        ("country", r"\bcountry\b|\bland\b|\bpays\b|\bpais\b|\bpaese\b|\bnazione\b"),
        (
            "state",
            r"\bstate\b|\bprovince\b|\bregion\b|\bcounty\b|\bbundesland\b|\bprovincia\b"
            r"|\bestado\b|\bregione\b|\bprovincie\b|\bkanton\b|\bcanton\b|\bdepartement\b",
        ),
        (
            "city",
            r"\bcity\b|\btown\b|\bstadt\b|\bort\b|\bwohnort\b|\bville\b|\bciudad\b"
            r"|\blocalidad\b|\bpoblacion\b|\bcitta\b|\bcomune\b|\bcidade\b|\bplaats\b"
            r"|\bwoonplaats\b|\blocality\b|\bsuburb\b",
        ),
        (
            "subject",
            r"\bsubject\b|\bbetreff\b|\bobjet\b|\basunto\b|\bonderwerp\b|\boggetto\b"
            r"|\bassunto\b|\btopic\b|\bregarding\b|\bthema\b|\bsujet\b|\bmotivo\b|\breason\b"
            r"|\bconcerning\b|\b(?:inquiry|enquiry|request) type\b"
            r"|\bargomento\b|\btema\b|\bbetreft\b",
        ),
        (
            "message",
            r"\bmessage\b|\bnachricht\b|\bmensaje\b|\bbericht\b|\bmessaggio\b|\bmensagem\b"
            r"|\bcomments?\b|\bkommentar\b|\bcommentaire\b|\bcomentarios?\b|\bcommento\b"
            r"|\bopmerking\w*|\binquiry\b|\benquiry\b|\banfrage\b|\banliegen\b|\bdemande\b"
            r"|\bconsulta\b|\brichiesta\b|\bquestion\b|\bfrage\b|\bmitteilung\b|\bvraag\b"
            r"|\bdescription\b|\bbeschreibung\b|\bpergunta\b|\bduvida\b|\bmsg\b|\byour request\b"
            r"|\bhow can we help\b|\bwie konnen wir (?:ihnen )?helfen\b",
        ),
        (
            "full_name",
            r"\bname\b|\bnames\b|\bnaam\b|\bnom\b|\bnombre\b|\bnome\b|\bnamn\b|\bnavn\b"
            r"|\bimie\b|\bcontact name\b",
        ),
    )
)
_NEWSLETTER_RE = re.compile(
    r"\bnewsletters?\b|\bsubscribe\b|\bsubscription\b|\bmarketing\b|\bnews\b|\bupdates\b"
    r"|\boffers\b|\bpromotion\w*|\bpromo\b|\bmailing\b|\bcommunications\b|\babonn\w*"
    r"|\binscri\w*|\bsuscrib\w*|\biscriv\w*|\biscrizione\b|\bnieuwsbrief\b|\baanmelden\b"
    r"|\bwerbung\b|\bwerbe\w*|\bangebote\b|\bneuigkeiten\b|\binformiert\b|\bboletin\b"
    r"|\bpublicidad\b|\bofertas\b|\bnovidades\b|\bkeep me (?:updated|informed|posted)\b"
    r"|\bopt ?in\b"
    r"|\bsign me up\b|\bcommerciales?\b|\bcommerciali\b|\bprospection\b"
)
_CONSENT_RE = re.compile(
    r"\bprivacy\b|\bdatenschutz\w*|\bdsgvo\b|\bgdpr\b|\brgpd\b|\blgpd\b|\bavg\b|\bconsent\w*"
    r"|\beinwillig\w*|\bzustimm\w*|\bstimme\b|\bakzeptier\w*|\bagree\w*|\baccept\w*"
    r"|\bacept\w*|\baccett\w*|\bakkoord\b|\bterms\b|\bconditions\b|\bagb\b"
    r"|\bconfidentialite\b|\bprivacidad\b|\bproteccion de datos\b|\bprotezione dei dati\b"
    r"|\binformativa\b|\bprivacidade\b|\bconcordo\b|\baceito\b|\bautorizo\b|\bconsentimento\b"
    r"|\btoestemming\b|\bprivacyverklaring\b|\bprivacybeleid\b|\bdonnees personnelles\b"
    r"|\bpersonal data\b|\bpersonenbezogen\w*|\bkenntnis\b|\bgelezen\b|\bi have read\b"
    r"|\bj ai lu\b|\bhe leido\b|\bho letto\b|\bdatos personales\b|\bdati personali\b"
    r"|\bdados pessoais\b|\bpersoonsgegevens\b"
)
_SALUTATION_RE = re.compile(
    r"\bsalutation\b|\banrede\b|\bcivilite\b|\btratamiento\b|\baanhef\b|\bgender\b"
    r"|\bgeschlecht\b|\btitle\b|\btitel\b|\bsexo\b|\bgenere\b"
)
_SELECT_SUBJECT_RE = re.compile(
    r"\binterest\w*|\bdepartment\b|\babteilung\b|\bservices?\b|\bcategor\w*|\bkategorie\b"
    r"|\btype\b|\bart der\b|\bhelp\b|\bhelfen\b|\baider\b|\bayudar\w*|\baiutar\w*|\bajudar\b"
    r"|\bhelpen\b"
)
_ROLE_PRIORITY = {role: index for index, (role, _) in enumerate(_ROLE_PATTERNS)}
_AUTOCOMPLETE_ROLES = {
    "given-name": "first_name",
    "family-name": "last_name",
    "name": "full_name",
    "email": "email",
    "tel": "phone",
    "tel-national": "phone",
    "tel-local": "phone",
    "mobile": "phone",
    "organization": "company",
    "url": "website",
    "organization-title": "job_title",
    "country": "country",
    "country-name": "country",
    "address-level1": "state",
    "address-level2": "city",
}
_KIND_ROLES = {"email": "email", "tel": "phone", "url": "website"}


def _text_role(text: str) -> Role | None:
    """The most specific role a single text names ("Company name" → company, not a name)."""
    if not text:
        return None
    for role, pattern in _ROLE_PATTERNS:
        if pattern.search(text):
            return role
    return None


def _sources(f: FormField) -> list[tuple[str, int]]:
    """What names a field, with how much each source is trusted."""
    return [
        (words(f.label), 3),
        (words(f.placeholder), 2),
        (words(f.name), 2),
        (words(f.id), 1),
        (words(f.group_label), 1),
    ]


def infer_role(f: FormField) -> Role | None:
    """The sender attribute a field asks for, from its type, autocomplete, label, name, id.

    Each naming source votes for its most specific role, weighted by trust (a visible label
    beats a generated ``id``); the input type and ``autocomplete`` are decisive when set.
    Checkboxes answer ``consent``/``newsletter``; selects and radios ``country``/``subject``/
    ``salutation``; a textarea is always the message (the filler keeps one if there are more).
    """
    texts = _sources(f)
    joined = " ".join(text for text, _ in texts)
    if f.kind == "checkbox":
        if _NEWSLETTER_RE.search(joined):
            return "newsletter"
        return "consent" if _CONSENT_RE.search(joined) else None
    if f.kind in ("select", "radio"):
        role = _vote(texts)
        if role == "country" or _looks_like_country_list(f.options):
            return "country"
        if role in ("state", "city"):
            return role
        if role in ("subject", "message") or _SELECT_SUBJECT_RE.search(joined):
            return "subject"
        if _SALUTATION_RE.search(joined):
            return "salutation"
        return None
    if f.kind not in TEXT_KINDS or f.kind in ("password", "search"):
        return None
    for token in f.autocomplete.lower().split():
        if token in _AUTOCOMPLETE_ROLES:
            return _AUTOCOMPLETE_ROLES[token]
    if f.kind in _KIND_ROLES:
        return _KIND_ROLES[f.kind]
    if f.kind == "textarea":  # the one free-text box; several of them are sorted out later
        return "message"
    return _vote(texts)


def _vote(texts: Iterable[tuple[str, int]]) -> Role | None:
    votes: dict[Role, int] = {}
    for text, weight in texts:
        role = _text_role(text)
        if role is not None:
            votes[role] = votes.get(role, 0) + weight
    if not votes:
        return None
    return max(votes, key=lambda role: (votes[role], -_ROLE_PRIORITY[role]))


_COUNTRY_NAMES = frozenset(
    {"germany", "deutschland", "france", "spain", "espana", "italy", "italia", "netherlands",
     "united states", "united kingdom", "austria", "osterreich", "switzerland", "schweiz",
     "belgium", "belgique", "portugal", "canada", "australia", "brazil", "brasil", "mexico"}
)  # fmt: skip


def _looks_like_country_list(options: tuple[tuple[str, str], ...]) -> bool:
    if len(options) < 20:
        return False
    labels = {fold(label) for _, label in options}
    return len(labels & _COUNTRY_NAMES) >= 3


#: The builders' own honeypot markers (names, ids, classes), so a trap is known even where
#: the CSS that hides it arrives later by script (Formidable injects its rule with JS):
#: Gravity Forms ``gform_validation_container``/``gfield--type-honeypot``, WPForms
#: ``wpforms-field-hp``/``wpforms[hp]``, Formidable ``frm_verify`` (and its random
#: ``frm__<hex>`` class), Fluent Forms ``item__N__fluent_checkme_``, Akismet (Contact Form
#: 7, Jetpack, Gravity Forms) ``ak_hp_textarea``, Ninja Forms ``nf-field-hp``, Elementor
#: ``elementor-field-type-honeypot``, CF7 Honeypot ``honeypot-NNN``/``hp-message``,
#: Formspree ``_gotcha``, FormSubmit ``_honey``, Netlify ``bot-field``. An ``hp`` token
#: (``nf-field-hp``, ``wpforms[hp]``) counts as a marker too.
_HONEYPOT_SUBSTRINGS = (
    "honeypot", "ohnohoney", "gform_validation_container", "wpforms-field-hp", "akismet",
    "ak_hp", "_gotcha", "_honey", "field_hp", "hp-message", "hpinput", "frm_verify",
    "fluent_checkme", "bot-field", "bot_field",
)  # fmt: skip
_HONEYPOT_CLASS_RE = re.compile(r"(?:^|\s)frm__[0-9a-f]{6,}(?:\s|$)")
_HONEYPOT_TOKENS = frozenset({"hp", "hpt", "hpot", "botcheck", "nospam"})
_HONEYPOT_NAMES = frozenset({"bot-field", "bot_field", "botfield", "botcheck", "_gotcha", "_honey"})
#: "Leave this field empty" in the languages the filler writes in (en, de, fr, es, it, pt,
#: nl), matched on folded words ("Si eres humano, deja este campo en blanco").
_HONEYPOT_LABEL_RE = re.compile(
    r"\bleave (?:this |the |it )?(?:field |box |input )?(?:blank|empty|unchanged)"
    r"|\b(?:do not|don ?t|dont) (?:fill|complete this|enter anything|type anything)"
    r"|\bif you (?:are|re) (?:a )?human\b|\bshould be left (?:unchanged|empty|blank)"
    r"|\bleft unchanged\b|\bmust be (?:left )?empty\b"
    r"|\bnicht ausfullen\b|\bleer (?:lassen|bleiben)\b|\bfrei lassen\b|\bnicht befullen\b"
    r"|\blaiss(?:er|ez) (?:ce champ |le champ |ceci )?(?:vide|en blanc)\b|\bne (?:pas )?rempli"
    r"|\bne remplissez pas\b|\bsi vous etes (?:un )?humain"
    r"|\bdeja(?:r|d|lo)? (?:este campo |el campo |esto )?(?:en blanco|vacio)\b"
    r"|\bno (?:rellenar|rellene|rellenes|completar)\b|\bsi (?:eres|es|usted es) humano"
    r"|\blascia(?:re|te)? (?:questo campo |il campo )?(?:vuoto|in bianco)\b"
    r"|\bnon (?:compilare|riempire)\b|\bse sei (?:un )?(?:essere )?umano"
    r"|\bdeix(?:e|ar|a) (?:este campo |o campo |isto )?(?:em branco|vazio)\b"
    r"|\bnao (?:preencher|preencha)\b|\bse (?:voce )?(?:e|for) humano"
    r"|\bleeg laten\b|\blaat (?:dit veld |het veld )?leeg\b|\bniet invullen\b"
    r"|\bals je een mens bent\b|\bwenn sie (?:ein )?mensch sind\b"
)
#: "Leave blank if you do not want to change it" is a hint, not a trap: a condition in the
#: label that is not about being human keeps the field fillable.
_CONDITION_RE = re.compile(r"\b(?:if|unless|si|wenn|falls|als|indien|sofern)\b")
_HUMAN_RE = re.compile(r"\b(?:human|humain|humano|umano|mensch|mens|robot|bot|spam)\b")
_OFF_AUTOCOMPLETE = frozenset({"off", "nope", "new-password", "false", "no"})


def _token_hint(values: Iterable[str]) -> str:
    for value in values:
        low = value.lower()
        if _HONEYPOT_CLASS_RE.search(low):
            return "frm__ (Formidable's honeypot class)"
        hit = next((s for s in _HONEYPOT_SUBSTRINGS if s in low), "")
        if hit:
            return hit
        tokens = set(NON_WORD_RE.split(low))
        token = next(iter(tokens & _HONEYPOT_TOKENS), "")
        if token:
            return token
    return ""


def trap_reason(
    control: Tag,
    kind: str,
    label: str,
    ancestors: list[Tag],
    styles: PageStyles,
    trap_names: set[str],
) -> str:
    """Why a control is a trap for bots ("" when a human would see and fill it)."""
    if kind == "hidden" or kind in BUTTON_KINDS:
        return ""
    name = attr(control, "name")
    if name in trap_names:
        return f"named by the form's netlify-honeypot attribute ({name})"
    if name.lower() in _HONEYPOT_NAMES:
        return f"honeypot field name '{name}'"
    own_hint = _token_hint((name, attr(control, "id"), attr(control, "class")))
    if own_hint:
        return f"honeypot hint '{own_hint}' in the field's name/id/class"
    for parent in ancestors[:3]:
        if control_groups(parent) > 2:
            break
        hint = _token_hint((attr(parent, "id"), attr(parent, "class")))
        if hint:
            return f"honeypot hint '{hint}' on its wrapper"
    if kind in CHOICE_KINDS:  # custom-styled checkboxes are routinely hidden behind labels
        return ""
    hidden = styles.hidden_by(control)
    if hidden:
        return f"hidden from humans: {hidden}"
    if attr(control, "aria-hidden").lower() == "true":
        return "hidden from humans: aria-hidden=true"
    for parent in ancestors:
        hidden = styles.hidden_by(parent)
        if not hidden and attr(parent, "aria-hidden").lower() == "true":
            hidden = "aria-hidden=true"
        if hidden:
            if control_groups(parent) > 2:  # a hidden step or conditional section, no trap
                return ""
            return f"hidden from humans: wrapper <{parent.name}> {hidden}"
    if attr(control, "tabindex").strip() == "-1" and (
        attr(control, "autocomplete").strip().lower() in _OFF_AUTOCOMPLETE
    ):
        return "tabindex=-1 with autocomplete off (unreachable by keyboard)"
    said = words(label)
    if _HONEYPOT_LABEL_RE.search(said) and (
        _HUMAN_RE.search(said) or not _CONDITION_RE.search(said)
    ):
        return f"its label asks humans to leave it empty ('{label[:60]}')"
    return ""
