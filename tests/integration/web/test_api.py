"""The REST API over real HTTP (uvicorn on loopback): keys, roles, workspaces kept apart
route by route, problem details, cursors and idempotency."""

from __future__ import annotations

import asyncio
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy.orm import Session

from aicmo import operator_services as ops
from aicmo.cam import repository as repo
from aicmo.cam.domain.events import EventType, OutreachEvent
from aicmo.config import get_settings
from aicmo.operator_services import accounts, webhooks
from aicmo.operator_services import campaigns as campaign_service
from aicmo.operator_services.channels.linkedin_accounts import add_linkedin_account
from aicmo.operator_services.channels.tasks import list_tasks
from aicmo.operator_services.crm.replies import list_replies
from aicmo.operator_services.inbound.processing import process_inbound_message
from aicmo.operator_services.uow import utcnow
from aicmo.web.app import create_app
from tests.http_server import serve

API = "/api/v1"


@dataclass
class Tenant:
    """One workspace, its keys by role, and one of each kind of its rows."""

    id: int
    slug: str
    keys: dict[str, str]
    lead_id: int
    campaign_id: int
    task_id: int
    key_id: int
    webhook_id: int
    delivery_id: int
    reply_id: int

    def auth(self, role: str = "operator") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[role]}"}


def _tenant(db: Session, slug: str, email: str) -> Tenant:
    ws = accounts.create_workspace(db, slug)
    keys = {
        role: accounts.create_api_key(db, workspace_id=ws["id"], name=role, role=role)
        for role in ("viewer", "operator", "admin")
    }
    lead = ops.create_lead(
        db,
        workspace_id=ws["id"],
        email=email,
        first_name="Ann",
        linkedin_url=f"https://www.linkedin.com/in/ann-{slug}",
        tags=["t"],
    )
    ops.add_suppression(db, f"blocked@{slug}.example", workspace_id=ws["id"])
    campaign = campaign_service.create_campaign(
        db,
        f"camp-{slug}",
        steps=[{"channel": "EMAIL", "template": {"subject": "Hi", "body": "Hello"}}],
        workspace_id=ws["id"],
    )
    sent = ops.send_outreach_message(
        db, lead["id"], "Hello on LinkedIn", channel="LINKEDIN", workspace_id=ws["id"]
    )
    assert sent["outcome"] == "TASK", sent
    hook = webhooks.register_webhook(
        db,
        f"https://hooks.{slug}-corp.com/in",
        "lead.unsubscribed",
        workspace_id=ws["id"],
        resolver=lambda _host, _port: ["93.184.216.34"],  # resolves nothing for real
    )
    repo.add_event(
        db,
        ws["id"],
        OutreachEvent(type=EventType.UNSUBSCRIBED, occurred_at=utcnow()),
        lead_id=lead["id"],
    )
    db.commit()
    [delivery] = webhooks.list_deliveries(db, hook["id"], workspace_id=ws["id"])
    process_inbound_message(
        db,
        f"From: {email}\r\nTo: me@agency.example\r\nSubject: Re: Hi\r\n"
        f"Message-ID: <reply@{slug}.example>\r\n\r\nTell me more.\r\n".encode(),
        workspace_id=ws["id"],
    )
    [reply] = list_replies(db, workspace_id=ws["id"])
    # Added last: with a provider account, LinkedIn would no longer make the task above.
    add_linkedin_account(
        db,
        f"li-{slug}",
        base_url="https://api1.unipile.example",
        account_ref=f"acc-{slug}",
        api_key="provider-key",
        workspace_id=ws["id"],
    )
    return Tenant(
        id=ws["id"],
        slug=slug,
        keys={role: k["key"] for role, k in keys.items()},
        lead_id=lead["id"],
        campaign_id=campaign["id"],
        task_id=sent["task_id"],
        key_id=keys["viewer"]["id"],
        webhook_id=hook["id"],
        delivery_id=delivery["id"],
        reply_id=reply["id"],
    )


@pytest.fixture
def api(db: Session, db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("AICMO_DATABASE_URL", db_url)
    get_settings.cache_clear()
    with serve(create_app()) as base:
        yield base


@pytest.fixture
def tenants(db: Session) -> tuple[Tenant, Tenant]:
    a = _tenant(db, "acme", "ann@lead-a.example")
    b = _tenant(db, "bolt", "bob@lead-b.example")
    return a, b


def _api_routes() -> list[tuple[str, str]]:
    """Every API route, as the app's own OpenAPI schema lists them."""
    paths = create_app().openapi()["paths"]
    return [
        (method.upper(), path)
        for path, operations in paths.items()
        if path.startswith(API) and path != f"{API}/session"  # the sign-in door
        for method in sorted(operations)
    ]


def _fill(path: str, t: Tenant) -> str:
    values = {
        "lead_id": t.lead_id,
        "campaign_id": t.campaign_id,
        "task_id": t.task_id,
        "key_id": t.key_id,
        "webhook_id": t.webhook_id,
        "delivery_id": t.delivery_id,
        "reply_id": t.reply_id,
        "tag": "t",
        "value": "blocked@acme.example",
        "channel": "EMAIL",
        "name": f"li-{t.slug}",
    }
    return re.sub(r"\{(\w+)\}", lambda m: str(values[m.group(1)]), path)


#: A body each writing route accepts, so a refusal is about who asks, not what.
BODIES: dict[tuple[str, str], dict[str, Any]] = {
    ("POST", f"{API}/leads"): {"email": "new@lead.example"},
    ("PATCH", f"{API}/leads/{{lead_id}}"): {"company": "Changed"},
    ("POST", f"{API}/leads/{{lead_id}}/tags"): {"tags": ["x"]},
    ("POST", f"{API}/leads/{{lead_id}}/notes"): {"body": "a note"},
    ("POST", f"{API}/campaigns"): {
        "name": "new",
        "steps": [{"channel": "EMAIL", "template": {"subject": "s", "body": "b"}}],
    },
    ("POST", f"{API}/suppressions"): {"value": "x@y.example"},
    ("POST", f"{API}/tasks/{{task_id}}/done"): {},
    ("POST", f"{API}/tasks/{{task_id}}/skip"): {"reason": "no"},
    ("POST", f"{API}/api-keys"): {"name": "k", "role": "viewer"},
    ("POST", f"{API}/webhooks"): {"url": "https://hooks.example/in", "events": ["email.replied"]},
    ("PATCH", f"{API}/channels/{{channel}}"): {"rate_limit_per_hour": 7},
    ("POST", f"{API}/linkedin-accounts"): {
        "name": "li",
        "base_url": "https://api1.unipile.example",
        "account_ref": "acc",
        "api_key": "k",
    },
    ("POST", f"{API}/mailboxes"): {"name": "m", "from_address": "me@agency.example"},
    ("PUT", f"{API}/replies/{{reply_id}}/category"): {"category": "not_interested"},
    ("PUT", f"{API}/costs"): {"channel": "EMAIL", "monthly": "30"},
}


def test_every_api_route_needs_a_valid_key(
    api: str, tenants: tuple[Tenant, Tenant], db: Session
) -> None:
    a, _ = tenants
    accounts.revoke_api_key(db, a.id, a.key_id)
    routes = _api_routes()
    assert len(routes) >= 20
    for method, path in routes:
        url = api + _fill(path, a)
        for headers in (
            {},
            {"Authorization": "Bearer nonsense"},
            {"Authorization": f"Bearer {a.keys['operator'][:-2]}xx"},
            a.auth("viewer"),  # revoked above
        ):
            r = httpx.request(method, url, json=BODIES.get((method, path)), headers=headers)
            assert r.status_code == 401, (method, path, headers, r.text)
            assert r.headers["content-type"].startswith("application/problem+json")
            assert r.headers["www-authenticate"] == "Bearer"
    assert httpx.get(f"{api}/healthz").status_code == 200


def test_no_key_of_one_workspace_reads_or_changes_another_workspaces_rows(
    api: str, tenants: tuple[Tenant, Tenant], db: Session
) -> None:
    a, b = tenants
    before = ops.get_lead(db, a.lead_id, workspace_id=a.id)
    for method, path in _api_routes():
        if "{" not in path or "{channel}" in path:  # a channel name is every workspace's
            continue
        r = httpx.request(
            method, api + _fill(path, a), json=BODIES.get((method, path)), headers=b.auth("admin")
        )
        assert r.status_code == 404, (method, path, r.status_code, r.text)
    # Lists answer with the caller's own rows only.
    for path, ids in {
        "/leads": {a.lead_id},
        "/campaigns": {a.campaign_id},
        "/tasks": {a.task_id},
        "/replies": {a.reply_id},
    }.items():
        mine = httpx.get(f"{api}{API}{path}", headers=b.auth("viewer")).json()["items"]
        assert (mine and not ({row["id"] for row in mine} & ids)) or a.id == b.id
    blocked = httpx.get(f"{api}{API}/suppressions", headers=b.auth("viewer")).json()["items"]
    assert [s["value"] for s in blocked] == ["blocked@bolt.example"]
    keys = httpx.get(f"{api}{API}/api-keys", headers=b.auth("admin")).json()
    assert {k["name"] for k in keys} == {"viewer", "operator", "admin"}
    assert all(k["id"] != a.key_id for k in keys)
    changed = httpx.patch(
        f"{api}{API}/channels/EMAIL", json={"rate_limit_per_hour": 7}, headers=b.auth("admin")
    )
    assert changed.json()["rate_limit_per_hour"] == 7
    db.expire_all()
    assert ops.get_lead(db, a.lead_id, workspace_id=a.id) == before
    assert list_tasks(db, workspace_id=a.id)[0]["status"] == "OPEN"
    assert ops.get_channel_config(db, "EMAIL", workspace_id=a.id)["rate_limit_per_hour"] != 7


def test_a_viewer_reads_everything_and_changes_nothing(
    api: str, tenants: tuple[Tenant, Tenant], db: Session
) -> None:
    a, _ = tenants
    before = ops.get_lead(db, a.lead_id, workspace_id=a.id)
    for method, path in _api_routes():
        r = httpx.request(
            method, api + _fill(path, a), json=BODIES.get((method, path)), headers=a.auth("viewer")
        )
        admin_only = path.startswith((f"{API}/api-keys", f"{API}/members", f"{API}/webhooks"))
        reads = method == "GET" or path.endswith("/validate")
        if reads and not admin_only:
            assert r.status_code == 200, (method, path, r.text)
        else:
            assert r.status_code == 403, (method, path, r.text)
            assert "viewer" in r.json()["detail"]
    db.expire_all()
    assert ops.get_lead(db, a.lead_id, workspace_id=a.id) == before
    assert ops.count_leads(db, workspace_id=a.id) == 1


def test_an_operator_runs_outreach_but_does_not_manage_keys(
    api: str, tenants: tuple[Tenant, Tenant]
) -> None:
    a, _ = tenants
    h = a.auth("operator")
    assert httpx.get(f"{api}{API}/api-keys", headers=h).status_code == 403
    created = httpx.post(f"{api}{API}/api-keys", json={"name": "x"}, headers=h)
    assert created.status_code == 403
    made = httpx.post(f"{api}{API}/api-keys", json={"name": "x"}, headers=a.auth("admin"))
    assert made.status_code == 201 and made.json()["key"].startswith("aicmo_")
    me = httpx.get(f"{api}{API}/me", headers={"Authorization": f"Bearer {made.json()['key']}"})
    assert me.json()["workspace"] == "acme" and me.json()["role"] == "operator"
    listed = httpx.get(f"{api}{API}/api-keys", headers=a.auth("admin")).json()
    assert all("key" not in k for k in listed)
    assert next(k for k in listed if k["name"] == "x")["last_used_at"] is not None


def test_leads_crud_with_problem_details_naming_the_field(api: str, db: Session) -> None:
    key = accounts.create_api_key(db, workspace_id=1, name="crm sync", role="operator")["key"]
    h = {"Authorization": f"Bearer {key}"}
    made = httpx.post(
        f"{api}{API}/leads",
        json={"email": "Jane@Acme.example", "first_name": "Jane", "title": "VP Sales"},
        headers=h,
    )
    assert made.status_code == 201, made.text
    lead = made.json()
    assert lead["email"] == "Jane@acme.example" and lead["grade"] is not None
    again = httpx.post(f"{api}{API}/leads", json={"email": "jane@acme.example"}, headers=h)
    assert again.status_code == 409
    bad = httpx.post(f"{api}{API}/leads", json={"email": "not an address"}, headers=h)
    assert bad.status_code == 422 and bad.json()["field"] == "email"
    unknown = httpx.post(f"{api}{API}/leads", json={"emial": "a@b.example"}, headers=h)
    assert unknown.status_code == 422 and unknown.json()["field"] == "emial"
    crlf = httpx.patch(
        f"{api}{API}/leads/{lead['id']}", json={"company": "Acme\r\nBcc: x@evil.example"}, headers=h
    )
    assert crlf.status_code == 422 and crlf.json()["field"] == "company"
    patched = httpx.patch(f"{api}{API}/leads/{lead['id']}", json={"stage": "meeting"}, headers=h)
    assert patched.json()["stage"] == "MEETING"
    noted = httpx.post(f"{api}{API}/leads/{lead['id']}/notes", json={"body": "call"}, headers=h)
    assert noted.status_code == 201 and noted.json()["notes"][0]["body"] == "call"
    assert httpx.get(f"{api}{API}/leads/999999", headers=h).status_code == 404
    gone = httpx.delete(f"{api}{API}/leads/{lead['id']}", headers=h)
    assert gone.status_code == 204
    assert ops.check_suppression(db, email="jane@acme.example") is not None


def test_cursor_pages_neither_skip_nor_repeat_a_lead(api: str, db: Session) -> None:
    key = accounts.create_api_key(db, workspace_id=1, name="r", role="viewer")["key"]
    h = {"Authorization": f"Bearer {key}"}
    titles = ["CEO", "VP Sales", "Intern", "Head of Growth", "Engineer", None]
    for i in range(23):
        ops.create_lead(db, email=f"p{i}@lead.example", title=titles[i % len(titles)])
    seen: list[int] = []
    cursor = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 5}
        if cursor:
            params["cursor"] = cursor
        page = httpx.get(f"{api}{API}/leads", params=params, headers=h).json()
        seen.extend(row["id"] for row in page["items"])
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
        # A lead added between pages does not shift the ones still to come.
        db.rollback()
        ops.create_lead(db, email=f"late{pages}@lead.example")
    late = {row["id"] for row in ops.find_leads(db, search="late", limit=100)}
    everyone = {row["id"] for row in ops.find_leads(db, limit=1000)}
    assert len(seen) == len(set(seen)), "a lead was repeated"
    assert everyone - late <= set(seen), "a lead was skipped"
    assert len(everyone - late) == 23
    broken = httpx.get(f"{api}{API}/leads", params={"cursor": "!!"}, headers=h)
    assert broken.status_code == 422 and broken.json()["field"] == "cursor"


def test_an_idempotency_key_replays_the_first_answer_and_refuses_another_body(
    api: str, db: Session
) -> None:
    key = accounts.create_api_key(db, workspace_id=1, name="zap", role="operator")["key"]
    h = {"Authorization": f"Bearer {key}", "Idempotency-Key": "lead-42"}
    first = httpx.post(f"{api}{API}/leads", json={"email": "k@lead.example"}, headers=h)
    retry = httpx.post(f"{api}{API}/leads", json={"email": "k@lead.example"}, headers=h)
    other = httpx.post(f"{api}{API}/leads", json={"email": "z@lead.example"}, headers=h)
    assert first.status_code == retry.status_code == 201
    assert retry.json() == first.json() and retry.headers["idempotent-replayed"] == "true"
    assert other.status_code == 422 and other.json()["field"] == "Idempotency-Key"
    assert ops.count_leads(db) == 1
    # A failed request releases its key: the corrected retry goes through.
    h2 = {**h, "Idempotency-Key": "lead-43"}
    failed = httpx.post(f"{api}{API}/leads", json={"email": "k@lead.example"}, headers=h2)
    assert failed.status_code == 409
    fixed = httpx.post(f"{api}{API}/leads", json={"email": "k2@lead.example"}, headers=h2)
    assert fixed.status_code == 201


def test_a_campaign_from_json_is_validated_started_and_paused(api: str, db: Session) -> None:
    key = accounts.create_api_key(db, workspace_id=1, name="ops", role="operator")["key"]
    h = {"Authorization": f"Bearer {key}"}
    ops.create_lead(db, email="c1@lead.example", first_name="Cy")
    bad = httpx.post(
        f"{api}{API}/campaigns",
        json={"name": "q1", "steps": [{"channel": "FAX", "template": {"body": "x"}}]},
        headers=h,
    )
    assert bad.status_code == 422 and "FAX" in bad.json()["detail"]
    made = httpx.post(
        f"{api}{API}/campaigns",
        json={
            "name": "q1",
            "steps": [{"channel": "EMAIL", "template": {"subject": "Hi", "body": "Hello"}}],
        },
        headers=h,
    )
    assert made.status_code == 201, made.text
    cid = made.json()["id"]
    check = httpx.post(f"{api}{API}/campaigns/{cid}/validate", headers=h).json()
    assert check["ok"] is True and check["leads"] == 1
    started = httpx.post(f"{api}{API}/campaigns/{cid}/start", headers=h)
    assert started.status_code == 200 and started.json()["enrolled"] == 1
    paused = httpx.post(f"{api}{API}/campaigns/{cid}/pause", headers=h)
    assert paused.json()["status"] == "PAUSED"
    status = httpx.get(f"{api}{API}/campaigns/{cid}", headers=h).json()
    assert status["enrollments"] == {"ACTIVE": 1}
    enrolled = httpx.get(f"{api}{API}/campaigns/{cid}/enrollments", headers=h).json()
    assert [e["state"] for e in enrolled["items"]] == ["ACTIVE"]
    none = httpx.get(f"{api}{API}/campaigns/{cid}/enrollments?state=stopped", headers=h)
    assert none.json()["items"] == []
    bogus = httpx.get(f"{api}{API}/campaigns/{cid}/enrollments?state=bogus", headers=h)
    assert bogus.status_code == 422 and bogus.json()["field"] == "state"
    metrics = httpx.get(f"{api}{API}/campaigns/{cid}/metrics", headers=h).json()
    assert set(metrics) >= {"EMAIL", "LINKEDIN", "CONTACT_FORM"}


def test_a_campaigns_variants_report_each_arm_the_test_and_the_verdict(
    api: str, tenants: tuple[Tenant, Tenant], db: Session
) -> None:
    a, b = tenants
    steps = [
        {
            "channel": "EMAIL",
            "template": {"subject": "Hi", "body": "Hello"},
            "variants": [{"name": "A"}, {"name": "B", "subject": "Hey"}],
        }
    ]
    made = httpx.post(
        f"{api}{API}/campaigns",
        json={
            "name": "ab",
            "steps": steps,
            "settings": {"ab_test": {"baseline_rate": 0.1, "min_effect": 0.1}},
        },
        headers=a.auth("operator"),
    )
    assert made.status_code == 201, made.text
    cid = made.json()["id"]
    day = utcnow().date()
    for variant, sent, positive in (("A", 250, 20), ("B", 250, 45)):
        for column, n in (("sent", sent), ("positive_replied", positive)):
            repo.bump_metric(
                db,
                workspace_id=a.id,
                day=day,
                channel="EMAIL",
                column=column,
                campaign_id=cid,
                step_index=0,
                variant=variant,
                mailbox_id=None,
                by=n,
            )
    db.commit()
    r = httpx.get(f"{api}{API}/campaigns/{cid}/variants", headers=a.auth("viewer"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["metric"], body["denominator"]) == ("positive_replied", "sent")
    (step,) = body["steps"]
    assert [(v["name"], v["sent"], v["successes"]) for v in step["variants"]] == [
        ("A", 250, 20),
        ("B", 250, 45),
    ]
    assert step["status"] == "winner" and step["winner"] == "B"
    assert step["comparisons"][0]["test"] == "z"
    assert step["verdict"].startswith("B is better: 18.0% vs 8.0% positive replies")
    assert step["horizon_day"] == day.isoformat()
    replied = httpx.get(
        f"{api}{API}/campaigns/{cid}/variants?metric=replied&step=0", headers=a.auth("viewer")
    ).json()
    assert replied["steps"][0]["status"] == "no_difference"
    bad = httpx.get(f"{api}{API}/campaigns/{cid}/variants?metric=opened", headers=a.auth("viewer"))
    assert bad.status_code == 422
    nostep = httpx.get(f"{api}{API}/campaigns/{cid}/variants?step=3", headers=a.auth("viewer"))
    assert nostep.status_code == 422 and nostep.json()["field"] == "step"
    other = httpx.get(f"{api}{API}/campaigns/{cid}/variants", headers=b.auth("admin"))
    assert other.status_code == 404


def test_security_headers_are_on_every_response(api: str) -> None:
    for path in ("/healthz", f"{API}/leads", "/u/not-a-token", "/nope"):
        r = httpx.get(api + path)
        assert r.headers["x-content-type-options"] == "nosniff", path
        assert r.headers["x-frame-options"] == "DENY", path
        assert "default-src 'none'" in r.headers["content-security-policy"], path
        assert r.headers["referrer-policy"] == "no-referrer", path


def test_the_openapi_schema_documents_every_route_and_its_errors(api: str) -> None:
    schema = httpx.get(f"{api}/openapi.json").json()
    for method, path in _api_routes():
        op = schema["paths"][path][method.lower()]
        assert {"401", "403", "422"} <= set(op["responses"]), (method, path)
        assert "application/problem+json" in op["responses"]["401"]["content"]


def test_a_browser_session_needs_the_csrf_token_for_changes_and_ends_at_sign_out(
    api: str, db: Session
) -> None:
    accounts.add_user(
        db, "sdr@agency.example", "a long enough passphrase", role="operator", workspace_id=1
    )
    with httpx.Client(base_url=api) as browser:
        signed = browser.post(
            f"{API}/session",
            json={"email": "SDR@agency.example", "password": "a long enough passphrase"},
        )
        assert signed.status_code == 200, signed.text
        cookie = signed.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=lax" in cookie
        csrf = signed.json()["csrf_token"]
        assert browser.get(f"{API}/me").json()["role"] == "operator"
        forged = browser.post(f"{API}/leads", json={"email": "f@lead.example"})
        assert forged.status_code == 403 and "CSRF" in forged.json()["detail"]
        wrong = browser.post(
            f"{API}/leads", json={"email": "f@lead.example"}, headers={"X-CSRF-Token": "x" * 43}
        )
        assert wrong.status_code == 403
        made = browser.post(
            f"{API}/leads", json={"email": "f@lead.example"}, headers={"X-CSRF-Token": csrf}
        )
        assert made.status_code == 201
        # A demotion takes effect on the next request, not at the next sign-in.
        accounts.add_user(db, "sdr@agency.example", None, role="viewer", workspace_id=1)
        demoted = browser.post(
            f"{API}/leads", json={"email": "g@lead.example"}, headers={"X-CSRF-Token": csrf}
        )
        assert demoted.status_code == 403
        token = browser.cookies["aicmo_session"]
        out = browser.delete(f"{API}/session", headers={"X-CSRF-Token": csrf})
        assert out.status_code == 204
    replay = httpx.get(f"{api}{API}/me", cookies={"aicmo_session": token})
    assert replay.status_code == 401


def test_password_guessing_is_throttled_even_when_the_guess_is_right(api: str, db: Session) -> None:
    accounts.add_user(
        db, "boss@agency.example", "the right passphrase", role="admin", workspace_id=1
    )
    for _ in range(5):
        r = httpx.post(
            f"{api}{API}/session", json={"email": "boss@agency.example", "password": "guess"}
        )
        assert (
            r.status_code == 401 and r.json()["detail"] == "the email or the password is not right"
        )
    nobody = httpx.post(f"{api}{API}/session", json={"email": "no@one.example", "password": "x"})
    assert nobody.json()["detail"] == "the email or the password is not right"
    blocked = httpx.post(
        f"{api}{API}/session",
        json={"email": "boss@agency.example", "password": "the right passphrase"},
    )
    assert blocked.status_code == 429 and 0 < int(blocked.headers["retry-after"]) <= 900
    other = httpx.post(f"{api}{API}/session", json={"email": "no@one.example", "password": "x"})
    assert other.status_code == 401  # another address is not blocked by this one


def test_a_csv_upload_gets_the_clis_row_report_and_the_export_reimports(
    api: str, db: Session
) -> None:
    key = accounts.create_api_key(db, workspace_id=1, name="up", role="operator")["key"]
    h = {"Authorization": f"Bearer {key}"}
    csv_text = (
        "Email;First Name;Company;Work Mail\n"
        'ann@lead.example;Ann;=HYPERLINK("x");\n'
        "not-an-email;Bo;Bolt;\n"
        "cy@lead.example;Cy;Cyan;\n"
    )
    up = httpx.post(
        f"{api}{API}/leads/import",
        params={"tag": ["expo"], "map": ["Work Mail=-"]},
        files={"file": ("crm export.csv", csv_text.encode("utf-8"), "text/csv")},
        headers=h,
    )
    assert up.status_code == 200, up.text
    report = up.json()
    assert report["filename"] == "crm export.csv" and report["delimiter"] == ";"
    assert (report["created"], report["rejected"]) == (2, 1)
    assert report["rejected_rows"][0]["line"] == 3
    assert "email" in report["rejected_rows"][0]["message"].lower()
    bad = httpx.post(
        f"{api}{API}/leads/import",
        files={"file": ("x.csv", b"Name,Company\nAnn,Acme\n", "text/csv")},
        headers=h,
    )
    assert bad.status_code == 422 and "email" in bad.json()["detail"].lower()
    exported = httpx.get(f"{api}{API}/leads/export.csv", headers=h)
    assert exported.headers["content-type"].startswith("text/csv")
    body = exported.text
    assert "ann@lead.example" in body and "'=HYPERLINK" in body
    again = httpx.post(
        f"{api}{API}/leads/import",
        files={"file": ("leads.csv", body.encode(), "text/csv")},
        headers=h,
    )
    assert again.json()["created"] == 0 and again.json()["rejected"] == 0
    lead_id = ops.find_leads(db, search="ann@", limit=1)[0]["id"]
    httpx.patch(f"{api}{API}/leads/{lead_id}", json={"stage": "contacted"}, headers=h)
    trail = httpx.get(f"{api}{API}/leads/{lead_id}/events", headers=h).json()
    assert trail[0]["type"] == "LEAD_STAGE_CHANGED" and trail[0]["actor"].startswith("api-key#")
    gdpr = httpx.get(f"{api}{API}/leads/{lead_id}/export", headers=h).json()
    assert gdpr["lead"]["email"] == "ann@lead.example"


def test_mailbox_secrets_go_in_and_never_come_out(api: str, db: Session) -> None:
    key = accounts.create_api_key(db, workspace_id=1, name="adm", role="admin")["key"]
    h = {"Authorization": f"Bearer {key}"}
    made = httpx.post(
        f"{api}{API}/mailboxes",
        json={
            "name": "sales",
            "from_address": "sales@agency.example",
            "smtp_host": "127.0.0.1",
            "smtp_port": 2525,
            "smtp_username": "sales",
            "smtp_password": "hunter2-very-secret",
        },
        headers=h,
    )
    assert made.status_code == 201, made.text
    listed = httpx.get(f"{api}{API}/mailboxes", headers=h)
    assert "hunter2" not in made.text + listed.text
    assert listed.json()[0]["smtp"]["secret"] == "set"


def test_more_concurrent_clients_than_connections_are_all_answered(api: str, db: Session) -> None:
    """More requests in flight than the pool has connections (and the server threads)
    once stalled every request until the pool's timeout."""
    key = accounts.create_api_key(db, workspace_id=1, name="load", role="viewer")["key"]
    for i in range(30):
        ops.create_lead(db, email=f"c{i}@lead.example", title="CEO")

    async def burst() -> list[int]:
        async with httpx.AsyncClient(
            base_url=api,
            headers={"Authorization": f"Bearer {key}"},
            timeout=25,
            limits=httpx.Limits(max_connections=150),
        ) as client:
            answers = await asyncio.gather(
                *(client.get(f"{API}/leads", params={"limit": 20}) for _ in range(150))
            )
        return [a.status_code for a in answers]

    # In a thread of its own: a session-wide fixture (the browser's) may keep an event loop
    # running in this one, where asyncio.run() is refused.
    codes: list[int] = []
    runner = threading.Thread(target=lambda: codes.extend(asyncio.run(burst())))
    runner.start()
    runner.join()
    assert len(codes) == 150 and set(codes) == {200}
