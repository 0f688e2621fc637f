"""The S3 export storage's options (django-storages' S3Storage), from the environment.

Read by config.settings (EXPORTS_STORAGE=s3) and by the tests that point the storage at their
own SeaweedFS. The client's time is bounded: boto3's defaults (60 s reads, up to 5 tries in its
legacy mode) kept an export In progress, and the reconciler's sweep waiting, for 362 s against
a server that accepts connections and never answers.
"""

from __future__ import annotations

from collections.abc import Mapping

from botocore.config import Config


def _number(environ: Mapping[str, str], name: str, default: float) -> float:
    value = environ.get(name)
    return float(value) if value not in (None, "") else default


def s3_client_config(environ: Mapping[str, str]) -> Config:
    return Config(
        s3={"addressing_style": "path"},
        signature_version="s3v4",
        connect_timeout=_number(environ, "EXPORTS_S3_CONNECT_TIMEOUT", 5),
        read_timeout=_number(environ, "EXPORTS_S3_READ_TIMEOUT", 20),
        # "standard": every try counts (the first included), backoff between them is bounded.
        retries={"mode": "standard",
                 "max_attempts": int(_number(environ, "EXPORTS_S3_MAX_ATTEMPTS", 3))},
    )


def s3_storage_options(environ: Mapping[str, str]) -> dict:
    return {
        "bucket_name": environ.get("EXPORTS_S3_BUCKET", "log-exports"),
        "endpoint_url": environ.get("EXPORTS_S3_ENDPOINT_URL") or None,
        "region_name": environ.get("EXPORTS_S3_REGION") or None,
        "access_key": environ.get("EXPORTS_S3_ACCESS_KEY_ID") or None,
        "secret_key": environ.get("EXPORTS_S3_SECRET_ACCESS_KEY") or None,
        "location": environ.get("EXPORTS_S3_PREFIX", ""),
        "default_acl": None,
        "file_overwrite": True,
        "querystring_auth": True,
        "querystring_expire": int(_number(environ, "EXPORTS_DOWNLOAD_URL_TTL", 300)),
        "signature_version": "s3v4",
        "addressing_style": "path",
        "client_config": s3_client_config(environ),
    }
