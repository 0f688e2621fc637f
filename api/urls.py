"""The REST API under /v1 (included from config.urls); anything else under /v1 is a JSON 404."""

from __future__ import annotations

from django.urls import re_path

from api import docs as api_docs
from api import exports as api
from api import logs as logs_api
from api.http import unknown_endpoint

app_name = "api"

urlpatterns = [
    re_path(r"^logs/exports/?$", api.exports_collection, name="exports"),
    re_path(r"^logs/exports/(?P<export_id>[^/]+)/?$", api.export_detail, name="export"),
    re_path(r"^logs/exports/(?P<export_id>[^/]+)/start/?$", api.export_start, name="start"),
    re_path(r"^logs/exports/(?P<export_id>[^/]+)/cancel/?$", api.export_cancel, name="cancel"),
    re_path(r"^logs/exports/(?P<export_id>[^/]+)/download/?$", api.export_download,
            name="download"),
    re_path(r"^logs/?$", logs_api.logs_collection, name="logs"),
    re_path(r"^logs/(?P<log_id>[^/]+)/?$", logs_api.log_detail, name="log"),
    re_path(r"^openapi\.json$", api_docs.openapi_document, name="openapi"),
    re_path(r"^docs/?$", api_docs.docs_page, name="docs"),
    re_path(r"^.*$", unknown_endpoint),
]
