"""What reading a page's forms produces: the fields, forms and blockers, and the kinds of control.

Pure data (frozen dataclasses and literals) shared by every module of :mod:`aicmo.cam.forms`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Purpose = Literal[
    "contact", "newsletter", "search", "login", "signup", "comment", "checkout", "unknown"
]
BlockerKind = Literal[
    "recaptcha",
    "hcaptcha",
    "turnstile",
    "friendly_captcha",
    "captcha",
    "js_only",
    "iframe_embed",
    "unsupported",
]
Method = Literal["GET", "POST"]

URLENCODED = "application/x-www-form-urlencoded"
MULTIPART = "multipart/form-data"
TEXT_PLAIN = "text/plain"

#: Kinds of ``<input>`` a browser knows; anything else is rendered (and submitted) as text.
INPUT_KINDS = frozenset(
    {
        "text", "email", "tel", "url", "number", "date", "datetime-local", "time", "month",
        "week", "color", "range", "search", "password", "hidden", "checkbox", "radio", "file",
        "submit", "image", "reset", "button",
    }
)  # fmt: skip
#: Kinds that take typed text (what a honeypot, a name or an email field looks like).
TEXT_KINDS = frozenset({"text", "email", "tel", "url", "number", "search", "password", "textarea"})
BUTTON_KINDS = frozenset({"submit", "image", "reset", "button"})
CHOICE_KINDS = frozenset({"checkbox", "radio"})


@dataclass(frozen=True, slots=True)
class Blocker:
    """Why the form must not be submitted automatically (the step becomes an operator task)."""

    kind: BlockerKind
    detail: str


@dataclass(frozen=True, slots=True)
class FormField:
    """One form control as a browser sees it (unnamed controls are listed but never sent).

    ``value`` is the markup's default (a textarea's text, a select's default choice);
    ``options`` lists ``(value, label)`` pairs of a select's enabled options, or of a radio
    group for each of its radios; ``selected`` holds what the select submits untouched.
    ``group_label`` is the caption of the wrapper the field sits in (a fieldset legend, a
    Gravity Forms ``gfield_label``), which names sub-fields labelled only "First"/"Last".
    ``answer`` is what a person types into a field that asks a simple sum ("What's 3 + 7?").
    """

    name: str
    kind: str
    required: bool = False
    label: str = ""
    placeholder: str = ""
    id: str = ""
    value: str = ""
    options: tuple[tuple[str, str], ...] = ()
    honeypot: bool = False
    honeypot_reason: str = ""
    checked: bool = False
    disabled: bool = False
    readonly: bool = False
    max_length: int | None = None
    autocomplete: str = ""
    group_label: str = ""
    selected: tuple[str, ...] = ()
    multiple: bool = False
    answer: str = ""

    @property
    def visible(self) -> bool:
        """A control a human can see and type into or tick."""
        return self.kind != "hidden" and self.kind not in BUTTON_KINDS and not self.honeypot

    @property
    def description(self) -> str:
        """Everything that names the field, for messages: label, else placeholder, else name."""
        return self.label or self.group_label or self.placeholder or self.name or self.id


@dataclass(frozen=True, slots=True)
class ParsedForm:
    """A ``<form>`` with its fields in submission order and what it is for.

    ``index`` is the 0-based position on the page (``#index+1`` in :attr:`PageAnalysis.why`).
    ``action`` is absolute, fragment-free, and defaults to the page URL like a browser does.
    ``ajax_url``/``ajax_params`` describe the plugin's own AJAX endpoint when it has one
    (Contact Form 7 REST, Elementor/WPForms ``admin-ajax.php``): POST the payload plus
    ``ajax_params`` there as multipart; :mod:`aicmo.cam.forms.verdict` reads the JSON answer.
    ``submitter`` indexes the button a person would press (sent with the data when named).
    """

    index: int
    action: str
    method: Method
    enctype: str
    fields: tuple[FormField, ...]
    purpose: Purpose = "unknown"
    score: int = 0
    reasons: tuple[str, ...] = ()
    blockers: tuple[Blocker, ...] = ()
    form_id: str = ""
    form_name: str = ""
    builder: str = "generic"
    ajax_url: str = ""
    ajax_params: tuple[tuple[str, str], ...] = ()
    page_url: str = ""
    submitter: int | None = None

    @property
    def number(self) -> int:
        """1-based position, as written in explanations."""
        return self.index + 1


@dataclass(frozen=True, slots=True)
class PageAnalysis:
    """All forms of a page, the contact form picked (if any) and why."""

    page_url: str
    forms: tuple[ParsedForm, ...]
    chosen: ParsedForm | None
    why: str
    page_blockers: tuple[Blocker, ...] = ()

    @property
    def submittable(self) -> bool:
        """A contact form was found and nothing forbids submitting it automatically."""
        return self.chosen is not None and not self.chosen.blockers and not self.page_blockers


#: What a submission's answer says (see :mod:`aicmo.cam.forms.verdict`).
Outcome = Literal["success", "failure", "unknown"]


@dataclass(frozen=True, slots=True)
class Verdict:
    """What the answer says about the submission, with the evidence to store.

    ``signal`` names the decisive signal (``cf7_json``, ``redirect``, ``phrase``, …) for logs
    and statistics; ``messages`` are the validation errors the site echoed back.
    """

    outcome: Outcome
    reason: str
    messages: tuple[str, ...] = ()
    evidence_snippet: str = ""
    signal: str = ""
    retryable: bool = False
