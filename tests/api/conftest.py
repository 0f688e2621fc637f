"""API keys and a small JSON client for the REST API tests."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from accounts.models import ApiKey

ALL_SCOPES = ["logs.export", "logs.view", "logs.write"]


class ApiClient:
    """Django's test client speaking JSON with an API key (in x-portkey-api-key by default)."""

    def __init__(self, raw_key: str | None, *, bearer: bool = False):
        self.client = Client()
        self.headers = {}
        if raw_key is not None:
            self.headers = ({"Authorization": f"Bearer {raw_key}"} if bearer
                            else {"x-portkey-api-key": raw_key})

    def request(self, method: str, path: str, body=None, *, raw: bytes | str | None = None,
                **extra):
        data = raw if raw is not None else (json.dumps(body) if body is not None else "")
        return getattr(self.client, method)(
            path, data=data, content_type="application/json", headers=self.headers, **extra
        )

    def get(self, path: str, **params):
        return self.client.get(path, params, headers=self.headers)

    def post(self, path: str, body=None, **kwargs):
        return self.request("post", path, body, **kwargs)

    def put(self, path: str, body=None, **kwargs):
        return self.request("put", path, body, **kwargs)


def issue_key(workspace=None, *, organization=None, scopes=None, name="test") -> tuple[ApiKey, str]:
    return ApiKey.issue(
        organization=organization or workspace.organization, workspace=workspace, name=name,
        scopes=ALL_SCOPES if scopes is None else scopes,
    )


@pytest.fixture
def api_key(workspace):
    return issue_key(workspace)


@pytest.fixture
def api(api_key):
    return ApiClient(api_key[1])


def assert_error(response, status: int, *, field=None, code=None, contains: str = ""):
    """The one error shape of the API, with the expected status, field and code."""
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"message", "field", "code"}
    assert body["error"]["message"]
    if field is not None:
        assert body["error"]["field"] == field, body
    if code is not None:
        assert body["error"]["code"] == code, body
    assert contains in body["error"]["message"], body
    return body["error"]
