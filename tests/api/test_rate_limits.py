"""Per-key request budget (429 + Retry-After in the API's error shape), counted in the real
Redis so that it holds across processes; wrong keys from one address run out too."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from tests.api.conftest import ApiClient, assert_error, issue_key
from tests.conftest import ROOT

pytestmark = pytest.mark.django_db


@pytest.fixture
def three_per_minute(settings, redis_url):
    settings.REDIS_URL = redis_url
    settings.API_RATE_LIMIT = 3
    settings.API_RATE_LIMIT_WINDOW = 60
    return settings


def test_past_the_key_s_rate_the_api_answers_429_with_retry_after(api, workspace,
                                                                  three_per_minute):
    answers = [api.get("/v1/logs/exports").status_code for _ in range(3)]
    assert answers == [200, 200, 200]
    refused = api.get("/v1/logs/exports")
    error = assert_error(refused, 429, code="rate_limited",
                         contains="this API key may make 3 requests per 60 seconds")
    assert 1 <= int(refused["Retry-After"]) <= 60
    assert f"try again in {refused['Retry-After']} seconds" in error["message"]
    assert refused["Cache-Control"] == "no-store"

    # Another key of the same workspace has a budget of its own.
    _, other_raw = issue_key(workspace)
    assert ApiClient(other_raw).get("/v1/logs/exports").status_code == 200


def test_the_budget_is_shared_by_every_process(api, api_key, workspace, three_per_minute):
    """Two requests here, then one from another process (another web host): the fourth is over."""
    assert api.get("/v1/logs/exports").status_code == 200
    assert api.get("/v1/logs/exports").status_code == 200
    other_process = subprocess.run(  # noqa: S603 - fixed arguments
        [sys.executable, "-c", (
            "import django, os; os.environ['DJANGO_SETTINGS_MODULE'] = 'config.settings'; "
            "django.setup(); from django.conf import settings; "
            f"settings.RATE_LIMIT_NAMESPACE = {three_per_minute.RATE_LIMIT_NAMESPACE!r}; "
            "from ops.rate_limit import spend; "
            f"spend(budget='api-key:{api_key[0].prefix}', limit=3, window=60); print('counted')"
        )],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
        env={"PATH": "", "REDIS_URL": three_per_minute.REDIS_URL, "VAR_DIR": str(ROOT / "var")},
    )
    assert other_process.stdout.strip() == "counted", other_process.stderr
    assert_error(api.get("/v1/logs/exports"), 429, code="rate_limited")


def test_an_address_guessing_keys_is_refused_whatever_key_it_tries(api, workspace, settings,
                                                                  redis_url):
    settings.REDIS_URL = redis_url
    settings.API_AUTH_FAILURE_LIMIT = 3
    settings.TRUSTED_PROXY_COUNT = 1  # each test run guesses from an address of its own
    guesser = {"HTTP_X_FORWARDED_FOR": f"10.{os.getpid() % 250}.{time.time_ns() % 250}.9"}

    def guess(raw_key: str) -> int:
        return ApiClient(raw_key).client.get("/v1/logs/exports", **guesser,
                                             headers={"x-portkey-api-key": raw_key})

    assert [guess(f"lx_{index:012x}_guess").status_code for index in range(3)] == [401] * 3
    refused = guess("lx_000000000009_guess")
    assert_error(refused, 429, code="rate_limited", contains="wrong API key from this address")
    assert int(refused["Retry-After"]) > 0
    # Even a right key from there waits: the address is what is being limited.
    assert api.client.get("/v1/logs/exports", headers=api.headers, **guesser).status_code == 429
    assert api.get("/v1/logs/exports").status_code == 200  # from another address


def test_without_redis_requests_are_let_through(api, settings, three_per_minute):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens there
    assert [api.get("/v1/logs/exports").status_code for _ in range(5)] == [200] * 5
