"""Judge a contact form's JSON answer: Contact Form 7 REST, WordPress admin-ajax, and others.

Pure. Part of :func:`aicmo.cam.forms.verdict.judge_response`, which tries these structured
answers before anything else: their status fields say what happened without guessing.
"""

from __future__ import annotations

import json
import re

from aicmo.cam.forms.markup import (
    dedupe_messages,
    parse_html,
    snippet_of,
    squash,
    text_of,
)
from aicmo.cam.forms.model import Verdict

__all__ = ["judge_json"]


_CF7_STATUSES = frozenset(
    {"mail_sent", "mail_failed", "validation_failed", "acceptance_missing", "spam", "aborted"}
)


def _strings(value: object) -> list[str]:
    """Every string inside a JSON value (error objects nest them arbitrarily)."""
    found: list[str] = []
    stack: list[object] = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            found.append(item)
        elif isinstance(item, dict):
            stack.extend(reversed(list(item.values())))
        elif isinstance(item, list):
            stack.extend(reversed(item))
    return found


def _html_text(fragment: str) -> str:
    return text_of(parse_html(fragment)) if "<" in fragment else squash(fragment)


def _judge_cf7(data: dict[str, object]) -> Verdict | None:
    status = data.get("status")
    if not isinstance(status, str) or not (status in _CF7_STATUSES or "into" in data):
        return None
    message = _html_text(str(data.get("message") or ""))
    if status == "mail_sent":
        return Verdict("success", "Contact Form 7: mail_sent", (), message, "cf7_json")
    messages: list[str] = []
    invalid = data.get("invalid_fields")
    if isinstance(invalid, list):
        for item in invalid:
            if isinstance(item, dict):
                text = _html_text(str(item.get("message") or ""))
                field = str(item.get("field") or item.get("into") or "").strip()
                field = re.sub(r"^span\.wpcf7-form-control-wrap\.?", "", field)
                messages.append(f"{field}: {text}" if field and text else text)
    reason = f"Contact Form 7: {status}"
    return Verdict("failure", reason, dedupe_messages(messages or [message]), message, "cf7_json")


def _judge_wp_json(data: dict[str, object]) -> Verdict | None:
    """``wp_send_json_success``/``_error`` answers: WPForms, Elementor Pro, many plugins."""
    success = data.get("success")
    if not isinstance(success, bool):
        return None
    payload = data.get("data")
    if success:
        text = ""
        if isinstance(payload, dict):
            for key in ("confirmation", "message", "msg"):
                value = payload.get(key)
                if isinstance(value, str) and value.strip():
                    text = _html_text(value)
                    break
        elif isinstance(payload, str):
            text = _html_text(payload)
        return Verdict("success", "AJAX answer success=true", (), snippet_of(text), "ajax_json")
    messages: list[str] = []
    if isinstance(payload, dict):
        messages += [_html_text(s) for s in _strings(payload.get("errors"))]
        message = payload.get("message")
        if isinstance(message, str):
            messages.insert(0, _html_text(message))
    elif isinstance(payload, (str, list)):
        messages += [_html_text(s) for s in _strings(payload)]
    found = dedupe_messages(messages)
    snippet = snippet_of(" ".join(found)) if found else "success=false"
    return Verdict("failure", "AJAX answer success=false", found, snippet, "ajax_json")


def _judge_other_json(data: dict[str, object]) -> Verdict | None:
    """Gravity Forms REST, HubSpot, Formspree, WordPress REST errors and generic shapes."""
    if isinstance(data.get("is_valid"), bool):
        if data["is_valid"]:
            text = _html_text(str(data.get("confirmation_message") or ""))
            return Verdict("success", "Gravity Forms: is_valid", (), snippet_of(text), "gf_json")
        found = dedupe_messages(_html_text(s) for s in _strings(data.get("validation_messages")))
        return Verdict(
            "failure", "Gravity Forms: not valid", found, snippet_of(" ".join(found)), "gf_json"
        )
    for key in ("inlineMessage", "redirectUri"):
        value = data.get(key)
        if isinstance(value, str) and value.strip():
            return Verdict("success", f"HubSpot answer ({key})", (), snippet_of(_html_text(value)))
    code = data.get("code")
    info = data.get("data")
    if isinstance(code, str) and isinstance(info, dict) and "status" in info:
        message = _html_text(str(data.get("message") or code))
        return Verdict("failure", f"WordPress REST error {code}", (message,), message, "wp_rest")
    if data.get("ok") is True:
        return Verdict("success", "JSON answer ok=true", (), snippet_of(json.dumps(data)[:300]))
    errors = data.get("errors") or data.get("error")
    if errors:
        found = dedupe_messages(_html_text(s) for s in _strings(errors))
        snippet = snippet_of(" ".join(found))
        return Verdict("failure", "JSON answer with errors", found, snippet, "json")
    status = str(data.get("status") or data.get("result") or "").lower()
    if status in ("success", "ok", "sent", "submitted"):
        text = _html_text(str(data.get("message") or status))
        return Verdict("success", f"JSON answer status={status}", (), snippet_of(text), "json")
    if status in ("error", "fail", "failed", "failure", "invalid"):
        text = _html_text(str(data.get("message") or status))
        return Verdict("failure", f"JSON answer status={status}", (text,), snippet_of(text), "json")
    return None


def judge_json(body: str, content_type: str) -> Verdict | None:
    stripped = body.strip()
    if not (stripped.startswith(("{", "[")) or "json" in content_type.lower()):
        return None
    try:
        data = json.loads(stripped)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    for judge in (_judge_cf7, _judge_wp_json, _judge_other_json):
        verdict = judge(data)
        if verdict is not None:
            return verdict
    return Verdict("unknown", "JSON answer without a recognised status", (), snippet_of(stripped))
