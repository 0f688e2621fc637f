"""Benchmark: every interactive request against one workspace of ROWS logs (default 10,000,000).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_scale make bench-scale
    DATABASE_URL=... make bench-scale ROWS=1000000

On the PostgreSQL of DATABASE_URL it makes sure a workspace `scale-<rows>` holds the logs (seeded
once with seed_logs' rows, in chunks of 1,000,000 that a rerun resumes, then VACUUM ANALYZE) and
1,000 exports, then times each interactive request in this process through Django's test client
(the whole view, middleware and template included; no HTTP server): one untimed warm-up, then
--repeat timed runs, printing p50 and p95 in ms. Then the export stream: a real export job in a
fresh process (its peak RSS is the export's alone) against `psql \\copy (SELECT row_to_json(t)
FROM (<the same query>) t)`, for the newest 50,000 logs (a time filter) and for 50,000 logs at
offset 5,000,000 (psql given the same query, with its OFFSET; and, strictly, psql given the rows'
key range, which costs it no skipped rows). Last line:
rows=N worst_p50_ms=... worst_p95_ms=... ratio=... (the lower of the two stream ratios against
psql's same query) peak_rss_mb=... ratio_vs_key_range=...

Then the whole workspace exported as one JSONL file on 2 real RQ workers, against psql's \\copy of
the same rows, with the peak RSS of every process of the export at ROWS and at 1,000,000 logs
(bench/scale_whole.py; --only-whole-export runs this step alone, --no-whole-export skips it; the
files go to a temporary folder in --scratch-dir, deleted after). Its line comes last:
whole_export rows=N seconds=... psql_seconds=... ratio=... peak_rss_mb_per_process=...
rss_at_1M=...
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.export import psql_copy_select_seconds, run_job_here, setup_django  # noqa: E402

TARGET_P50_MS, TARGET_P95_MS = 150, 300
TARGET_RATIO_NEWEST, TARGET_RATIO_OFFSET = 0.9, 0.8
TARGET_RSS_MB = 150
EXPORTS_ON_PAGE = 1_000
STREAM_ROWS = 50_000
DEEP_OFFSET = 5_000_000
CREATE_OFFSET = 1_500_000
BENCH_DESCRIPTION = "bench-scale request"


# --- Setup -------------------------------------------------------------------------------------

def ensure_exports(workspace, count: int) -> None:
    from django.utils import timezone

    from exports.fields import DEFAULT_FIELD_NAMES
    from exports.models import ExportJob

    ExportJob.objects.filter(workspace=workspace, description=BENCH_DESCRIPTION).delete()
    missing = count - ExportJob.objects.filter(workspace=workspace).count()
    statuses = [ExportJob.Status.SUCCESS, ExportJob.Status.FAILED, ExportJob.Status.DRAFT]
    now = timezone.now()
    ExportJob.objects.bulk_create([
        ExportJob(workspace=workspace, description=f"export {index}", filters={},
                  requested_data=list(DEFAULT_FIELD_NAMES), limit=50_000,
                  status=statuses[index % 3], total_records=50_000,
                  rows_written=50_000 if index % 3 == 0 else 0, created_at=now)
        for index in range(max(0, missing))
    ])


def ensure_member(workspace):
    from django.contrib.auth import get_user_model

    from accounts.models import Membership

    user, _ = get_user_model().objects.get_or_create(username="bench-scale")
    Membership.objects.get_or_create(user=user, workspace=workspace,
                                     defaults={"role": Membership.Role.ADMIN})
    return user


def sample_logs(workspace, count: int) -> list:
    """Logs spread over the whole workspace (a block sample: no scan)."""
    from logs.models import Log

    ids = Log.objects.raw(
        "SELECT id FROM logs_log TABLESAMPLE SYSTEM (0.1) REPEATABLE (42) "
        "WHERE workspace_id = %s LIMIT %s", [workspace.id, count]
    )
    return list(Log.objects.filter(id__in=[log.id for log in ids]))


def position_at(workspace, newest_rank: int):
    """The (created_at, id) position of the newest_rank-th newest log (an index-only seek)."""
    from logs.keyset import Position
    from logs.models import Log

    row = (Log.objects.filter(workspace=workspace).order_by("-created_at", "-id")
           .values_list("created_at", "id")[newest_rank])
    return Position(created_at=row[0], id=row[1])


# --- Timing ------------------------------------------------------------------------------------

def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def time_request(name: str, make, repeat: int, results: list) -> None:
    make(0)  # warm-up
    timings = []
    for run in range(1, repeat + 1):
        started = time.perf_counter()
        response = make(run)
        timings.append((time.perf_counter() - started) * 1000)
        if response.status_code not in (200, 201):
            raise SystemExit(f"{name}: HTTP {response.status_code}: {response.content[:300]!r}")
    p50, p95 = statistics.median(timings), percentile(timings, 0.95)
    flag = "" if p50 <= TARGET_P50_MS and p95 <= TARGET_P95_MS else "  <-- over target"
    print(f"{name:<52} p50 {p50:7.1f} ms   p95 {p95:7.1f} ms{flag}", flush=True)
    results.append((name, p50, p95))


def interactive_requests(workspace, rows: int, repeat: int) -> list:
    from django.test import Client

    from accounts.models import ApiKey
    from exports.fields import DEFAULT_FIELD_NAMES

    client = Client()
    client.force_login(ensure_member(workspace))
    _, raw_key = ApiKey.issue(organization=workspace.organization, name="bench-scale",
                              scopes=["logs.export"], workspace=workspace)
    api = {"HTTP_X_PORTKEY_API_KEY": raw_key}
    logs = sample_logs(workspace, repeat + 1)
    deep = position_at(workspace, min(rows - 1, DEEP_OFFSET))
    newer = position_at(workspace, min(rows - 1, 10_000))
    results: list = []

    def page(query: str):
        return lambda run: client.get(f"/logs/?{query}")

    print("\nLogs page (50 logs a page, newest first, bounded total):")
    time_request("Logs page, default (last 30 days)", page(""), repeat, results)
    time_request("Logs page, last 24 hours", page("time_range=24h"), repeat, results)
    time_request("Logs page, last 30 days", page("time_range=30d"), repeat, results)
    time_request("Logs page, 30 days + model", page("time_range=30d&ai_model=gpt-4o"),
                 repeat, results)
    time_request("Logs page, 30 days + status 429", page("time_range=30d&status_code=429"),
                 repeat, results)
    time_request("Logs page, 30 days + model + status 500",
                 page("time_range=30d&ai_model=claude-3-haiku&status_code=500"), repeat, results)
    time_request("Logs page, custom range (~15 days)",
                 page("time_range=custom&created_from=" + (deep.created_at.strftime(
                     "%Y-%m-%dT%H:%M")) + "&created_to=" + newer.created_at.strftime(
                     "%Y-%m-%dT%H:%M")), repeat, results)
    time_request(f"Logs page, deep page (older than #{DEEP_OFFSET:,})",
                 page(f"time_range=30d&before={deep.token()}"), repeat, results)
    time_request("Logs page, newer than #10,000", page(f"time_range=30d&after={newer.token()}"),
                 repeat, results)
    time_request("Log detail", lambda run: client.get(f"/logs/{logs[run].id}/"), repeat, results)

    print("\nRequest Data preview:")
    fields = "&".join(f"requested_data={name}" for name in DEFAULT_FIELD_NAMES)
    time_request("Preview, last 30 days",
                 lambda run: client.get(f"/exports/preview/?time_range=30d&{fields}"),
                 repeat, results)
    time_request("Preview, 30 days + model + status",
                 lambda run: client.get(f"/exports/preview/?time_range=30d&ai_model=gpt-4o"
                                        f"&status_code=200&{fields}"), repeat, results)
    time_request("Preview, 30 days, offset 1,500,000",
                 lambda run: client.get(f"/exports/preview/?time_range=30d&offset=1500000"
                                        f"&{fields}"), repeat, results)
    time_request("Preview, 30 days + model, offset 1,500,000",
                 lambda run: client.get(f"/exports/preview/?time_range=30d&ai_model=gpt-4o"
                                        f"&offset=1500000&{fields}"), repeat, results)

    print("\nExports API (create counts the export's rows):")
    created: list[str] = []

    def create(filters: dict, **extra):
        def make(run):
            body = {"workspace_id": str(workspace.id), "filters": filters,
                    "requested_data": ["id", "created_at", "ai_model"],
                    "description": BENCH_DESCRIPTION, **extra}
            response = client.post("/v1/logs/exports", json.dumps(body),
                                   content_type="application/json", **api)
            if response.status_code in (200, 201):
                created.append(response.json()["id"])
            return response
        return make

    month = {"created_at": {"gte": "2000-01-01T00:00:00Z"}}
    sample = logs[0]
    time_request("Create export, all logs", create({}), repeat, results)
    time_request("Create export, time range + model",
                 create({**month, "ai_model": ["gpt-4o"]}), repeat, results)
    time_request("Create export, time range + status code",
                 create({**month, "status_code": [429]}), repeat, results)
    time_request("Create export, time range + provider",
                 create({**month, "ai_provider": ["anthropic"]}), repeat, results)
    time_request("Create export, time range + trace id",
                 create({**month, "trace_id": [sample.trace_id]}), repeat, results)
    time_request("Create export, time range + metadata",
                 create({**month, "metadata": {"session": "s-42"}}), repeat, results)
    # An export of no logs is refused: below 10M logs the deep offset shrinks with the workspace
    # so that it still leaves logs to export (with the model filter too).
    deep_create = CREATE_OFFSET if rows >= 10_000_000 else rows * 3 // 40
    time_request(f"Create export, offset {deep_create:,}", create({}, offset=deep_create),
                 repeat, results)
    time_request(f"Create export, time range + model, offset {deep_create:,}",
                 create({**month, "ai_model": ["gpt-4o"]}, offset=deep_create), repeat, results)
    drafts = list(created)
    time_request("Update export (filters + limit)", lambda run: client.put(
        f"/v1/logs/exports/{drafts[run]}", json.dumps({
            "filters": {**month, "ai_model": ["gpt-4o-mini"]}, "limit": 20_000,
            "requested_data": ["id"]}),
        content_type="application/json", **api), repeat, results)
    time_request("Start export", lambda run: client.post(
        f"/v1/logs/exports/{drafts[run]}/start", **api), repeat, results)

    print("\nExports page:")
    time_request(f"Exports page ({EXPORTS_ON_PAGE:,}+ exports)", lambda run: client.get("/"),
                 repeat, results)
    return results


# --- The export stream ---------------------------------------------------------------------------

def run_one_export(workspace_slug: str, filters: dict, offset: int, limit: int) -> dict:
    """Runs in the child: a real job through the real job code."""
    from accounts.models import Workspace
    from exports import services
    from exports.fields import ALL_FIELD_NAMES

    workspace = Workspace.objects.get(slug=workspace_slug)
    job = services.export_job_create(
        workspace=workspace, filters=filters, requested_data=list(ALL_FIELD_NAMES),
        limit=limit, offset=offset, description=BENCH_DESCRIPTION,
    )
    return run_job_here(job, rows=job.total_records)  # as counted when it was created


def export_in_fresh_process(database_url: str, slug: str, filters: dict, offset: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as folder:
        spec = json.dumps({"slug": slug, "filters": filters, "offset": offset})
        command = [sys.executable, __file__, "--child", spec, "--storage-dir", folder]
        env = {**os.environ, "DATABASE_URL": database_url}
        output = subprocess.run(command, env=env, check=True, capture_output=True, text=True)
        return json.loads(output.stdout.strip().splitlines()[-1])


def reference_sql(workspace, filters: dict, offset: int, *, seek: bool = False) -> str:
    """The same rows as the export, as psql would be asked for them: with OFFSET, or (seek) from
    the first row's position on, which costs psql no skipped rows at all."""
    from django.db import connection
    from django.db.models import BooleanField, ExpressionWrapper, Q

    from exports.fields import FIELDS
    from logs.filters import matching_logs, normalise_filters

    is_success = ExpressionWrapper(Q(status_code__gte=200, status_code__lte=299),
                                   output_field=BooleanField())
    columns = [field.column for field in FIELDS if field.column]
    matching = matching_logs(workspace_id=workspace.id, filters=normalise_filters(filters))
    if seek:
        from logs.keyset import seek_slice

        matching = seek_slice(matching, offset=offset, limit=STREAM_ROWS)
        offset = 0
    queryset = (matching.annotate(is_success=is_success)
                .values(*columns, "is_success")[offset : offset + STREAM_ROWS])
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        inner = cursor.mogrify(sql, params)
    inner = inner.decode() if isinstance(inner, bytes) else inner
    return f"SELECT row_to_json(t) FROM ({inner}) t"


def stream_ratio(database_url: str, workspace, name: str, filters: dict, offset: int,
                 repeat: int, *, seek: bool = False) -> tuple[float, float]:
    select = reference_sql(workspace, filters, offset, seek=seek)
    export_in_fresh_process(database_url, workspace.slug, filters, offset)  # warm-up
    psql_copy_select_seconds(database_url, select)
    exports, copies = [], []
    for _ in range(repeat):
        exports.append(export_in_fresh_process(database_url, workspace.slug, filters, offset))
        copies.append(psql_copy_select_seconds(database_url, select))
    export_s = statistics.median(run["seconds"] for run in exports)
    copy_s = statistics.median(copies)
    rss = max(run["peak_rss_mb"] for run in exports)
    ratio = copy_s / export_s
    print(f"{name:<52} export {export_s:6.2f}s  psql \\copy {copy_s:6.2f}s  ratio {ratio:.2f}  "
          f"peak RSS {rss:.0f} MB", flush=True)
    return ratio, rss


def newest_filter(workspace, present: int) -> dict:
    """A time filter that selects exactly the newest STREAM_ROWS logs (by created_at), or all
    of them in a smaller workspace."""
    from logs.filters import format_timestamp

    start = position_at(workspace, min(STREAM_ROWS, present) - 1)
    return {"created_at": {"gte": format_timestamp(start.created_at)}}


# --- Main ----------------------------------------------------------------------------------------

def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=int(os.environ.get("ROWS") or 10_000_000))
    parser.add_argument("--repeat", type=int, default=20, help="timed runs of each request")
    parser.add_argument("--stream-repeat", type=int, default=3)
    parser.add_argument("--no-stream", action="store_true", help="skip the export stream")
    parser.add_argument("--only-whole-export", action="store_true",
                        help="only the whole-workspace export (no requests, no stream)")
    parser.add_argument("--no-whole-export", action="store_true",
                        help="skip the whole-workspace export")
    parser.add_argument("--part-logs", type=int, default=50_000,
                        help="EXPORTS_PART_LOGS of the whole-workspace export")
    parser.add_argument("--scratch-dir", default=tempfile.gettempdir(),
                        help="where the export and psql files go (several GB at 10M logs)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--storage-dir", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child:
        spec = json.loads(args.child)
        setup_django(os.environ["DATABASE_URL"], args.storage_dir)
        print(json.dumps(run_one_export(spec["slug"], spec["filters"], spec["offset"],
                                        STREAM_ROWS)))
        return 0

    database_url = os.environ.get("DATABASE_URL", "")
    if not database_url.startswith(("postgres://", "postgresql://")):
        print("DATABASE_URL is not a PostgreSQL URL: bench-scale measures PostgreSQL at millions "
              "of logs. Set DATABASE_URL=postgres://... (a database of its own).", file=sys.stderr)
        return 2
    # The API's start enqueues: on a queue of this run's own, emptied at the end.
    os.environ["EXPORTS_QUEUE"] = f"bench-scale-{uuid.uuid4().hex[:8]}"
    # No worker takes those starts, so they stay in progress: without lifting the per-workspace
    # cap (5 by default) the sixth "Start export" would be refused.
    os.environ["EXPORTS_MAX_IN_PROGRESS_PER_WORKSPACE"] = "0"
    os.environ["EXPORTS_PART_LOGS"] = str(args.part_logs)
    os.environ["EXPORTS_MAX_LOGS_PER_EXPORT"] = str(max(args.rows, 10_000_000))
    # Every file of the run (the export storage, psql's references) under --scratch-dir.
    tempfile.tempdir = args.scratch_dir
    folder = tempfile.mkdtemp(prefix="bench-scale-")
    try:
        setup_django(database_url, folder)
        return run(args, database_url, folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def run(args, database_url: str, folder: str) -> int:
    from django.core.management import call_command

    from bench.scale_seed import ensure_scale_workspace, seed_scale_logs

    print(f"load average at start: {os.getloadavg()[0]:.2f} (2 cores, shared)")
    call_command("migrate", verbosity=0)
    workspace = ensure_scale_workspace(args.rows)
    present = seed_scale_logs(workspace, args.rows)
    ensure_exports(workspace, EXPORTS_ON_PAGE)
    print(f"workspace {workspace.slug}: {present:,} logs")
    if args.only_whole_export:
        from bench.scale_whole import whole_export_step

        print(whole_export_step(database_url, workspace, present, folder))
        return 0

    try:
        results = interactive_requests(workspace, args.rows, args.repeat)
    finally:
        import django_rq

        django_rq.get_queue(os.environ["EXPORTS_QUEUE"]).empty()
    worst_p50 = max(p50 for _, p50, _ in results)
    worst_p95 = max(p95 for _, _, p95 in results)
    print(f"\nworst p50 {worst_p50:.1f} ms (target ≤ {TARGET_P50_MS}), worst p95 "
          f"{worst_p95:.1f} ms (target ≤ {TARGET_P95_MS})")

    ratio_text, rss_text, strict_text = "skipped", "", ""
    if not args.no_stream:
        print(f"\nExport stream ({STREAM_ROWS:,} logs, every field):")
        newest, rss_newest = stream_ratio(
            database_url, workspace, f"newest {min(STREAM_ROWS, present):,} logs",
            newest_filter(workspace, present), 0, args.stream_repeat)
        ratios, rss = [newest], rss_newest
        if present > DEEP_OFFSET + STREAM_ROWS:
            deep, rss_deep = stream_ratio(database_url, workspace, f"offset {DEEP_OFFSET:,}",
                                          {}, DEEP_OFFSET, args.stream_repeat)
            ratios.append(deep)
            # The strict reference: psql given the rows' key range (no OFFSET to pay for).
            strict, rss_strict = stream_ratio(
                database_url, workspace, f"offset {DEEP_OFFSET:,} vs \\copy by key range", {},
                DEEP_OFFSET, args.stream_repeat, seek=True)
            rss = max(rss, rss_deep, rss_strict)
            strict_text = f" ratio_vs_key_range={strict:.2f}"
        ratio_text = f"{min(ratios):.2f}"
        rss_text = f" peak_rss_mb={rss:.0f}{strict_text}"
    from exports.models import ExportJob

    # The starts above left exports in progress with nothing queued: the whole export's workers
    # would run them again (their reconciler), in the middle of its measurement.
    ExportJob.objects.filter(workspace=workspace, description=BENCH_DESCRIPTION).delete()
    print(f"load average at end: {os.getloadavg()[0]:.2f}")
    print(f"rows={present} worst_p50_ms={worst_p50:.1f} worst_p95_ms={worst_p95:.1f} "
          f"ratio={ratio_text}{rss_text}", flush=True)
    if not args.no_whole_export:
        from bench.scale_whole import whole_export_step

        print(whole_export_step(database_url, workspace, present, folder))
    return 0


if __name__ == "__main__":
    sys.exit(main())
