"""The lead's fields: one table, from which every list of them derives. Pure: data only.

Each field says what it is (:class:`Kind`, which picks its normaliser in
:mod:`aicmo.cam.domain.leads`) and where it is used (:class:`Use`): the CSV import and its
header spellings, the API's edits, the CSV export, templates, the lead's dict. The table's
order is the order of the export's columns and of every list shown to a person. A new
field is its column on ``LeadDB``, a migration and one entry here.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Flag, StrEnum, auto


class Kind(StrEnum):
    """What a field holds, and so how a value for it is checked."""

    #: Set by the database (``id``, ``workspace_id``).
    ID = "id"
    #: One line of text, trimmed; control characters refused.
    TEXT = "text"
    #: An email address; identifies the lead, its dedupe key goes to ``key``.
    EMAIL = "email"
    #: A LinkedIn profile URL; identifies the lead, its dedupe key goes to ``key``.
    LINKEDIN = "linkedin"
    #: A dedupe key, derived from an identity field.
    KEY = "key"
    #: A web address (https added when missing).
    URL = "url"
    #: A whole number of people (``51-200`` reads as 51).
    COUNT = "count"
    #: An amount of money.
    MONEY = "money"
    #: An IANA time zone name.
    TIMEZONE = "timezone"
    #: A pipeline stage (our names or the usual CRM words).
    STAGE = "stage"
    #: The custom fields, a mapping of name to value.
    CUSTOM = "custom"
    #: Tags, kept in ``lead_tags`` (not a column of leads).
    TAGS = "tags"
    #: A note, kept in ``lead_notes`` (not a column of leads).
    NOTE = "note"
    #: A whole name, split into first and last name (not a column of leads).
    FULL_NAME = "full_name"
    #: Set by grading.
    GRADE = "grade"
    #: A time the system stamps.
    STAMP = "stamp"


#: Kinds that are not a column of ``leads``.
NOT_COLUMNS = frozenset({Kind.TAGS, Kind.NOTE, Kind.FULL_NAME})


class Use(Flag):
    """Where a field is used."""

    NONE = 0
    #: The CSV import fills it (from a column, or derived from one).
    IMPORT = auto()
    #: A person or the API may set it directly.
    EDIT = auto()
    #: A column of the CSV export and of ``lead show``.
    EXPORT = auto()
    #: Templates see it, as ``lead.<name>`` and as a top-level name.
    TEMPLATE = auto()
    #: A key of the lead's dict (the API, the GDPR export, what templates are given).
    RECORD = auto()


@dataclass(frozen=True)
class LeadField:
    name: str
    kind: Kind
    uses: Use = Use.NONE
    #: Header spellings the import maps to this field, after header normalisation
    #: (lower case, punctuation as spaces); on a clash the field listed first wins.
    headers: tuple[str, ...] = ()
    #: The column that holds the dedupe key of an identity field.
    key: str | None = None
    #: The name templates use, when it is not ``name``.
    template_name: str | None = None

    @property
    def is_column(self) -> bool:
        return self.kind not in NOT_COLUMNS


_IN = Use.IMPORT
_ED = Use.EDIT
_EX = Use.EXPORT
_TP = Use.TEMPLATE
_RE = Use.RECORD
_ALL = _IN | _ED | _EX | _TP | _RE

# The table, in the order of the export's columns. Header spellings are those seen in
# Apollo, LinkedIn Sales Navigator tools, HubSpot, Salesforce, lemlist and hand-made sheets.
# fmt: off
FIELDS: tuple[LeadField, ...] = (
    LeadField("id", Kind.ID, _EX | _TP | _RE),
    LeadField("workspace_id", Kind.ID, _RE),
    LeadField("email", Kind.EMAIL, _ALL, key="email_key", headers=(
        "email", "e mail", "email address", "e mail address", "primary email", "work email",
        "business email", "contact email", "email 1", "emails", "professional email",
        "personal email")),
    LeadField("email_key", Kind.KEY, _IN),
    LeadField("first_name", Kind.TEXT, _ALL, headers=(
        "first name", "firstname", "first", "given name", "forename", "prenom")),
    LeadField("last_name", Kind.TEXT, _ALL, headers=(
        "last name", "lastname", "last", "surname", "family name", "nom")),
    LeadField("full_name", Kind.FULL_NAME, _IN, headers=(
        "name", "full name", "fullname", "contact name", "person name", "contact")),
    LeadField("company", Kind.TEXT, _ALL, headers=(
        "company", "company name", "organization", "organisation", "organization name",
        "account name", "account", "employer", "company name for emails")),
    LeadField("title", Kind.TEXT, _ALL, headers=(
        "title", "job title", "jobtitle", "position", "role", "job role", "occupation")),
    LeadField("seniority", Kind.TEXT, _ALL, headers=(
        "seniority", "seniority level", "management level")),
    LeadField("industry", Kind.TEXT, _ALL, headers=("industry", "company industry", "sector")),
    LeadField("company_size", Kind.COUNT, _ALL, headers=(
        "employees", "number of employees", "company size", "employee count", "headcount",
        "num employees", "company headcount", "size", "estimated num employees",
        "employee range", "no of employees")),
    LeadField("linkedin_url", Kind.LINKEDIN, _ALL, key="linkedin_key", headers=(
        "person linkedin url", "linkedin url", "linkedin", "linkedin profile",
        "linkedin profile url", "profile url", "linkedin link", "linkedinurl", "li url",
        "public profile url", "linkedin public url")),
    LeadField("linkedin_key", Kind.KEY, _IN),
    LeadField("linkedin_id", Kind.TEXT, _ED | _RE),
    LeadField("website", Kind.URL, _ALL, headers=(
        "website", "company website", "website url", "company url", "domain", "company domain",
        "web", "url", "homepage")),
    LeadField("form_url", Kind.URL, _ALL, headers=(
        "contact form url", "form url", "contact form", "contact url", "contact page",
        "contact page url")),
    LeadField("phone", Kind.TEXT, _ALL, headers=(
        "phone", "phone number", "mobile phone", "work phone", "direct phone", "mobile",
        "corporate phone", "telephone", "work direct phone", "mobile number")),
    LeadField("country", Kind.TEXT, _ALL, headers=(
        "country", "country region", "country/region", "person country")),
    LeadField("timezone", Kind.TIMEZONE, _ALL, headers=("timezone", "time zone", "tz")),
    LeadField("stage", Kind.STAGE, _ALL, headers=(
        "stage", "lead stage", "lead status", "lifecycle stage", "status", "pipeline stage")),
    LeadField("grade", Kind.GRADE, _EX | _TP | _RE),
    LeadField("score", Kind.GRADE, _EX | _TP | _RE),
    LeadField("grade_reasons", Kind.GRADE, _RE),
    LeadField("graded_at", Kind.GRADE, _RE),
    LeadField("tags", Kind.TAGS, _IN | _EX | _TP | _RE, headers=(
        "tags", "tag", "labels", "label", "lists")),
    LeadField("notes", Kind.NOTE, _IN, headers=(
        "notes", "note", "comments", "comment", "description")),
    LeadField("owner", Kind.TEXT, _IN | _ED | _EX | _RE, headers=(
        "owner", "contact owner", "lead owner", "account owner", "assigned to")),
    LeadField("source", Kind.TEXT, _IN | _ED | _EX | _RE, headers=(
        "source", "lead source", "original source", "original source type")),
    LeadField("custom_fields", Kind.CUSTOM, _IN | _ED | _TP | _RE, template_name="custom"),
    LeadField("deal_value", Kind.MONEY, _IN | _ED | _EX | _RE, headers=(
        "deal value", "deal amount", "amount", "value", "annual revenue of deal")),
    LeadField("created_at", Kind.STAMP, _EX | _RE),
    LeadField("updated_at", Kind.STAMP, _EX | _RE),
)
# fmt: on

BY_NAME: dict[str, LeadField] = {f.name: f for f in FIELDS}


def _names(use: Use) -> tuple[str, ...]:
    return tuple(f.name for f in FIELDS if use in f.uses)


#: The columns of ``leads``.
COLUMNS: tuple[str, ...] = tuple(f.name for f in FIELDS if f.is_column)
#: Fields a column of an import file can map to (``full_name`` is split in two).
IMPORT_FIELDS: tuple[str, ...] = tuple(f.name for f in FIELDS if f.headers)
#: Columns an import fills from a file: the others are left as they are.
IMPORTED_COLUMNS: tuple[str, ...] = tuple(n for n in _names(Use.IMPORT) if BY_NAME[n].is_column)
#: Columns grading sets.
GRADE_COLUMNS: tuple[str, ...] = tuple(f.name for f in FIELDS if f.kind is Kind.GRADE)
#: Fields a person or the API may set directly.
EDITABLE_FIELDS: tuple[str, ...] = _names(Use.EDIT)
#: Columns of a CSV export, in order; custom fields follow as ``custom:NAME``.
EXPORT_COLUMNS: tuple[str, ...] = _names(Use.EXPORT)
#: The keys of the lead's dict, in order; all but ``tags`` are columns of leads.
RECORD_KEYS: tuple[str, ...] = _names(Use.RECORD)
#: The names templates see the lead's fields by.
TEMPLATE_FIELDS: frozenset[str] = frozenset(
    f.template_name or f.name for f in FIELDS if Use.TEMPLATE in f.uses
)
