"""Operator tasks in a real browser: a LinkedIn step without a provider account shows its
text (to copy) and the profile link, and is marked done or skipped in place."""

from __future__ import annotations

from datetime import timedelta

from playwright.sync_api import Browser, expect

from aicmo import operator_services as ops
from aicmo.operator_services.channels.tasks import get_task
from aicmo.operator_services.uow import utcnow
from tests.dashboard import XSS, XSS_SCRIPT, Site, screenshot, signed_in_page

PROFILE = "https://www.linkedin.com/in/jane-doe-1234"


def linkedin_task(
    site: Site, first_name: str, body: str, profile: str, *, days_ago: int = 0
) -> int:
    """A LinkedIn message sent with no provider account: a task for a person (opened
    ``days_ago``); its id."""
    with site.db() as db:
        lead = ops.create_lead(db, first_name=first_name, company=XSS_SCRIPT, linkedin_url=profile)
        sent = ops.send_outreach_message(
            db, lead["id"], body, channel="LINKEDIN", now=utcnow() - timedelta(days=days_ago)
        )
        assert sent["outcome"] == "TASK", sent
        return int(sent["task_id"])


def test_a_linkedin_task_shows_its_text_and_link_and_is_done_in_place(
    browser: Browser, site: Site
) -> None:
    done_id = linkedin_task(
        site, "Jane", "Hi {{ first_name }}, glad to connect.", PROFILE, days_ago=3
    )
    skip_id = linkedin_task(
        site, XSS, f"Hello {XSS_SCRIPT}", "https://www.linkedin.com/in/someone-else"
    )
    with signed_in_page(browser, site) as (page, watch):
        page.goto(f"{site.base}/tasks")
        task = page.locator(f"#task-{done_id}")
        expect(page.locator(".task-item").first).to_have_id(f"task-{done_id}")  # due first
        expect(task.locator(".b-overdue")).to_have_text("overdue")
        expect(page.locator(f"#task-{skip_id} .b-overdue")).to_have_count(0)
        expect(task.get_by_label("Text to send")).to_have_value("Hi Jane, glad to connect.")
        link = task.get_by_role("link", name="Open the LinkedIn profile")
        expect(link).to_have_attribute("href", PROFILE)
        expect(link).to_have_attribute("target", "_blank")
        expect(link).to_have_attribute("rel", "noopener noreferrer")
        copy = task.get_by_role("button", name="Copy")
        expect(copy).to_have_attribute("data-copy", f"task-text-{done_id}")
        other = page.locator(f"#task-{skip_id}")
        expect(other.locator(".task-title")).to_contain_text(XSS)
        expect(other.get_by_label("Text to send")).to_have_value(f"Hello {XSS_SCRIPT}")
        screenshot(page, "tasks")

        task.get_by_role("button", name="Done").click()
        expect(page.locator(f"#task-{done_id}")).to_contain_text("DONE")
        expect(page.locator(f"#task-{done_id}").get_by_role("button", name="Done")).to_have_count(0)
        other.get_by_label("Reason to skip (optional)").fill("profile is a duplicate")
        other.get_by_role("button", name="Skip").click()
        expect(page.locator(f"#task-{skip_id}")).to_contain_text("SKIPPED")
        expect(page.locator(f"#task-{skip_id}")).to_contain_text("profile is a duplicate")

        page.reload()
        expect(page.locator(f"#task-{done_id}")).to_have_count(0)  # the open list
        page.get_by_role("link", name="Done", exact=True).click()
        expect(page.locator(f"#task-{done_id}")).to_contain_text("DONE")
        watch.assert_clean()
    with site.db() as db:
        assert get_task(db, done_id)["status"] == "DONE"
        skipped = get_task(db, skip_id)
        assert skipped["status"] == "SKIPPED" and skipped["note"] == "profile is a duplicate"
