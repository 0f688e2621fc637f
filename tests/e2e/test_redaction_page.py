"""Redaction in a real browser: a mandatory workspace policy fixed on the Request Data form,
more rules chosen there, the export written by a real worker, and the counts on its detail page;
axe-clean at both sizes."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from exports.models import ExportJob
from exports.redaction.policy import save_policy
from tests.conftest import wait_for
from tests.e2e.conftest import (
    horizontal_overflow,
    log_in_member,
    serious_accessibility_violations,
)
from tests.e2e.test_request_data import preview_settled
from tests.exports.redaction_corpus import create_redaction_corpus

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_choosing_rules_under_a_mandatory_policy_then_the_counts(
        sized_page, live_server, member, workspace, rq_workers):
    page = sized_page
    corpus = create_redaction_corpus(workspace, start=timezone.now() - timedelta(hours=2))
    save_policy(workspace=workspace, rules={"detectors": ["email"]}, mandatory=True,
                actor_label="admin")
    rq_workers.start(burst=False)
    log_in_member(page, live_server)
    page.goto(f"{live_server.url}/exports/new/")
    fixed = page.locator("#redaction input[type=checkbox][disabled]")
    assert fixed.count() == 1 and fixed.is_checked()
    assert "mandatory" in page.locator("#redaction-policy").inner_text()
    for name in ("request", "response", "metadata"):
        page.check(f"input[name=requested_data][value={name}]")
    page.check("input[name=redact_detectors][value=phone]")
    page.check("input[name=redact_detectors][value=secret]")
    page.fill("#id_redact_patterns", "ticket = ticket 42")
    preview_settled(page)
    assert serious_accessibility_violations(page) == []
    assert horizontal_overflow(page) == 0
    page.fill("#id_description", "Redacted")
    page.press("#id_description", "Enter")  # Request Export and Start
    page.wait_for_selector(".export-row:has-text('Redacted')")
    job = ExportJob.objects.get()
    assert job.redaction["detectors"] == ["email", "phone", "secret"]

    def done():
        job.refresh_from_db()
        return job.status == ExportJob.Status.SUCCESS

    wait_for(done, timeout=60, interval=0.2, message="the export did not finish")
    page.goto(f"{live_server.url}/exports/{job.id}/")
    counts = page.locator("#redaction-counts").inner_text()
    for kind in ("email", "phone", "secret"):
        assert f"{kind}: {len(corpus.planted[kind])}" in counts
    assert "credit_card" not in counts and "ticket:" in counts
    assert "email, phone, secret; patterns ticket" in page.locator("#redaction-rules").inner_text()
    assert serious_accessibility_violations(page) == []
    assert horizontal_overflow(page) == 0
