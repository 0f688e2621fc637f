"""Fixtures shared by the exports tests."""
from __future__ import annotations

from tests.exports.s3_server import s3_server, s3_storage  # noqa: F401  (registered here)
