"""Log lines: no API key or signed link in any of them; a request id on each; JSON on demand."""

from __future__ import annotations

import io
import json
import logging

import pytest

from accounts.models import ApiKey
from exports import services
from exports.audit import Actor
from exports.models import ExportJob
from ops.logging import JsonFormatter, RedactSecretsFilter

pytestmark = pytest.mark.django_db


@pytest.fixture
def console_output():
    """What the configured console handler (config.settings.LOGGING) writes, captured."""
    handler = next(h for h in logging.getLogger().handlers
                   if any(isinstance(f, RedactSecretsFilter) for f in h.filters))
    stream = io.StringIO()
    previous = handler.setStream(stream)
    yield stream
    handler.setStream(previous)


def test_no_key_or_signed_link_reaches_a_log_line(client, user, seeded, settings,
                                                  console_output):
    settings.REQUEST_LOG = True
    api_key, raw_key = ApiKey.issue(organization=seeded.organization, workspace=seeded,
                                    name="logged", scopes=["logs.export"])
    job = services.export_job_create(workspace=seeded, filters={}, requested_data=["id"])
    ExportJob.objects.filter(id=job.id).update(status="success", file_name="missing.jsonl",
                                               attempt=1)
    job.refresh_from_db()
    link = services.export_job_download_url(job=job, actor=Actor(channel="api", api_key=api_key))
    token = link.rstrip("/").rsplit("/", 1)[1]

    # The signed link fetched after its file is gone: a 404 that Django logs with its path.
    client.get(f"/exports/file/{token}x/")
    # A key sent to the API, and one that is wrong.
    client.get("/v1/logs/exports", headers={"x-portkey-api-key": raw_key})
    client.get("/v1/logs/exports", headers={"Authorization": f"Bearer {raw_key}zz"})
    # Code that logs carelessly is scrubbed too, tracebacks included.
    logging.getLogger("exports").warning("retrying with %s at %s", raw_key, link)
    try:
        raise RuntimeError(f"could not fetch https://s3.example/b/f.jsonl?X-Amz-Signature=abc1 "
                           f"with {raw_key}")
    except RuntimeError:
        logging.getLogger("exports").exception("download failed")

    text = console_output.getvalue()
    assert "GET /exports/file/[redacted]/ 404" in text  # the request log line
    assert f"lx_{api_key.prefix}_[redacted]" in text
    assert raw_key not in text and token not in text
    assert "X-Amz-Signature=abc1" not in text and "?[redacted]" in text


def test_each_request_has_an_id_on_its_log_lines_and_its_response(client, settings,
                                                                   console_output):
    settings.REQUEST_LOG = True
    first = client.get("/healthz/nothing-here")
    second = client.get("/accounts/login/", headers={"X-Request-ID": "proxy-given-id-42"})
    assert len(first["X-Request-ID"]) == 32
    assert second["X-Request-ID"] == "proxy-given-id-42"
    text = console_output.getvalue()
    assert f"[{first['X-Request-ID']}]" in text and "[proxy-given-id-42]" in text
    # Django's own "Not Found" line, written after the middleware returned, has the id too.
    assert f"[{first['X-Request-ID']}]: Not Found: /healthz/nothing-here" in text


def test_json_lines_carry_the_request_fields():
    record = logging.LogRecord("ops.requests", logging.INFO, __file__, 1, "GET %s 200", ("/x",),
                               None)
    record.request_id = "abc123abc123"
    record.http = {"method": "GET", "path": "/exports/file/secret-token/", "status": 200}
    RedactSecretsFilter().filter(record)
    line = json.loads(JsonFormatter().format(record))
    assert line["request_id"] == "abc123abc123" and line["message"] == "GET /x 200"
    assert line["http"]["path"] == "/exports/file/[redacted]/"
    assert line["level"] == "INFO" and line["logger"] == "ops.requests"


@pytest.mark.integration
def test_runserver_under_debug_prints_no_signed_link_and_refuses_static_escapes(tmp_path):
    """`manage.py runserver` with DEBUG on, as a developer runs it: Django's own console handler
    (DEBUG only) printed "Not Found: /exports/file/eyJ…" unredacted, and a static path that
    climbs out of the static folder was a 500."""
    import os
    import subprocess
    import sys

    import requests

    from tests.conftest import ROOT, wait_for
    from tests.ops.test_health import free_port

    port = free_port()
    env = {**{k: v for k, v in os.environ.items() if k != "DATABASE_URL"},
           "DEBUG": "1", "VAR_DIR": str(tmp_path), "PYTHONUNBUFFERED": "1"}
    output = tmp_path / "runserver.log"
    with open(output, "w") as log:
        server = subprocess.Popen(  # noqa: S603 - fixed arguments
            [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    token = "eyJqb2IiOiIxIn0:secretpartofthelink1234"
    try:
        def answers():
            try:
                return requests.get(f"{base}/healthz", timeout=2).status_code == 200
            except requests.ConnectionError:
                return False

        wait_for(answers, timeout=60, interval=0.3,
                 message=f"runserver never answered:\n{output.read_text()[-3000:]}")
        assert requests.get(f"{base}/exports/file/{token}/", timeout=10).status_code == 404
        escape = requests.get(f"{base}/static/..%2f..%2fconfig/settings.py", timeout=10)
        assert escape.status_code == 404
        assert "SECRET_KEY" not in escape.text
        wait_for(lambda: "/exports/file/[redacted]" in output.read_text(), timeout=10,
                 message=output.read_text()[-3000:])
    finally:
        server.terminate()
        server.wait(timeout=10)
    text = output.read_text()
    assert "secretpartofthelink" not in text, text
