"""The contact-form channel: find the form on the lead's site, fill it, submit, verify.

Every request goes through :class:`aicmo.transports.safe_http.SafeHttpClient` (SSRF
guard, robots.txt, size caps). What a robot must not do becomes an operator task with
the reason: a CAPTCHA, a form only JavaScript builds, a required field it cannot fill
honestly. A submission is judged from the response (the plugin's JSON answer, a
thank-you redirect, success text, or validation errors echoed back) and the evidence is
kept on the attempt. The SENDING attempt is committed before the POST (invariant 1);
a connection lost after the request went out leaves the outcome UNKNOWN, never resent.
One submission per site per campaign, and a gap between two submissions to one site.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from aicmo.cam.db_models import LeadDB, OutreachMessageDB
from aicmo.cam.domain.channels import get_spec
from aicmo.cam.domain.events import EventType
from aicmo.cam.domain.messages import ChannelType, MessageStatus
from aicmo.cam.forms import analysis as A
from aicmo.cam.forms import discovery as D
from aicmo.cam.forms import filling as F
from aicmo.cam.forms import verdict as V
from aicmo.config import Settings, get_settings
from aicmo.errors import AicmoError, PermanentChannelError, RateLimitedError
from aicmo.operator_services.channels.base import (
    AttemptRequest,
    AttemptResult,
    Channel,
    Receipt,
)
from aicmo.operator_services.channels.limits import COUNTED
from aicmo.transports import safe_http as H

#: Pages fetched at most while looking for the contact form on one site.
MAX_PAGES = 6

ClientFactory = Callable[[Settings], H.SafeHttpClient]


def default_client(settings: Settings) -> H.SafeHttpClient:
    return H.SafeHttpClient(allow_loopback=settings.allow_loopback)


#: Swapped by tests and the demo (e.g. a client with an injected resolver).
client_factory: ClientFactory = default_client


@dataclass(frozen=True, slots=True)
class FoundForm:
    page_url: str
    form: A.ParsedForm | None
    blockers: tuple[A.Blocker, ...]
    why: str
    looked_at: tuple[str, ...]


def site_of(url: str) -> str:
    """The site a URL belongs to, for the one-per-site rules (``www.`` dropped; a port
    other than the scheme's default is part of the site)."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, ValueError):
        return ""  # not a web address: the caller says so
    host = (parsed.host or "").lower().rstrip(".").removeprefix("www.")
    return f"{host}:{parsed.port}" if host and parsed.port else host


def target_url(lead: LeadDB) -> str | None:
    raw = (lead.form_url or lead.website or "").strip()
    if not raw:
        return None
    if "://" not in raw:
        raw = f"https://{raw}"
    return raw


def sender_profile(settings: Settings) -> F.SenderProfile:
    first, _, last = settings.sender_name.strip().partition(" ")
    return F.SenderProfile(
        first_name=first,
        last_name=last.strip(),
        email=settings.sender_email,
        phone=settings.sender_phone,
        company=settings.sender_company,
        website=settings.sender_website,
        job_title=settings.sender_title,
        country=settings.sender_country,
        city=settings.sender_city,
        state=settings.sender_state,
    )


Decision = Literal["submit", "task", "no_form", "refuse"]


@dataclass(frozen=True, slots=True)
class Plan:
    """What the channel does with the form it found, decided the same way for the dry run
    (:func:`inspect_site`, ``aicmo form check``) and the real send, so the two never
    disagree: ``submit`` (``target``/``method``/``enctype`` and the filled payload),
    ``task`` (a person must do it), ``no_form`` or ``refuse`` (with the error)."""

    decision: Decision
    reason: str
    found: FoundForm
    filled: F.FillResult | None = None
    target: str = ""
    method: str = ""
    enctype: str = ""


def plan_submission(
    client: H.SafeHttpClient,
    found: FoundForm,
    sender: F.SenderProfile,
    *,
    subject: str,
    message: str,
) -> Plan:
    """Fill the form and check where it would go: everything that can refuse a submission
    is asked here, before any attempt is written. A plugin with its own endpoint (Contact
    Form 7 REST, admin-ajax) is posted there as multipart, as its script would."""
    if found.form is None and not found.blockers:
        return Plan("no_form", f"permanent: no contact form found ({found.why})", found)
    if found.blockers or found.form is None:
        reason = "; ".join(f"{b.kind}: {b.detail}" for b in found.blockers)
        return Plan("task", f"a robot must not submit this form ({reason})", found)
    form = found.form
    filled = F.fill_form(form, sender, subject=subject, message=message)
    if not filled.ok:
        missing = "; ".join(
            p.removeprefix("required field ") for p in filled.problems if p.startswith("required")
        ) or "; ".join(filled.problems)
        return Plan("task", f"fields it cannot fill honestly: {missing}", found, filled)
    target = form.ajax_url or form.action
    method = "POST" if form.ajax_url else form.method
    enctype = "multipart/form-data" if form.ajax_url else form.enctype
    try:
        client.check_url(target)
        allowed = client.robots_allows(target)
    except H.UnsafeUrlError as err:
        return Plan("refuse", f"permanent: {err.message}", found, filled, target, method)
    except AicmoError as err:
        return Plan("refuse", f"temporary: {err.message}", found, filled, target, method)
    if not allowed:
        reason = f"permanent: robots.txt disallows {target}"
        return Plan("refuse", reason, found, filled, target, method)
    return Plan("submit", "", found, filled, target, method, enctype)


def find_contact_form(client: H.SafeHttpClient, start: str, *, explicit: bool = False) -> FoundForm:
    """Look at ``start``, then at the contact pages it links to and the usual paths.

    ``explicit``: ``start`` is the form page the operator named; a contact form there is
    the one to use, even when it is blocked (a CAPTCHA then makes a task, rather than a
    hunt for another form on the site). Raises the client's errors for the first page
    (unsafe URL, robots.txt, network); later candidates that fail are skipped.
    """
    looked: list[str] = []
    first = client.get(start)
    looked.append(first.url)
    if first.status_code >= 400:
        raise PermanentChannelError(f"{start} answered HTTP {first.status_code}")
    page = A.analyze_page(first.text, first.url)
    best: FoundForm | None = _usable(page, first.url, looked)
    if best is not None and best.form is not None and (explicit or not best.blockers):
        return best
    for url in D.candidate_urls(first.text, first.url)[: MAX_PAGES - 1]:
        if url in looked:
            continue
        try:
            resp = client.get(url)
        except AicmoError:
            continue
        looked.append(url)
        if resp.status_code >= 400:
            continue
        found = _usable(A.analyze_page(resp.text, resp.url), resp.url, looked)
        if found is None:
            continue
        if found.form is not None and not found.blockers:
            return found
        best = best or found
    if best is not None:
        return FoundForm(best.page_url, best.form, best.blockers, best.why, tuple(looked))
    return FoundForm(first.url, None, (), page.why, tuple(looked))


def _usable(page: A.PageAnalysis, url: str, looked: list[str]) -> FoundForm | None:
    """The page's contact form (with what blocks it), or a JavaScript-only embed."""
    if page.chosen is not None:
        blockers = (*page.chosen.blockers, *page.page_blockers)
        return FoundForm(url, page.chosen, tuple(blockers), page.why, tuple(looked))
    if page.page_blockers:
        return FoundForm(url, None, tuple(page.page_blockers), page.why, tuple(looked))
    return None


def _site_rules(
    db: Session, lead: LeadDB, site: str, campaign_id: int | None, now: datetime, gap: timedelta
) -> str | None:
    """Why this site must not get a submission now (None: go). Raises RateLimitedError
    when only the gap between two submissions to the site stands in the way."""
    # ix_outreach_messages_target_domain
    recent = db.execute(
        select(OutreachMessageDB.id, OutreachMessageDB.campaign_id, OutreachMessageDB.created_at)
        .where(
            OutreachMessageDB.workspace_id == lead.workspace_id,
            OutreachMessageDB.target_domain == site,
            OutreachMessageDB.channel == ChannelType.CONTACT_FORM.value,
            OutreachMessageDB.status.in_(COUNTED),
        )
        .order_by(OutreachMessageDB.created_at.desc())
    ).all()
    if campaign_id is not None:
        for attempt_id, campaign, _ in recent:
            if campaign == campaign_id:
                return (
                    f"permanent: {site} already got a submission in this campaign "
                    f"(attempt #{attempt_id}); one per site per campaign"
                )
    if recent and gap > timedelta(0) and recent[0][2] + gap > now:
        raise RateLimitedError(
            f"{site} got a form submission at {recent[0][2]:%Y-%m-%d %H:%M} UTC; "
            f"at most one per {gap.total_seconds() / 3600:g} h per site",
            retry_at=recent[0][2] + gap,
        )
    return None


class ContactFormChannel(Channel):
    """Contact forms: one submission per site per campaign, a gap between two submissions
    to one site, and a task for a person where a robot must not submit."""

    spec = get_spec(ChannelType.CONTACT_FORM)
    transport = "http"
    message_type = "contact_form"
    event_source = "contact_form"

    def send(self, db: Session, req: AttemptRequest) -> AttemptResult:
        """Find the form, fill it, submit it and judge the answer. The caller has checked
        suppression and that the lead has a form URL or website."""
        settings = get_settings()
        lead = req.lead
        start = target_url(lead)
        assert start is not None
        text = self.render(req.body, req, "body") or ""
        subj = self.render(req.subject, req, "subject")
        content: dict[str, Any] = {"subject": subj, "body": text}
        site = site_of(start)
        if not site:
            error = f"permanent: not a web address: {start}"
            return self.refuse(db, req, error, **_at(start), **content)
        gap = timedelta(hours=settings.form_domain_gap_hours)
        why_not = _site_rules(db, lead, site, req.campaign_id, req.now, gap)
        if why_not is not None:
            return self.refuse(db, req, why_not, **_at(start), **content)
        with client_factory(settings) as client:
            try:
                found = find_contact_form(client, start, explicit=bool(lead.form_url))
            except H.UnsafeUrlError as err:
                error = f"permanent: {err.message}"
                return self.refuse(db, req, error, **_at(start), **content)
            except AicmoError as err:
                kind = "temporary" if isinstance(err, H.FetchError) else "permanent"
                return self.refuse(db, req, f"{kind}: {err.message}", **_at(start), **content)
            plan = plan_submission(
                client, found, sender_profile(settings), subject=subj or "", message=text
            )
            if plan.decision == "no_form":
                looked = {"looked_at": list(found.looked_at), "why": found.why}
                return self.refuse(
                    db, req, plan.reason, details=looked, **_at(found.page_url), **content
                )
            if plan.decision == "task":
                return self._task(db, req, found, plan.reason, content)
            if plan.decision == "refuse":
                return self.refuse(db, req, plan.reason, **_at(found.page_url), **content)
            return self._submit(db, req, client, plan, content)

    def _task(
        self,
        db: Session,
        req: AttemptRequest,
        found: FoundForm,
        reason: str,
        content: dict[str, Any],
    ) -> AttemptResult:
        subject, body = content["subject"], content["body"]
        me = sender_profile(get_settings())
        lead = req.lead
        who = " ".join(p for p in (lead.first_name, lead.last_name) if p)
        lines = [
            f"Fill in the contact form at {found.page_url} and send it.",
            "",
            f"Your name: {me.full_name}",
            f"Your email: {me.email}",
        ]
        if me.company:
            lines.append(f"Company: {me.company}")
        if me.phone:
            lines.append(f"Phone: {me.phone}")
        if subject:
            lines.append(f"Subject: {subject}")
        lines += ["", "Message:", body]
        return self.hand_to_person(
            db,
            req,
            kind="submit_form",
            title=f"Contact form: {site_of(found.page_url)}" + (f" ({who})" if who else ""),
            instructions="\n".join(lines),
            url=found.page_url,
            reason=reason,
            details={"looked_at": list(found.looked_at), "why": found.why, "task": reason},
            **_at(found.page_url),
            **content,
        )

    def _submit(
        self,
        db: Session,
        req: AttemptRequest,
        client: H.SafeHttpClient,
        plan: Plan,
        content: dict[str, Any],
    ) -> AttemptResult:
        """Post the planned submission and judge the answer. Everything that can refuse it
        was asked by :func:`plan_submission` before SENDING is written, so a refusal
        afterwards can only come from a redirect after the site got the form."""
        now = req.now
        found, target = plan.found, plan.target
        form, filled = plan.found.form, plan.filled
        assert form is not None and filled is not None
        gap = timedelta(hours=get_settings().form_domain_gap_hours)

        def site_rules() -> dict[str, Any]:
            # Again under the lock, for the site the form really lives on (after
            # redirects): two workers with two leads of one company must not both post.
            why_not = _site_rules(db, req.lead, site_of(found.page_url), req.campaign_id, now, gap)
            return {"status": MessageStatus.FAILED.value, "error": why_not} if why_not else {}

        def refused(row: OutreachMessageDB) -> None:
            if row.error:
                self.event(db, row, EventType.MESSAGE_FAILED, now, row.error[:500])

        details = {
            "page": found.page_url,
            "action": target,
            "method": plan.method,
            "builder": form.builder,
            "why": found.why,
            "fields": dict(filled.mapping),
        }
        at = {**_at(found.page_url), **content}
        row = self.begin(db, req, reserve=site_rules, inside=refused, details=details, **at)
        if row.error:
            return AttemptResult(row)
        # SENDING is committed: from here on the attempt exists whatever happens.
        try:
            if form.ajax_url:
                response = client.post(
                    target,
                    data=[*filled.payload, *form.ajax_params],
                    enctype=plan.enctype,
                    headers={"Accept": "application/json, text/javascript, */*; q=0.01"},
                )
            elif plan.method == "GET":
                query = httpx.URL(target).copy_merge_params(filled.payload)
                response = client.get(str(query))
            else:
                response = client.post(target, data=filled.payload, enctype=plan.enctype)
        except H.FetchError as err:
            if err.sent:
                return self._finish(
                    db, row, MessageStatus.UNKNOWN, f"outcome unknown: {err.message}", now
                )
            return self._finish(db, row, MessageStatus.FAILED, f"temporary: {err.message}", now)
        except AicmoError as err:
            # A refused redirect, an oversized answer: the site may well have the form.
            return self._finish(
                db, row, MessageStatus.UNKNOWN, f"outcome unknown: {err.message}", now
            )
        verdict = V.judge_response(
            response.status_code,
            response.url,
            response.headers,
            response.text,
            form=form,
            submitted_url=target,
            sent=filled.payload,
        )
        evidence = {
            "status": response.status_code,
            "final_url": response.url,
            "redirects": list(response.redirects),
            "snippet": verdict.evidence_snippet,
            "verdict": verdict.reason,
            "messages": list(verdict.messages),
        }
        if response.status_code >= 500 or response.status_code == 429:
            # The site may have stored the message before it failed: never resent blindly.
            return self._finish(
                db,
                row,
                MessageStatus.UNKNOWN,
                f"outcome unknown: the site answered HTTP {response.status_code} "
                "(look at the evidence, then resend or drop)",
                now,
                evidence,
            )
        if verdict.outcome == "success":
            return self._finish(db, row, MessageStatus.SENT, verdict.reason, now, evidence)
        if verdict.outcome == "failure":
            detail = "; ".join(verdict.messages) if verdict.messages else verdict.reason
            return self._finish(
                db,
                row,
                MessageStatus.FAILED,
                f"permanent: the site did not accept the form: {detail}",
                now,
                evidence,
            )
        return self._finish(
            db,
            row,
            MessageStatus.UNKNOWN,
            f"outcome unknown: {verdict.reason} (look at the evidence, then resend or drop)",
            now,
            evidence,
        )

    def _finish(
        self,
        db: Session,
        row: OutreachMessageDB,
        status: MessageStatus,
        message: str,
        now: datetime,
        evidence: dict[str, Any] | None = None,
    ) -> AttemptResult:
        """The site's answer on record, with the evidence it was judged by."""
        details = {**(row.details or {}), **evidence} if evidence is not None else None
        if status is MessageStatus.SENT:
            http = f"HTTP {evidence['status'] if evidence else ''}"
            receipt = Receipt(http, details=details)
            return self.settle_sent(
                db, row, receipt, now, events=((EventType.MESSAGE_SENT, message[:500]),)
            )
        if details is not None:
            row.details = details
        if status is MessageStatus.UNKNOWN:
            self.finish_unknown(db, row, message, now)
        else:
            self.finish_failed(db, row, message, now)
        return AttemptResult(row)


def _at(url: str) -> dict[str, Any]:
    """The attempt's recipient and site, for the one-per-site rules."""
    return {"recipient": url[:1000], "target_domain": site_of(url)[:255]}


def inspect_site(
    url: str,
    *,
    subject: str = "Hello",
    message: str = "(your message)",
    settings: Settings | None = None,
    explicit: bool = False,
) -> dict[str, Any]:
    """A dry run on one site: the page and form chosen and why, what blocks it, how the
    fields would be filled and where they would go. It decides through the same
    :func:`plan_submission` as the real send (``explicit``: ``url`` is the lead's form
    page). Nothing is submitted and nothing is recorded.

    Raises:
        UnsafeUrlError (a ValidationError): the address is refused by the SSRF guard.
        ChannelError: the site cannot be fetched (robots.txt, HTTP error, network).
    """
    settings = settings or get_settings()
    start = url.strip() if "://" in url else f"https://{url.strip()}"
    sender = sender_profile(settings)
    with client_factory(settings) as client:
        found = find_contact_form(client, start, explicit=explicit)
        plan = plan_submission(client, found, sender, subject=subject, message=message)
    report: dict[str, Any] = {
        "page_url": found.page_url,
        "looked_at": list(found.looked_at),
        "why": found.why,
        "blockers": [f"{b.kind}: {b.detail}" for b in found.blockers],
        "form": None,
        "decision": plan.decision,
        "reason": plan.reason,
        "target": plan.target,
        "would_submit": plan.decision == "submit",
    }
    if found.form is None:
        return report
    filled = plan.filled or F.fill_form(found.form, sender, subject=subject, message=message)
    report["form"] = {
        "action": plan.target or found.form.action,
        "method": plan.method or found.form.method,
        "enctype": plan.enctype or found.form.enctype,
        "purpose": found.form.purpose,
        "fields": [
            {
                "name": f.name,
                "kind": f.kind,
                "label": f.label,
                "required": f.required,
                "honeypot": f.honeypot,
                "role": filled.mapping.get(f.name),
            }
            for f in found.form.fields
        ],
    }
    report["unmapped_required"] = list(filled.unmapped_required)
    report["problems"] = list(filled.problems)
    return report
