"""The admin's API keys (scopes as checkboxes, the key shown once), tenant filters, the
development admin login, and where a superuser in no workspace is sent."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.test import Client

from accounts.api_keys import authenticate_api_key
from accounts.models import ApiKey, Membership

pytestmark = pytest.mark.django_db


@pytest.fixture
def root():
    return get_user_model().objects.create_superuser(username="root", password=None)


@pytest.fixture
def staff(root):
    client = Client()
    client.force_login(root)
    return client


def test_scopes_are_checkboxes_and_the_new_key_is_shown_once(staff, workspace):
    form = staff.get("/admin/accounts/apikey/add/").content.decode()
    assert form.count('type="checkbox" name="scopes"') == 3
    assert "<textarea" not in form  # no raw JSON box
    response = staff.post("/admin/accounts/apikey/add/", {
        "name": "etl", "organization": workspace.organization_id, "workspace": workspace.id,
        "scopes": ["logs.view", "logs.export"],
    })
    assert response.status_code == 200 and "no-store" in response["Cache-Control"]
    raw = re.search(r'value="(lx_[^"]+)"', response.content.decode()).group(1)
    assert raw not in str(response.cookies) and raw not in str(dict(staff.session))
    api_key = ApiKey.objects.get()
    assert api_key.scopes == ["logs.export", "logs.view"]
    assert authenticate_api_key(raw) == api_key
    change = staff.get(f"/admin/accounts/apikey/{api_key.id}/change/").content.decode()
    assert raw not in change
    assert re.search(r'value="logs.export"[^>]*checked|checked[^>]*value="logs.export"', change)


def test_no_scope_is_refused_with_the_field_named(staff, workspace):
    response = staff.post("/admin/accounts/apikey/add/", {
        "name": "etl", "organization": workspace.organization_id, "workspace": workspace.id,
    })
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["scopes"] == ["choose at least one scope"]
    assert not ApiKey.objects.exists()


def test_a_key_cannot_pair_one_organization_with_another_organizations_workspace(
    staff, workspace, other_workspace
):
    response = staff.post("/admin/accounts/apikey/add/", {
        "name": "cross", "organization": workspace.organization_id,
        "workspace": other_workspace.id, "scopes": ["logs.export"],
    })
    assert response.status_code == 200
    assert "belongs to Other" in response.context["adminform"].form.errors["workspace"][0]
    assert not ApiKey.objects.exists()


def test_the_revoke_action_and_a_revocation_is_final(staff, workspace):
    api_key, raw = ApiKey.issue(organization=workspace.organization, workspace=workspace,
                                name="old", scopes=["logs.view"])
    staff.post("/admin/accounts/apikey/", {"action": "revoke_keys",
                                           "_selected_action": [str(api_key.id)]})
    api_key.refresh_from_db()
    assert api_key.revoked_at is not None
    change = staff.get(f"/admin/accounts/apikey/{api_key.id}/change/").content.decode()
    assert 'name="revoked_at' not in change and 'name="workspace"' not in change


def test_organization_and_workspace_filters_on_the_lists(staff, workspace, other_workspace,
                                                         user):
    for url, expected in [
        ("/admin/accounts/apikey/", ("By organization", "By workspace")),
        ("/admin/accounts/membership/", ("By organization", "By workspace")),
        ("/admin/accounts/workspace/", ("By organization",)),
        ("/admin/logs/log/", ("By organization", "By workspace")),
    ]:
        html = staff.get(url).content.decode()
        assert all(title in html for title in expected), url
    # The rows the filter leaves (not a name searched in the page: a random id may contain it).
    members = staff.get("/admin/accounts/membership/").context["cl"].result_list
    assert [member.user.username for member in members] == ["ada"]
    by_org = staff.get("/admin/accounts/membership/",
                       {"workspace__organization__id__exact": other_workspace.organization_id})
    assert list(by_org.context["cl"].result_list) == []


def test_logs_are_read_only_in_the_admin(staff, seeded):
    log = seeded.logs.first()
    assert staff.get("/admin/logs/log/add/").status_code == 403
    view = staff.get(f"/admin/logs/log/{log.id}/change/")
    assert view.status_code == 200 and 'name="_save"' not in view.content.decode()
    response = staff.post(f"/admin/logs/log/{log.id}/change/", {"ai_model": "forged"})
    assert response.status_code == 403
    assert staff.post(f"/admin/logs/log/{log.id}/delete/", {"post": "yes"}).status_code == 403
    log.refresh_from_db()
    assert log.ai_model != "forged"


# --- The development admin login --------------------------------------------------------------

def test_the_dev_admin_is_made_with_debug_on_and_printed(settings, capsys):
    settings.DEBUG = True
    call_command("ensure_dev_admin")
    assert "admin login: user 'admin', password 'admin' at /admin/" in capsys.readouterr().out
    admin_user = get_user_model().objects.get(username="admin")
    assert admin_user.is_superuser and admin_user.is_staff and admin_user.check_password("admin")
    call_command("ensure_dev_admin")  # again: reused, not duplicated
    assert get_user_model().objects.filter(username="admin").count() == 1


def test_the_dev_admin_is_refused_with_debug_off(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="DEBUG is off"):
        call_command("ensure_dev_admin")
    assert not get_user_model().objects.filter(username="admin").exists()


def test_a_changed_password_or_an_ordinary_admin_user_is_left_alone(settings, capsys):
    settings.DEBUG = True
    call_command("ensure_dev_admin")
    admin_user = get_user_model().objects.get(username="admin")
    admin_user.set_password("something-else-long")
    admin_user.save()
    call_command("ensure_dev_admin")
    out = capsys.readouterr().out
    assert "password was changed" in out and "'admin', password 'admin'" not in out.split("\n")[1]
    admin_user.refresh_from_db()
    assert admin_user.check_password("something-else-long")
    get_user_model().objects.filter(username="admin").update(is_superuser=False, is_staff=False)
    call_command("ensure_dev_admin")
    assert "is not an active superuser" in capsys.readouterr().out
    assert not get_user_model().objects.get(username="admin").is_superuser


# --- A superuser in no workspace ----------------------------------------------------------------

def test_a_superuser_in_no_workspace_is_shown_the_way_not_told_to_ask_an_admin(staff):
    for url in ("/", "/workspaces/api-keys/"):
        html = staff.get(url).content.decode()
        assert "Ask an admin" not in html, url
        assert "signed in as an administrator but belong to no workspace" in html
        assert 'href="/admin/accounts/membership/add/"' in html
        assert 'href="/admin/accounts/organization/add/"' in html
    assert staff.get("/logs/")["Location"] == "/"  # the Logs page sends them there too


def test_a_member_in_no_workspace_is_still_told_to_ask_an_admin(client):
    client.force_login(get_user_model().objects.create_user(username="loner"))
    html = client.get("/").content.decode()
    assert "Ask an admin of your organization" in html and "/admin/" not in html


def test_a_superuser_with_a_membership_sees_the_workspace(staff, root, workspace):
    Membership.objects.create(user=root, workspace=workspace)
    html = staff.get("/").content.decode()
    assert "belong to no workspace" not in html and "Main" in html
