"""A destination bucket through boto3: the check before saving, and the copy of an export."""

from __future__ import annotations

import hashlib
import json
import uuid
from typing import IO, Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError
from django.core.exceptions import ValidationError

ACCESS_DENIED = {"AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch",
                 "InvalidClientTokenId", "Forbidden", "403"}
UNKNOWN_BUCKET = {"NoSuchBucket", "404", "NotFound"}
COPY_CHUNK = 8 * 1024 * 1024
# The code of the ValidationError of a destination that refused the test write: each value
# valid, the bucket says no (the API answers it 422 destination_refused).
REFUSED = "destination_refused"


def client(*, endpoint_url: str, region: str, access_key_id: str, secret_access_key: str):
    return boto3.client(
        "s3", endpoint_url=endpoint_url or None, region_name=region or None,
        aws_access_key_id=access_key_id, aws_secret_access_key=secret_access_key,
        config=Config(s3={"addressing_style": "path"}, signature_version="s3v4",
                      retries={"max_attempts": 2}, connect_timeout=3, read_timeout=60),
    )


def object_key(prefix: str, name: str) -> str:
    return f"{prefix.strip('/')}/{name}" if prefix.strip("/") else name


def describe_error(error: Exception, *, bucket: str, endpoint_url: str) -> ValidationError:
    """The field at fault and why, in words a person can act on."""
    if isinstance(error, ClientError):
        code = str(error.response.get("Error", {}).get("Code", ""))
        if code in UNKNOWN_BUCKET:
            return _refused("bucket", f"unknown bucket {bucket!r} at this endpoint")
        if code in ACCESS_DENIED:
            return _refused("secret_access_key", (
                f"access denied to bucket {bucket!r} ({code}): check the access key id and "
                "secret, and that they may write and delete objects under the prefix"))
        return _refused("bucket", f"the bucket refused a test write: {code}")
    if isinstance(error, EndpointConnectionError):
        return _refused("endpoint_url", (
            f"endpoint unreachable: {endpoint_url or 'AWS S3'} did not answer ({error})"))
    return _refused("endpoint_url", f"the destination failed: {error}")


def _refused(field: str, message: str) -> ValidationError:
    return ValidationError({field: ValidationError(message, code=REFUSED)})


def check_writable(s3: Any, *, bucket: str, prefix: str, endpoint_url: str) -> None:
    """A test object written and deleted under the prefix; ValidationError naming the failure."""
    key = object_key(prefix, f".log-exports-check-{uuid.uuid4().hex}")
    try:
        # First: some servers (SeaweedFS) create a bucket on a write to one that is missing.
        s3.head_bucket(Bucket=bucket)
        s3.put_object(Bucket=bucket, Key=key, Body=b"log exports: destination check\n")
        s3.delete_object(Bucket=bucket, Key=key)
    except (ClientError, BotoCoreError) as error:
        raise describe_error(error, bucket=bucket, endpoint_url=endpoint_url) from error


class HashingReader:
    """Reads through a file, hashing what passes (boto3 uploads it in parts: memory stays flat)."""

    def __init__(self, source: IO[bytes]):
        self.source = source
        self.hash = hashlib.sha256()

    def read(self, size: int = -1) -> bytes:
        block = self.source.read(size if size and size > 0 else COPY_CHUNK)
        self.hash.update(block)
        return block


def upload(s3: Any, *, bucket: str, key: str, source: IO[bytes], manifest: dict,
           manifest_key: str) -> str:
    """Copies the file, then its manifest (last: a reader that sees it knows the file is whole);
    returns the sha256 of what was sent."""
    reader = HashingReader(source)
    s3.upload_fileobj(reader, bucket, key)
    s3.put_object(Bucket=bucket, Key=manifest_key, ContentType="application/json",
                  Body=json.dumps(manifest, indent=2, sort_keys=True).encode())
    return reader.hash.hexdigest()
