"""Keyset pages: (created_at, id) positions instead of OFFSET, stable deep links, no gaps."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from logs.keyset import BadPosition, Position, keyset_page, parse_position, seek_slice
from logs.models import Log

HTMX = {"HTTP_HX_REQUEST": "true"}


def make_logs(workspace, count: int, *, at=None, every=timedelta(seconds=1)):
    at = at or timezone.now() - timedelta(hours=1)
    Log.objects.bulk_create([
        # Runs of three share a timestamp, so the id has to break the ties.
        Log(workspace=workspace, created_at=at + every * (index // 3), ai_model="gpt-4o")
        for index in range(count)
    ])


@pytest.fixture
def member_client(client, user):
    client.force_login(user)
    return client


def newest_first(workspace) -> list:
    return list(Log.objects.filter(workspace=workspace).order_by("-created_at", "-id")
                .values_list("id", flat=True))


def test_walking_older_then_newer_visits_every_log_once_in_order(workspace, other_workspace):
    make_logs(workspace, 107)
    make_logs(other_workspace, 20)
    logs = Log.objects.filter(workspace=workspace)
    expected = newest_first(workspace)
    seen, page = [], keyset_page(logs, size=10)
    assert page.newer is None
    while True:
        seen.extend(log.id for log in page.logs)
        if page.older is None:
            break
        page = keyset_page(logs, size=10, before=page.older)
    assert seen == expected
    back = []
    page = keyset_page(logs, size=10, after=Position.of(Log.objects.get(id=expected[-1])))
    while page.newer is not None:
        back = [log.id for log in page.logs] + back
        page = keyset_page(logs, size=10, after=page.newer)
    # The last step back lands on the newest page.
    assert [log.id for log in page.logs] == expected[:10]
    assert back == expected[len(expected) - 1 - len(back) : -1]  # contiguous, in order
    assert set(back) | set(expected[:10]) == set(expected[:-1])  # no log skipped


def test_a_position_survives_the_round_trip_through_a_link(workspace):
    make_logs(workspace, 1)
    log = Log.objects.get()
    position = parse_position(Position.of(log).token())
    assert position == Position(created_at=log.created_at, id=log.id)
    for bad in ("", "yesterday", "2026-01-01T00:00:00Z_not-a-uuid",
                f"2026-01-01T00:00:00_{log.id}"):  # no timezone
        with pytest.raises(BadPosition):
            parse_position(bad)


def test_the_page_query_seeks_without_offset(workspace):
    make_logs(workspace, 30)
    logs = Log.objects.filter(workspace=workspace)
    middle = Position.of(Log.objects.order_by("-created_at", "-id")[12])
    with CaptureQueriesContext(connection) as queries:
        page = keyset_page(logs, size=5, before=middle)
    assert len(queries) == 1
    assert "OFFSET" not in queries[0]["sql"].upper()
    assert [log.id for log in page.logs] == newest_first(workspace)[13:18]


@pytest.mark.parametrize("offset", [0, 1, 2, 3, 29, 58, 59, 60, 500])
def test_seek_slice_gives_the_rows_of_the_offset_slice(workspace, offset):
    make_logs(workspace, 60)
    logs = Log.objects.filter(workspace=workspace)
    plain = list(logs.order_by("created_at", "id")[offset : offset + 7])
    assert list(seek_slice(logs, offset=offset, limit=7)) == plain


def test_the_logs_page_deep_link_shows_the_same_logs_after_new_ones_arrive(member_client,
                                                                           workspace):
    make_logs(workspace, 130)
    first = member_client.get("/logs/?time_range=24h").content.decode()
    older = re.search(r'href="\?([^"]*before=[^"]+)"', first).group(1).replace("&amp;", "&")
    second = member_client.get(f"/logs/?{older}")
    before_arrivals = [log.id for log in second.context["page"].object_list]
    assert before_arrivals == newest_first(workspace)[50:100]
    make_logs(workspace, 40, at=timezone.now() - timedelta(minutes=1))
    again = member_client.get(f"/logs/?{older}")
    assert [log.id for log in again.context["page"].object_list] == before_arrivals
    html = again.content.decode()
    assert ">Newer</a>" in html and ">Newest</a>" in html and ">Older</a>" in html


def test_a_bad_position_in_a_link_shows_the_newest_logs_and_says_so(member_client, workspace):
    make_logs(workspace, 3)
    response = member_client.get("/logs/?before=nonsense", **HTMX)
    assert response.status_code == 200
    assert "is not a position in the logs; showing the newest logs." in \
        response.content.decode().replace("&#x27;", "'")
    assert len(response.context["page"].object_list) == 3


def test_the_default_time_range_holds_on_every_page(member_client, workspace):
    make_logs(workspace, 60)
    Log.objects.create(workspace=workspace, created_at=timezone.now() - timedelta(days=40))
    first = member_client.get("/logs/")
    assert "60 logs match" in first.content.decode()  # the default time range
    older = re.search(r'href="\?(before=[^"]+)"', first.content.decode()).group(1)
    second = member_client.get(f"/logs/?{older}")
    assert "60 logs match" in second.content.decode()
    assert len(second.context["page"].object_list) == 10
