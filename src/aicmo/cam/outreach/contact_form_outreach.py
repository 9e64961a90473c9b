"""``ContactFormOutreachService``: find, fill, submit and verify a site's contact form."""

from __future__ import annotations

from typing import Any

from aicmo.cam.domain.messages import ChannelType
from aicmo.cam.outreach import OutreachServiceBase
from aicmo.operator_services.channels.contact_form import inspect_site


class ContactFormOutreachService(OutreachServiceBase):
    """Contact forms: fetched through the SSRF guard, with robots.txt honoured; a form
    behind a CAPTCHA or built only by JavaScript becomes an operator task with the
    reason; success is read from the site's answer and kept as evidence."""

    channel = ChannelType.CONTACT_FORM

    def inspect(self, url: str) -> dict[str, Any]:
        """What a submission to ``url`` would do, without submitting (a dry run)."""
        return inspect_site(url)
