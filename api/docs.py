"""The OpenAPI document at /v1/openapi.json and its human-readable page at /v1/docs."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from api.openapi import openapi_document as build_document
from exports.fields import FIELDS

HTTP_METHODS = ("get", "post", "put", "delete", "patch")


@require_GET
def openapi_document(request: HttpRequest) -> JsonResponse:
    return JsonResponse(build_document(), json_dumps_params={"indent": 2})


def _ref_name(schema: dict) -> str | None:
    ref = schema.get("$ref", "")
    return ref.rsplit("/", 1)[-1] if ref else None


def _type_label(schema: dict) -> str:
    if "$ref" in schema:
        return _ref_name(schema) or ""
    for combinator in ("anyOf", "oneOf"):
        if combinator in schema:
            return " | ".join(_type_label(option) for option in schema[combinator])
    kind = schema.get("type", "any")
    if kind == "array":
        return f"array of {_type_label(schema.get('items', {}))}"
    if "enum" in schema and len(schema["enum"]) <= 6:
        return " | ".join(f'"{value}"' for value in schema["enum"])
    label = kind + (f" ({schema['format']})" if "format" in schema else "")
    return label + (" or null" if schema.get("nullable") else "")


def _operations(document: dict) -> list[dict]:
    operations = []
    for path, item in document["paths"].items():
        for method in HTTP_METHODS:
            if method not in item:
                continue
            spec = item[method]
            body = spec.get("requestBody", {}).get("content", {}).get("application/json", {})
            operations.append({
                "method": method.upper(),
                "path": document["servers"][0]["url"] + path,
                "summary": spec["summary"],
                "description": spec.get("description", ""),
                "scope": spec.get("x-scope"),
                "parameters": spec.get("parameters", []),
                "body": _type_label(body["schema"]) if body else None,
                "responses": [
                    {"code": code, "description": response["description"],
                     "schema": _type_label(response.get("content", {})
                                           .get("application/json", {}).get("schema", {}))}
                    for code, response in spec["responses"].items()
                ],
            })
    return operations


def _schemas(document: dict) -> list[dict]:
    schemas = []
    for name, schema in document["components"]["schemas"].items():
        required = set(schema.get("required", []))
        schemas.append({
            "name": name,
            "label": _type_label(schema),
            "description": schema.get("description", ""),
            "properties": [
                {"name": prop, "type": _type_label(value), "required": prop in required,
                 "description": value.get("description", "")}
                for prop, value in schema.get("properties", {}).items()
            ],
        })
    return schemas


@require_GET
def docs_page(request: HttpRequest) -> HttpResponse:
    document = build_document()
    return render(request, "api/docs.html", {
        "document": document,
        "operations": _operations(document),
        "schemas": _schemas(document),
        "fields": FIELDS,
        "scopes": document["x-scopes"],
        "base_url": request.build_absolute_uri("/v1"),
    })
