"""The contact-form channel's pure side: find the contact page, read its forms, fill the
contact form, and judge the server's answer.

Pure: no network, no database, no clock. The submitter (HTTP, cookies, redirects) and the
persistence of attempts live elsewhere and call these functions with text they fetched.
Anything this package is unsure about (CAPTCHAs, script-built forms, required fields it
cannot name) is reported as a blocker or a problem so the step becomes an operator task.
"""

from aicmo.cam.forms.analysis import analyze_page, parse_forms
from aicmo.cam.forms.discovery import (
    COMMON_CONTACT_PATHS,
    ContactLink,
    candidate_urls,
    find_contact_links,
)
from aicmo.cam.forms.filling import FillResult, SenderProfile, fill_form
from aicmo.cam.forms.model import (
    Blocker,
    BlockerKind,
    FormField,
    Outcome,
    PageAnalysis,
    ParsedForm,
    Purpose,
    Verdict,
)
from aicmo.cam.forms.roles import infer_role
from aicmo.cam.forms.verdict import judge_response

__all__ = [
    "COMMON_CONTACT_PATHS",
    "Blocker",
    "BlockerKind",
    "ContactLink",
    "FillResult",
    "FormField",
    "Outcome",
    "PageAnalysis",
    "ParsedForm",
    "Purpose",
    "SenderProfile",
    "Verdict",
    "analyze_page",
    "candidate_urls",
    "fill_form",
    "find_contact_links",
    "infer_role",
    "judge_response",
    "parse_forms",
]
