"""Issue 17's smaller things, through Django's test client: /login/, the icon, the way back
from the API docs, one UTC time format (the admin's too), dollars and paging on the Logs page."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from exports import services
from exports.models import ExportJob

pytestmark = pytest.mark.django_db
UTC_MOMENT = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC"


@pytest.fixture
def member_client(client, user):
    client.force_login(user)
    return client


def test_login_redirects_to_the_sign_in_page_keeping_next(client):
    response = client.get("/login/?next=/logs/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/logs/"
    assert b"Sign in" in client.get(response["Location"]).content


def test_the_pages_have_an_icon_and_a_logo(member_client):
    html = member_client.get("/").content.decode()
    icon = re.search(r'<link rel="icon" href="([^"]+)" type="image/svg\+xml">', html).group(1)
    assert member_client.get("/favicon.ico")["Location"] == icon
    assert 'class="brand-mark" src="/static/img/logo.svg"' in html
    assert 'rel="icon" href="data:,"' not in Client().get("/accounts/login/").content.decode()


def test_the_api_docs_link_back_into_the_app(client):
    html = client.get("/v1/docs").content.decode()
    assert '<a href="/" class="docs-home">' in html and 'href="/logs/"' in html


def test_one_utc_format_in_the_app_and_the_admin(member_client, seeded, user):
    job = services.export_job_create(workspace=seeded, filters={}, requested_data=["id"],
                                     created_by=user)
    detail = member_client.get(f"/exports/{job.id}/").content.decode()
    assert re.search(f"Requested by ada, <time[^>]*>{UTC_MOMENT}</time>", detail)
    staff = Client()
    staff.force_login(get_user_model().objects.create_superuser(username="root", password=None))
    listing = staff.get("/admin/exports/exportjob/").content.decode()
    assert re.search(UTC_MOMENT, listing)
    assert not re.search(r"\d{1,2}/\d{1,2}/\d{4} \d", listing)  # no 12/02/2026 3:40 p.m.
    assert "p.m." not in listing and "a.m." not in listing
    assert ExportJob.objects.count() == 1


def test_logs_show_cost_in_dollars_and_where_the_page_stands(member_client, seeded):
    html = member_client.get("/logs/?time_range=30d").content.decode()
    assert "Cost (¢)" not in html
    assert re.search(r'<td class="num">\$\d+\.\d{4}</td>', html)
    assert '<span class="muted small" data-testid="page-position">1–50 of 300</span>' in html
    older = re.search(r'href="\?([^"]*before=[^"]+)"', html).group(1).replace("&amp;", "&")
    second = member_client.get(f"/logs/?{older}").content.decode()
    assert '<span class="muted small" data-testid="page-position">51–100 of 300</span>' in second
    assert '<span data-testid="log-range">Showing 51–100.</span>' in second
    assert 'data-testid="newer-logs"' in second
    log = seeded.logs.first()
    detail = member_client.get(f"/logs/{log.id}/").content.decode()
    assert f"${log.cost / 100:,.8f}" in detail and "¢" in detail
