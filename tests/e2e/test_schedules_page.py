"""Destinations and schedules in a real browser: a destination added on the page against a real
SeaweedFS bucket (a wrong secret first), an hourly schedule started 3 hours back, and its runs
appearing on the schedule's page by themselves as a real RQ worker's scheduler makes and
delivers them; axe-clean and without horizontal scroll at 1366 and 390 px."""

from __future__ import annotations

import uuid
from datetime import UTC, timedelta

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from accounts.models import Membership
from deliveries.models import Destination, ExportDelivery, Outbox, ScheduleRun
from logs.models import Log
from tests.conftest import wait_for
from tests.e2e.conftest import (
    DESKTOP,
    PASSWORD,
    PHONE,
    horizontal_overflow,
    log_in,
    serious_accessibility_violations,
)
from tests.exports.s3_server import ACCESS_KEY, SECRET_KEY, _client, s3_server  # noqa: F401

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

FAST = {"SCHEDULES_TICK_SECONDS": "0.5", "SCHEDULES_SETTLE_SECONDS": "0",
        "DELIVERY_POLL_SECONDS": "0.5"}


@pytest.fixture
def admin(workspace):
    person = get_user_model().objects.create_user(username="root", password=PASSWORD)
    Membership.objects.create(user=person, workspace=workspace, role=Membership.Role.ADMIN)
    return person


@pytest.fixture
def team_bucket(s3_server):  # noqa: F811
    name = f"team-{uuid.uuid4().hex[:10]}"
    _client(s3_server).create_bucket(Bucket=name)
    return name, s3_server


def clean_at_both_sizes(page, screenshot, name: str) -> None:
    for size, viewport in (("1366", DESKTOP), ("390", PHONE)):
        page.set_viewport_size(viewport)
        assert serious_accessibility_violations(page) == [], f"{name} at {size} px"
        assert horizontal_overflow(page) == 0, f"{name} at {size} px: " + page.evaluate(
            "Array.from(document.querySelectorAll('main *')).filter(node => "
            "node.scrollWidth > 400 || node.getBoundingClientRect().width > 400)"
            ".map(node => node.tagName + '.' + node.className + ' ' + node.scrollWidth + '/'"
            " + Math.round(node.getBoundingClientRect().width)).join('; ')")
        screenshot(page, f"{name}-{size}")
    page.set_viewport_size(DESKTOP)


def test_a_destination_and_an_hourly_schedule_whose_runs_appear_and_succeed(
        page, live_server, admin, workspace, team_bucket, rq_workers, screenshot):
    bucket, endpoint = team_bucket
    this_hour = timezone.now().astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    first = this_hour - timedelta(hours=3)
    for hour in range(3):
        for minute in (0, 20 + hour, 59):
            Log.objects.create(workspace=workspace, ai_provider="openai", ai_model="gpt-4o",
                               status_code=200,
                               created_at=first + timedelta(hours=hour, minutes=minute))
    rq_workers.start(burst=False, **FAST)
    log_in(page, live_server, username="root", password=PASSWORD)

    # The destination: refused with a wrong secret, saying why beside it; then added.
    page.click("nav.sidebar a:has-text('Destinations')")
    page.wait_for_selector("h1:has-text('Destinations')")
    assert "No destinations yet" in page.inner_text("main")
    page.fill("#id_name", "Team bucket")
    page.fill("#id_endpoint_url", endpoint)
    page.fill("#id_region", "us-east-1")
    page.fill("#id_bucket", bucket)
    page.fill("#id_prefix", "llm-logs")
    page.fill("#id_access_key_id", ACCESS_KEY)
    page.fill("#id_secret_access_key", "not-the-secret")
    page.click("button:has-text('Test and add destination')")
    error = page.locator("#errors-secret_access_key .field-error")
    error.wait_for()
    assert "access denied" in error.inner_text()
    assert page.input_value("#id_bucket") == bucket
    assert page.input_value("#id_secret_access_key") == ""  # never sent back
    assert not Destination.objects.exists()
    page.fill("#id_secret_access_key", SECRET_KEY)
    page.click("button:has-text('Test and add destination')")
    page.wait_for_selector(f"table[data-testid=destinations] :text('s3://{bucket}/llm-logs')")
    assert SECRET_KEY not in page.content()
    clean_at_both_sizes(page, screenshot, "destinations")

    # The schedule: hourly, from three hours back, in UTC.
    page.click("nav.sidebar a:has-text('Schedules')")
    page.click("a:has-text('New schedule')")
    page.wait_for_selector("h1:has-text('New schedule')")
    page.fill("#id_name", "gpt hourly")
    page.select_option("#id_destination_id", label=f"Team bucket (s3://{bucket}/llm-logs)")
    page.select_option("#id_interval", "hourly")
    assert not page.locator("#id_hour").is_visible()  # an hourly schedule has no hour
    page.fill("#id_timezone", "UTC")
    page.fill("#id_start", first.strftime("%Y-%m-%dT%H:%M"))
    clean_at_both_sizes(page, screenshot, "schedule-new")
    page.click("button:has-text('Create schedule')")
    page.wait_for_selector("h1:has-text('gpt hourly')")
    assert "Every hour" in page.inner_text("header")

    # The runs appear by themselves (the section polls) and each reaches Success.
    page.wait_for_selector("#schedule-runs tr.run-row:nth-child(3)", timeout=40_000)
    page.wait_for_selector("#schedule-runs[data-polling=false]", timeout=40_000)
    statuses = page.locator("#schedule-runs tr.run-row").evaluate_all(
        "rows => rows.map(row => row.dataset.status)")
    assert statuses == ["success"] * 3
    windows = page.locator("#schedule-runs tr.run-row td[data-label=Window]").all_inner_texts()
    assert windows[0].startswith(f"{this_hour - timedelta(hours=1):%Y-%m-%d %H:%M}")  # newest
    runs = list(ScheduleRun.objects.order_by("-window_start"))
    assert [run.window_start for run in runs] == [this_hour - timedelta(hours=n)
                                                  for n in (1, 2, 3)]
    links = page.locator("#schedule-runs tr.run-row a").evaluate_all(
        "links => links.map(link => link.getAttribute('href'))")
    assert links == [f"/exports/{run.export_id}/" for run in runs]
    assert page.locator("#schedule-runs tr.run-row a").first.inner_text().startswith("3 logs")
    clean_at_both_sizes(page, screenshot, "schedule-detail")

    # Each run's export was delivered; its page says where.
    wait_for(lambda: ExportDelivery.objects.filter(status=Outbox.Status.SENT).count() == 3,
             timeout=30, message="the runs' files were not delivered")
    page.locator("#schedule-runs tr.run-row a").first.click()
    key = page.locator("[data-testid=delivered-key]")
    day = this_hour - timedelta(hours=1)
    assert key.inner_text() == (f"llm-logs/gpt hourly/year={day:%Y}/month={day:%m}/"
                                f"day={day:%d}/{day:%Y%m%dT%H%M%SZ}.jsonl")
    page.click("nav.sidebar a:has-text('Schedules')")
    row = page.locator("table[data-testid=schedules] tr:has-text('gpt hourly')")
    assert "Active" in row.inner_text() and "Success" in row.inner_text()
    clean_at_both_sizes(page, screenshot, "schedules")
