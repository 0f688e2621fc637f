from __future__ import annotations

import hashlib

import pytest

from accounts.models import ApiKey


def test_a_key_is_shown_once_and_stored_only_as_prefix_and_hash(organization, workspace):
    api_key, raw = ApiKey.issue(organization=organization, workspace=workspace, name="ci",
                                scopes=["logs.view", "logs.export"])
    assert raw.startswith(f"lx_{api_key.prefix}_")
    assert len(raw) > 50
    stored = ApiKey.objects.get(id=api_key.id)
    assert stored.key_hash == hashlib.sha256(raw.encode()).hexdigest()
    assert raw not in str(ApiKey.objects.filter(id=api_key.id).values().get())
    assert stored.scopes == ["logs.export", "logs.view"]
    assert ApiKey.prefix_of(raw) == api_key.prefix
    assert ApiKey.prefix_of("sk-not-ours") is None


def test_unknown_scopes_are_refused(organization):
    with pytest.raises(ValueError, match="unknown scope"):
        ApiKey.issue(organization=organization, name="x", scopes=["logs.delete"])
    assert not ApiKey.objects.exists()


def test_a_key_never_pairs_an_organization_with_another_organizations_workspace(
    organization, other_workspace
):
    with pytest.raises(ValueError, match="another organization"):
        ApiKey.issue(organization=organization, workspace=other_workspace, name="x",
                     scopes=["logs.view"])
    assert not ApiKey.objects.exists()
