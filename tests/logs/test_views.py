"""The Logs page: newest first, filtered like an export, each log's JSON, Export these logs."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from logs.models import Log

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def member_client(client, user):
    client.force_login(user)
    return client


def make_log(workspace, *, minutes_ago: int, model="gpt-4o", status=200, **extra) -> Log:
    return Log.objects.create(
        workspace=workspace, created_at=timezone.now() - timedelta(minutes=minutes_ago),
        ai_provider="openai", ai_model=model, status_code=status,
        request={"messages": [{"role": "user", "content": "hello"}]},
        response={"choices": [{"text": "hi there"}]}, **extra,
    )


def test_logs_need_login(client, workspace):
    log = make_log(workspace, minutes_ago=1)
    assert client.get("/logs/").status_code == 302
    assert client.get(f"/logs/{log.id}/").status_code == 302


def test_newest_first_paged_by_position_and_highlighted_in_the_sidebar(member_client, workspace):
    for minutes in range(60):
        make_log(workspace, minutes_ago=minutes, trace_id=f"t{minutes}")
    response = member_client.get("/logs/")
    html = response.content.decode()
    page_logs = list(response.context["page"].object_list)
    assert len(page_logs) == 50
    assert [log.created_at for log in page_logs] == sorted(
        (log.created_at for log in page_logs), reverse=True)
    assert "60 logs match" in html
    older = re.search(r'<a class="button small" href="\?([^"]*)before=([^"&]+)" '
                      r'hx-get="\?\1before=\2" hx-target="#log-list"[^>]*>Older</a>', html)
    assert older, "no Older link keeping the filters"
    assert ">Newer</a>" not in html  # the newest page
    assert 'class="nav-link active" aria-current="page">Logs' in html
    second = member_client.get(f"/logs/?{older.group(1).replace('&amp;', '&')}"
                               f"before={older.group(2)}", **HTMX)
    assert second.status_code == 200 and b"<html" not in second.content
    assert second.content.decode().count(">View JSON<span") == 10
    assert {log.trace_id for log in second.context["page"].object_list} == {
        f"t{minutes}" for minutes in range(50, 60)}


def test_filters_by_time_model_and_status_and_offers_to_export_them(member_client, workspace):
    make_log(workspace, minutes_ago=5, model="gpt-4o", status=200)
    make_log(workspace, minutes_ago=6, model="gpt-4o", status=429)
    make_log(workspace, minutes_ago=7, model="claude-3", status=200)
    make_log(workspace, minutes_ago=60 * 24 * 3, model="gpt-4o", status=200)
    response = member_client.get("/logs/?time_range=24h&ai_model=gpt-4o&status_code=200,429")
    assert len(response.context["page"].object_list) == 2
    assert {log.status_code for log in response.context["page"].object_list} == {200, 429}
    html = response.content.decode()
    assert ('href="/exports/new/?time_range=24h&amp;ai_model=gpt-4o&amp;status_code=200%2C429"'
            in html)
    assert '<option value="claude-3">' in html and '<option value="gpt-4o" selected>' in html
    week = member_client.get("/logs/?time_range=7d&ai_model=gpt-4o")
    assert len(week.context["page"].object_list) == 3


def test_a_bad_status_code_is_named_and_the_list_is_unfiltered(member_client, workspace):
    make_log(workspace, minutes_ago=1)
    response = member_client.get("/logs/?status_code=abc")
    assert response.status_code == 200
    assert "&#x27;abc&#x27; is not an HTTP status code" in response.content.decode()


def test_a_log_opens_its_full_request_and_response(member_client, workspace):
    log = make_log(workspace, minutes_ago=1, metadata={"team": "search"})
    full = member_client.get(f"/logs/{log.id}/")
    html = full.content.decode()
    assert full.status_code == 200 and "<html" in html
    assert "&quot;content&quot;: &quot;hello&quot;" in html
    assert "&quot;text&quot;: &quot;hi there&quot;" in html and "&quot;team&quot;" in html
    partial = member_client.get(f"/logs/{log.id}/", **HTMX)
    assert b"<html" not in partial.content and b"hi there" in partial.content


def test_another_workspaces_logs_are_invisible(member_client, workspace, other_workspace):
    theirs = make_log(other_workspace, minutes_ago=1, trace_id="their-trace")
    assert member_client.get(f"/logs/{theirs.id}/").status_code == 404
    assert member_client.get(f"/logs/{theirs.id}/", **HTMX).status_code == 404
    assert b"their-trace" not in member_client.get("/logs/?time_range=custom").content
    assert member_client.get("/logs/?time_range=custom").context["total"].value == 0


@pytest.mark.parametrize("bad", ["abc", "999"])
def test_a_status_code_that_does_not_parse_lists_nothing(member_client, workspace, bad):
    make_log(workspace, minutes_ago=1)
    for extra in ({}, HTMX):
        response = member_client.get(f"/logs/?time_range=30d&ai_model=gpt-4o&status_code={bad}",
                                     **extra)
        html = response.content.decode()
        assert response.status_code == 200
        assert "View JSON" not in html and 'data-testid="filters-invalid"' in html
        assert "Status code:" in html and "100-599" in html
        assert "Export these logs" not in html
    html = member_client.get("/logs/?time_range=30d&ai_model=gpt-4o&status_code=200",
                             **HTMX).content.decode()
    assert html.count("View JSON<span") == 1
    assert "ai_model=gpt-4o" in html and "status_code=200" in html  # Export these logs keeps both
