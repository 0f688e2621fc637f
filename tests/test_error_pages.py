"""The site's own 404 and 500 pages with DEBUG off, and the page's answers to malformed input."""

from __future__ import annotations

import uuid

import pytest

from exports import selectors
from exports.models import ExportJob

pytestmark = pytest.mark.django_db


@pytest.fixture
def member_client(client, user):
    client.force_login(user)
    return client


def test_a_missing_page_is_a_friendly_404(member_client, settings):
    settings.DEBUG = False
    response = member_client.get(f"/exports/{uuid.uuid4()}/row/")
    assert response.status_code == 404
    html = response.content.decode()
    assert "Page not found" in html and 'href="/"' in html
    assert "Traceback" not in html


def test_a_failure_is_a_friendly_500(member_client, settings, monkeypatch):
    settings.DEBUG = False
    member_client.raise_request_exception = False

    def broken(**kwargs):
        raise RuntimeError("database on fire")

    monkeypatch.setattr(selectors, "workspace_exports", broken)
    response = member_client.get("/")
    assert response.status_code == 500
    html = response.content.decode()
    assert "Something went wrong" in html and "database on fire" not in html


@pytest.mark.parametrize(("data", "field"), [
    ({"description": "a\x00b"}, "description"),
    ({"ai_model": "gpt\x00"}, "ai_model"),
    ({"time_range": "custom", "created_from": "0001-01-01T00:00"}, None),
    ({"time_range": "custom", "created_to": "9999-12-31T23:59"}, None),
])
def test_the_request_page_answers_malformed_input_without_a_500(member_client, seeded, data,
                                                                 field):
    post = {"time_range": "7d", "requested_data": ["id"], "limit": "10", **data}
    response = member_client.post("/exports/create/", post)
    if field is None:  # the calendar's ends are valid bounds
        assert response.status_code == 302
        return
    assert response.status_code == 422
    assert response.context["form"].errors[field]
    assert not ExportJob.objects.exists()


def test_a_lone_surrogate_cannot_reach_the_page(member_client, seeded):
    # Browsers send UTF-8; the bytes of a surrogate are not UTF-8, and Django decodes them as
    # U+FFFD, which every database stores.
    response = member_client.post("/exports/create/", "time_range=7d&requested_data=id&limit=10"
                                  "&description=a%ED%A0%80b",
                                  content_type="application/x-www-form-urlencoded")
    assert response.status_code == 302
    assert "\ud800" not in ExportJob.objects.get().description
    logs_page = member_client.get("/logs/?time_range=custom&created_from=0001-01-01T00:00"
                                  "&ai_model=%ED%A0%80&status_code=%00")
    assert logs_page.status_code == 200
