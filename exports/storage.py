"""Where export files live: the `exports` entry of STORAGES (filesystem or S3).

A file is written through a sink, which streams bytes out with bounded memory and makes the file
visible under its final name only on commit: a temporary file renamed into place on a filesystem,
a multipart upload completed on S3. An aborted sink leaves nothing behind.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Protocol, cast

from django.conf import settings
from django.core.files.storage import FileSystemStorage, storages
from django.core.signing import BadSignature, SignatureExpired, TimestampSigner
from django.urls import reverse
from storages.utils import clean_name

from exports.formats import FORMATS

if TYPE_CHECKING:
    from storages.backends.s3 import S3Storage

CONTENT_TYPES = {fmt.name: fmt.content_type for fmt in FORMATS}
DOWNLOAD_SALT = "exports.download"
S3_MIN_PART_SIZE = 5 * 1024 * 1024  # S3 needs parts of at least 5 MiB (all but the last)


def export_storage() -> FileSystemStorage | S3Storage:
    return cast("FileSystemStorage | S3Storage", storages["exports"])


class ExportSink(Protocol):
    bytes_written: int

    def write(self, data: bytes) -> None: ...
    def commit(self) -> None: ...
    def abort(self) -> None: ...


class HashingSink:
    """Counts and hashes what passes through to the real sink, so checksums need no re-read."""

    def __init__(self, inner: ExportSink):
        self.inner = inner
        self.digest = hashlib.sha256()
        self.bytes_written = 0

    def write(self, data: bytes) -> None:
        if data:
            self.digest.update(data)
            self.bytes_written += len(data)
            self.inner.write(data)

    @property
    def sha256(self) -> str:
        return self.digest.hexdigest()

    def commit(self) -> None:
        self.inner.commit()

    def abort(self) -> None:
        self.inner.abort()


class FileSystemSink:
    def __init__(self, storage: FileSystemStorage, name: str):
        self.final_path = storage.path(name)
        os.makedirs(os.path.dirname(self.final_path), exist_ok=True)
        # One name per attempt (the final name holds the attempt), so the reconciler can find and
        # remove what a killed attempt left behind.
        self.temp_path = partial_path(self.final_path)
        self.file = open(self.temp_path, "wb", buffering=1024 * 1024)  # noqa: SIM115
        self.bytes_written = 0

    def write(self, data: bytes) -> None:
        self.file.write(data)
        self.bytes_written += len(data)

    def commit(self) -> None:
        self.file.flush()
        os.fsync(self.file.fileno())
        self.file.close()
        os.replace(self.temp_path, self.final_path)

    def abort(self) -> None:
        # Closing flushes the buffer, which fails again on a full disk; the bytes were to be
        # thrown away anyway, and the file is closed all the same.
        with contextlib.suppress(OSError):
            self.file.close()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.temp_path)


class S3MultipartSink:
    """Streams a file to S3 as a multipart upload: one part buffered at a time, never the file."""

    def __init__(self, storage: S3Storage, name: str, content_type: str):
        self.client = storage.connection.meta.client
        self.bucket = storage.bucket_name
        self.key = storage._normalize_name(clean_name(name))
        self.part_size = max(S3_MIN_PART_SIZE, settings.EXPORTS_S3_PART_SIZE)
        self.buffer = bytearray()
        self.parts: list[dict] = []
        self.bytes_written = 0
        upload = self.client.create_multipart_upload(
            Bucket=self.bucket, Key=self.key, ContentType=content_type
        )
        self.upload_id = upload["UploadId"]

    def _upload_part(self, body: bytes | bytearray) -> None:
        number = len(self.parts) + 1
        answer = self.client.upload_part(
            Bucket=self.bucket, Key=self.key, UploadId=self.upload_id, PartNumber=number, Body=body
        )
        self.parts.append({"ETag": answer["ETag"], "PartNumber": number})

    def write(self, data: bytes) -> None:
        self.buffer += data
        self.bytes_written += len(data)
        if len(self.buffer) >= self.part_size:
            # Parts may differ in size, so the whole buffer goes: no slicing, no extra copy.
            self._upload_part(self.buffer)
            self.buffer = bytearray()

    def commit(self) -> None:
        if self.buffer or not self.parts:
            self._upload_part(self.buffer)
            self.buffer = bytearray()
        self.client.complete_multipart_upload(
            Bucket=self.bucket, Key=self.key, UploadId=self.upload_id,
            MultipartUpload={"Parts": self.parts},
        )

    def abort(self) -> None:
        self.buffer.clear()
        self.client.abort_multipart_upload(
            Bucket=self.bucket, Key=self.key, UploadId=self.upload_id
        )


def open_sink(name: str, *, file_format: str) -> HashingSink:
    storage = export_storage()
    if isinstance(storage, FileSystemStorage):
        return HashingSink(FileSystemSink(storage, name))
    return HashingSink(S3MultipartSink(storage, name, CONTENT_TYPES[file_format]))


def partial_path(final_path: str) -> str:
    return f"{final_path}.part"


def discard_partial(name: str) -> int:
    """Removes what an attempt that died left of the file `name`; returns how many pieces.

    On a filesystem its `.part` file; on S3 its incomplete multipart uploads, which S3 would
    otherwise keep (and bill) until a lifecycle rule removes them.
    """
    storage = export_storage()
    if isinstance(storage, FileSystemStorage):
        try:
            os.unlink(partial_path(storage.path(name)))
        except FileNotFoundError:
            return 0
        return 1
    client = storage.connection.meta.client
    key = storage._normalize_name(clean_name(name))
    listing = client.list_multipart_uploads(Bucket=storage.bucket_name, Prefix=key)
    removed = 0
    for upload in listing.get("Uploads", []):
        if upload["Key"] == key:
            client.abort_multipart_upload(
                Bucket=storage.bucket_name, Key=key, UploadId=upload["UploadId"]
            )
            removed += 1
    return removed


def partial_files() -> Iterator[tuple[str, datetime]]:
    """(final name, when it was begun) of every file still being written, or left unfinished."""
    storage = export_storage()
    if isinstance(storage, FileSystemStorage):
        root = storage.location
        for folder, _, files in os.walk(root):
            for file_name in files:
                if file_name.endswith(".part"):
                    path = os.path.join(folder, file_name)
                    try:
                        changed = datetime.fromtimestamp(os.path.getmtime(path), tz=UTC)
                    except FileNotFoundError:  # finished or removed meanwhile
                        continue
                    yield os.path.relpath(path, root)[: -len(".part")], changed
        return
    client = storage.connection.meta.client
    prefix = (storage.location or "").strip("/")
    prefix = f"{prefix}/" if prefix else ""
    for page in client.get_paginator("list_multipart_uploads").paginate(
        Bucket=storage.bucket_name, Prefix=prefix
    ):
        for upload in page.get("Uploads", []):
            yield upload["Key"][len(prefix):], upload["Initiated"]


def delete_file(name: str) -> None:
    if name:
        export_storage().delete(name)


def sign_download(*, job_id: str, attempt: int, issued_to: str = "") -> str:
    """A token for one run's file; it names whom it was issued to, for the audit trail."""
    return TimestampSigner(salt=DOWNLOAD_SALT).sign_object(
        {"job": job_id, "attempt": attempt, "to": issued_to}, compress=True
    )


class DownloadLinkExpired(Exception):
    """A genuine link past its time: its page can point at the export for a fresh one."""

    def __init__(self, job_id: str):
        super().__init__(job_id)
        self.job_id = job_id


def unsign_download(token: str) -> tuple[str, int, str] | None:
    """(job id, attempt, issued to) of a token, or None when it is forged; raises
    DownloadLinkExpired for one of ours that is too old."""
    signer = TimestampSigner(salt=DOWNLOAD_SALT)
    try:
        value = signer.unsign_object(token, max_age=settings.EXPORTS_DOWNLOAD_URL_TTL)
    except SignatureExpired:
        value = signer.unsign_object(token)  # genuine (checked), only old
        if isinstance(value, dict):
            raise DownloadLinkExpired(str(value.get("job"))) from None
        return None
    except (BadSignature, ValueError):
        return None
    if not isinstance(value, dict):
        return None
    return str(value.get("job")), int(value.get("attempt", -1)), str(value.get("to", ""))


def signed_download_url(*, name: str, job_id: str, attempt: int, download_name: str,
                        file_format: str, issued_to: str = "") -> str:
    """A short-lived URL: relative, to our file view, for the filesystem and (unless
    EXPORTS_S3_DOWNLOAD_VIA_APP is off) for S3, where the view records the fetch in the audit
    trail and redirects to a presigned URL; otherwise S3's presigned URL itself."""
    storage = export_storage()
    if isinstance(storage, FileSystemStorage) or settings.EXPORTS_S3_DOWNLOAD_VIA_APP:
        token = sign_download(job_id=job_id, attempt=attempt, issued_to=issued_to)
        return reverse("exports:file", args=[token])
    return presigned_url(name=name, download_name=download_name, file_format=file_format)


def serves_files_itself() -> bool:
    return isinstance(export_storage(), FileSystemStorage)


def presigned_url(*, name: str, download_name: str, file_format: str) -> str:
    """S3's own short-lived link to the object, with the download name and type."""
    storage: S3Storage = export_storage()
    return storage.url(
        name,
        parameters={
            "ResponseContentDisposition": f'attachment; filename="{download_name}"',
            "ResponseContentType": CONTENT_TYPES[file_format],
        },
        expire=settings.EXPORTS_DOWNLOAD_URL_TTL,
    )
