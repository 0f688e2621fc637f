"""`manage.py serve` (what `make serve` runs): gunicorn + RQ workers under DJANGO_ENV=production
against PostgreSQL, Redis and S3 (SeaweedFS): 50 clients at once all get answers, an export made
through the API runs on the served worker, and no key or signed link reaches its output."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from django.db import connection

from accounts.models import ApiKey
from tests.conftest import ROOT, _database_url, wait_for
from tests.exports.s3_server import ACCESS_KEY, BUCKET, SECRET_KEY, s3_server  # noqa: F401
from tests.ops.test_health import free_port

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]
CLIENTS = 50
# What the proxy in front of the app sends; production redirects plain HTTP to HTTPS otherwise.
PROXY_HEADERS = {"X-Forwarded-Proto": "https"}


def test_serve_runs_gunicorn_and_workers_on_postgresql_redis_and_s3(
        seeded, export_queue, redis_url, s3_server, tmp_path):  # noqa: F811
    if connection.vendor != "postgresql":
        pytest.skip("production runs on PostgreSQL only: set DATABASE_URL")
    api_key, raw_key = ApiKey.issue(organization=seeded.organization, workspace=seeded,
                                    name="serve test", scopes=["logs.export"])
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("EXPORTS_", "SECURE_"))},
        "DJANGO_ENV": "production",
        "SECRET_KEY": "serve-test-" + "k" * 60,
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DATABASE_URL": _database_url(),
        "REDIS_URL": redis_url,
        "EMAIL_HOST": "smtp.example.com",  # never reached: no mail is sent here
        "EXPORTS_QUEUE": export_queue.name,
        "EXPORTS_STORAGE": "s3",
        "EXPORTS_S3_ENDPOINT_URL": s3_server,
        "EXPORTS_S3_BUCKET": BUCKET,
        "EXPORTS_S3_REGION": "us-east-1",
        "EXPORTS_S3_ACCESS_KEY_ID": ACCESS_KEY,
        "EXPORTS_S3_SECRET_ACCESS_KEY": SECRET_KEY,
        "EXPORTS_S3_PREFIX": f"serve-test-{port}",
        "VAR_DIR": str(tmp_path),
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "WEB_CONCURRENCY": "2",
        "WEB_THREADS": "4",
    }
    output = tmp_path / "serve.log"
    with open(output, "w") as log:
        serve = subprocess.Popen(  # noqa: S603 - fixed arguments
            [sys.executable, "manage.py", "serve", "--workers", "1"], cwd=ROOT, env=env,
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: answers(f"{base}/healthz"), timeout=60, interval=0.3,
                 message=f"gunicorn never answered:\n{output.read_text()[-3000:]}")
        assert requests.get(f"{base}/readyz", timeout=10).json()["status"] == "ready"

        # 50 clients connect at the same moment, each asking the API for the export list.
        start_together = threading.Barrier(CLIENTS)
        headers = {**PROXY_HEADERS, "x-portkey-api-key": raw_key}

        def one_client(_: int) -> int:
            start_together.wait(timeout=30)
            return requests.get(f"{base}/v1/logs/exports", headers=headers, timeout=60).status_code

        with ThreadPoolExecutor(CLIENTS) as pool:
            statuses = list(pool.map(one_client, range(CLIENTS)))
        assert statuses == [200] * CLIENTS

        # Production headers on a page.
        login = requests.get(f"{base}/accounts/login/", headers=PROXY_HEADERS, timeout=10)
        assert login.status_code == 200
        assert "max-age=31536000" in login.headers["Strict-Transport-Security"]
        assert "frame-ancestors 'none'" in login.headers["Content-Security-Policy"]
        plain = requests.get(f"{base}/accounts/login/", allow_redirects=False, timeout=10)
        assert plain.status_code == 301 and plain.headers["Location"].startswith("https://")

        # An export through the API, run by the worker `serve` started, its file on S3.
        created = requests.post(f"{base}/v1/logs/exports", headers=headers, timeout=30, json={
            "filters": {}, "requested_data": ["id", "created_at"], "limit": 120})
        assert created.status_code == 200, created.text
        export_id = created.json()["id"]
        started = requests.post(f"{base}/v1/logs/exports/{export_id}/start", headers=headers,
                                timeout=30)
        assert started.status_code == 200, started.text
        item = wait_for(lambda: finished(base, export_id, headers), timeout=90, interval=0.5,
                        message=f"the export never finished:\n{output.read_text()[-3000:]}")
        assert item["status"] == "success", item
        link = requests.get(f"{base}/v1/logs/exports/{export_id}/download", headers=headers,
                            timeout=30).json()["signed_url"]
        # The link is the app's: it records the fetch, then sends the client on to S3.
        # https: the app believes the proxy's X-Forwarded-Proto; the test has no TLS proxy.
        assert link.startswith(f"https://127.0.0.1:{port}/exports/file/")
        redirect = requests.get(link.replace("https://", "http://", 1), headers=PROXY_HEADERS,
                                allow_redirects=False, timeout=30)
        assert redirect.status_code == 302
        assert redirect.headers["Location"].startswith(s3_server)
        body = requests.get(redirect.headers["Location"], timeout=30)
        assert body.status_code == 200 and body.text.count("\n") == 120
        activity = requests.get(f"{base}/v1/logs/exports/{export_id}", headers=headers,
                                timeout=10).json()["activity"]
        assert [(entry["action"], entry["channel"]) for entry in activity[:2]] == [
            ("downloaded", "signed_url"), ("download_link", "api")]
    finally:
        serve.send_signal(signal.SIGTERM)
        serve.wait(timeout=60)
    text = output.read_text()
    assert "serving: role=all, web=gunicorn, export workers=1, database=postgresql" in text
    assert "Listening at: http://127.0.0.1:" in text  # gunicorn
    assert "stopped" in text
    assert raw_key not in text and link.rsplit("/file/", 1)[1] not in text
    assert redirect.headers["Location"].split("?", 1)[1] not in text
    assert not answers(f"{base}/healthz")
    # Structured request logs: one JSON line per request, each with its request id.
    logged = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
    api_lines = [entry for entry in logged if entry["logger"] == "ops.requests"
                 and entry["http"]["path"] == "/v1/logs/exports"]
    assert len(api_lines) >= CLIENTS + 1
    assert len({entry["request_id"] for entry in api_lines}) == len(api_lines)


def answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).status_code == 200
    except requests.RequestException:
        return False


def finished(base: str, export_id: str, headers: dict) -> dict | None:
    item = requests.get(f"{base}/v1/logs/exports/{export_id}", headers=headers, timeout=10).json()
    return item if item["status"] in ("success", "failed") else None
