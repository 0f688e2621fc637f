"""The API keys page of workspace settings: create (shown once), list, revoke; admins only."""

from __future__ import annotations

import hashlib
import re

import pytest
from django.contrib.auth import get_user_model

from accounts.api_keys import authenticate_api_key
from accounts.models import ApiKey, Membership

URL = "/workspaces/api-keys/"
CREATE = "/workspaces/api-keys/create/"
HTMX = {"HX-Request": "true"}


@pytest.fixture
def workspace_admin(workspace):
    person = get_user_model().objects.create_user(username="root-of-main")  # no password hashing
    Membership.objects.create(user=person, workspace=workspace, role=Membership.Role.ADMIN)
    return person


def raw_key_in(html: str) -> str:
    found = re.search(r'value="(lx_[0-9a-f]{12}_[A-Za-z0-9_-]+)"', html)
    assert found, "no key shown"
    return found.group(1)


@pytest.mark.parametrize("htmx", [False, True], ids=["no-js", "htmx"])
def test_an_admin_creates_a_key_shown_once_and_stored_hashed(client, workspace_admin, workspace,
                                                             htmx):
    client.force_login(workspace_admin)
    response = client.post(CREATE, {"name": "warehouse sync",
                                    "scopes": ["logs.export", "logs.view"]},
                           headers=HTMX if htmx else {})
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    html = response.content.decode()
    assert ("<html" in html) is not htmx  # htmx gets the body partial only
    raw = raw_key_in(html)
    api_key = ApiKey.objects.get()
    assert (api_key.workspace, api_key.organization) == (workspace, workspace.organization)
    assert api_key.scopes == ["logs.export", "logs.view"]
    assert api_key.key_hash == hashlib.sha256(raw.encode()).hexdigest()
    assert raw not in str(ApiKey.objects.values().get())
    assert f"lx_{api_key.prefix}_…" in html and "Never" in html  # listed, not used yet
    assert authenticate_api_key(raw) == api_key

    listed = client.get(URL).content.decode()
    assert f"lx_{api_key.prefix}_…" in listed and "warehouse sync" in listed
    assert raw not in listed and raw[-20:] not in listed  # never shown again
    assert "Never" not in listed and "minutes ago" in listed  # its last use


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [({"name": "", "scopes": ["logs.view"]}, "Name", "give the key a name"),
     ({"name": "x"}, "Scopes", "choose at least one scope"),
     ({"name": "x", "scopes": ["logs.delete"]}, "Scopes", "logs.delete")],
)
def test_bad_input_names_the_field_and_creates_nothing(client, workspace_admin, data, field,
                                                       message):
    client.force_login(workspace_admin)
    response = client.post(CREATE, data)
    assert response.status_code == 422
    errors = re.findall(r'class="field-error"[^>]*>([^<]*)<', response.content.decode())
    assert any(error.startswith(f"{field}:") and message in error for error in errors), errors
    assert not ApiKey.objects.exists()


def test_the_page_lists_prefix_scopes_and_last_use_of_this_workspace_only(
    client, workspace_admin, workspace, other_workspace
):
    ours, raw = ApiKey.issue(organization=workspace.organization, workspace=workspace,
                             name="ours", scopes=["logs.view"])
    authenticate_api_key(raw)  # marks its last use
    theirs, _ = ApiKey.issue(organization=other_workspace.organization,
                             workspace=other_workspace, name="theirs", scopes=["logs.export"])
    org_wide, _ = ApiKey.issue(organization=workspace.organization, name="org-wide",
                               scopes=["logs.export"])
    client.force_login(workspace_admin)
    html = client.get(URL).content.decode()
    assert f"lx_{ours.prefix}_" in html and "<code>logs.view</code>" in html
    assert re.search(r"0\xa0minutes ago|0 minutes ago", html)
    assert f"lx_{theirs.prefix}_" not in html and "theirs" not in html
    assert f"lx_{org_wide.prefix}_" not in html
    # Another workspace's key cannot be revoked from here either: it does not exist for us.
    response = client.post(f"/workspaces/api-keys/{theirs.id}/revoke/")
    assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.is_active


@pytest.mark.parametrize("htmx", [False, True], ids=["no-js", "htmx"])
def test_revoke_refuses_the_key_from_then_on(client, workspace_admin, workspace, htmx):
    api_key, raw = ApiKey.issue(organization=workspace.organization, workspace=workspace,
                                name="old", scopes=["logs.view"])
    client.force_login(workspace_admin)
    response = client.post(f"/workspaces/api-keys/{api_key.id}/revoke/",
                           headers=HTMX if htmx else {})
    if htmx:
        assert response.status_code == 200 and "Revoked old" in response.content.decode()
    else:
        assert response.status_code == 302 and response["Location"] == URL
        assert "Revoked old" in client.get(URL).content.decode()
    api_key.refresh_from_db()
    assert api_key.revoked_at is not None
    first = api_key.revoked_at
    again = client.post(f"/workspaces/api-keys/{api_key.id}/revoke/", follow=True)
    assert "already revoked" in again.content.decode()
    api_key.refresh_from_db()
    assert api_key.revoked_at == first
    from accounts.api_keys import KeyRejected

    with pytest.raises(KeyRejected, match="revoked"):
        authenticate_api_key(raw)


def test_a_plain_member_sees_the_keys_but_cannot_create_or_revoke(client, user, workspace):
    api_key, _ = ApiKey.issue(organization=workspace.organization, workspace=workspace,
                              name="ci", scopes=["logs.view"])
    client.force_login(user)  # role Member
    html = client.get(URL).content.decode()
    assert f"lx_{api_key.prefix}_" in html
    assert "Only admins of Main can create or revoke API keys" in html
    assert 'action="/workspaces/api-keys/create/"' not in html and "Revoke" not in html
    created = client.post(CREATE, {"name": "sneaky", "scopes": ["logs.export"]})
    assert created.status_code == 403
    assert ApiKey.objects.count() == 1
    revoked = client.post(f"/workspaces/api-keys/{api_key.id}/revoke/")
    assert revoked.status_code == 403
    api_key.refresh_from_db()
    assert api_key.is_active


def test_get_only_and_post_only_and_login_required(client, workspace_admin):
    assert client.get(URL).status_code == 302  # to the login page
    client.force_login(workspace_admin)
    assert client.post(URL).status_code == 405
    assert client.get(CREATE).status_code == 405


def test_csrf_is_enforced(workspace_admin):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    strict.force_login(workspace_admin)
    assert strict.post(CREATE, {"name": "x", "scopes": ["logs.view"]}).status_code == 403
    assert not ApiKey.objects.exists()


def test_the_sidebar_links_the_page(client, workspace_admin):
    client.force_login(workspace_admin)
    html = client.get("/").content.decode()
    assert f'href="{URL}"' in html
    page = client.get(URL).content.decode()
    assert re.search(r'href="/workspaces/api-keys/" class="nav-link active" aria-current="page"',
                     page)
