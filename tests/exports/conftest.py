"""Fixtures shared by the exports tests."""
from __future__ import annotations

import pytest

from tests.exports.s3_server import s3_server, s3_storage  # noqa: F401  (registered here)


@pytest.fixture(params=["filesystem", "s3"])
def export_backend(request, export_storage_dir):
    """The `exports` storage on each backend in turn: None for the filesystem, (client, key
    prefix) for S3 (SeaweedFS)."""
    if request.param == "s3":
        client, prefix, _ = request.getfixturevalue("s3_storage")
        return client, prefix
    return None
