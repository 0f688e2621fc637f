"""Login, logout and choosing a workspace."""

from __future__ import annotations

import pytest
from django.test import Client

from accounts.models import Membership


@pytest.fixture
def second_workspace(user, organization):
    second = organization.workspaces.create(name="Second", slug="second")
    Membership.objects.create(user=user, workspace=second)
    return second


def test_login_page_then_exports(client, user):
    page = client.get("/accounts/login/")
    assert page.status_code == 200 and b"Sign in" in page.content
    bad = client.post("/accounts/login/", {"username": "ada", "password": "wrong"})
    assert bad.status_code == 200 and b"notice error" in bad.content
    response = client.post("/accounts/login/", {"username": "ada", "password": "pw-ada-12345"})
    assert response.status_code == 302 and response["Location"] == "/"
    assert b"Log out" in client.get("/").content
    assert client.post("/accounts/logout/").status_code == 302
    assert client.get("/").status_code == 302


def test_the_switcher_appears_only_for_several_workspaces(client, user, workspace):
    client.force_login(user)
    assert b'name="workspace"' not in client.get("/").content
    workspace.organization.workspaces.create(name="Second", slug="second").memberships.create(
        user=user)
    html = client.get("/").content.decode()
    assert 'name="workspace"' in html and ">Second</option>" in html


def test_switching_to_a_workspace_of_ones_own(client, user, second_workspace):
    client.force_login(user)
    response = client.post("/workspaces/switch/",
                           {"workspace": str(second_workspace.id), "next": "/logs/"})
    assert response.status_code == 302 and response["Location"] == "/logs/"
    assert client.get("/").context["current_workspace"] == second_workspace
    offsite = client.post("/workspaces/switch/", {"workspace": str(second_workspace.id),
                                                  "next": "https://evil.example/"})
    assert offsite["Location"] == "/"


def test_switching_to_another_tenants_workspace_is_a_404(client, user, workspace,
                                                         other_workspace):
    client.force_login(user)
    assert client.post("/workspaces/switch/",
                       {"workspace": str(other_workspace.id)}).status_code == 404
    assert client.post("/workspaces/switch/", {"workspace": "nope"}).status_code == 404
    assert client.get("/").context["current_workspace"] == workspace
    assert client.get("/workspaces/switch/").status_code == 405


def test_switching_needs_the_csrf_token(user, second_workspace):
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(user)
    response = strict.post("/workspaces/switch/", {"workspace": str(second_workspace.id)})
    assert response.status_code == 403
