"""Turning the public spec's CustomLog payloads into Log rows (POST /v1/logs).

request and response are stored as sent (the seeded gateway logs have the same shape), with
credentials in headers masked; provider, model, tokens, cost, status and timing are read from
the payload where present; trace_id comes from metadata.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.models import Workspace
from logs.canonical_json import canonical_json
from logs.models import Log

MAX_LOGS_PER_REQUEST = 1000
MAX_TOKENS = 2**31 - 1  # the token columns are 32-bit integers
SECRET_HEADERS = frozenset({
    "authorization", "x-portkey-api-key", "api-key", "x-api-key", "proxy-authorization",
    "cookie", "x-goog-api-key",
})
# Host name fragments of well-known providers, for logs that do not name theirs.
PROVIDER_HOSTS = (
    ("openai.azure.com", "azure-openai"), ("openai.com", "openai"),
    ("anthropic.com", "anthropic"), ("googleapis.com", "google"), ("mistral.ai", "mistral-ai"),
    ("cohere", "cohere"), ("groq.com", "groq"), ("together", "together-ai"),
    ("bedrock", "bedrock"),
)
KNOWN_KEYS = ("request", "response", "metadata")


def _object(value: Any, *, field: str, required: bool) -> dict:
    if value is None and not required:
        return {}
    if not isinstance(value, dict):
        raise ValidationError({field: "must be an object" if value is not None else "is required"})
    return value


def _text(value: Any, *, field: str, max_length: int) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ValidationError({field: "must be text"})
    if len(value) > max_length:
        raise ValidationError({field: f"must be at most {max_length} characters"})
    return value


def _whole(value: Any, *, field: str, low: int, high: int) -> int | None:
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():  # JSON Schema's integer includes 850.0
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError({field: "must be a whole number"})
    if not low <= value <= high:
        raise ValidationError({field: f"must be between {low} and {high}"})
    return value


def _count(value: Any) -> int:
    """A token count from a provider's usage block; anything else counts as unknown (0)."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_TOKENS:
        return value
    return 0


def _masked_headers(headers: Any, *, field: str) -> dict:
    headers = _object(headers, field=field, required=False)
    return {
        name: "[redacted]" if str(name).lower() in SECRET_HEADERS else value
        for name, value in headers.items()
    }


def _host(url: str, *, field: str) -> str:
    try:
        return urlsplit(url).hostname or ""
    except ValueError as error:  # e.g. "http://[::1": an unclosed IPv6 address
        raise ValidationError({field: f"is not a valid URL ({error})"}) from None


def _provider(host: str, headers: dict, metadata: dict) -> str:
    named = metadata.get("provider") or headers.get("x-portkey-provider")
    if isinstance(named, str) and named.strip():
        return named.strip()[:100]
    for fragment, provider in PROVIDER_HOSTS:
        if fragment in host:
            return provider
    return ""


def _usage(response_body: dict) -> dict:
    usage = response_body.get("usage")
    return usage if isinstance(usage, dict) else {}


def _cost(response_body: dict, metadata: dict) -> Decimal:
    usage = _usage(response_body)
    for value in (usage.get("cost"), response_body.get("cost"), metadata.get("cost")):
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            continue
        try:
            cost = Decimal(str(value))
        except InvalidOperation:
            continue
        if cost.is_finite() and 0 <= cost < Decimal(10) ** 13:
            return cost.quantize(Decimal("0.000001"))
    return Decimal(0)


def log_from_custom_log(payload: Any, *, workspace: Workspace, field: str) -> Log:
    """One Log (unsaved) from one CustomLog; ValidationError names the field at fault."""
    p = f"{field}." if field else ""
    payload = _object(payload, field=field or "log", required=True)
    unknown = sorted(set(payload) - set(KNOWN_KEYS))
    if unknown:
        raise ValidationError({f"{p}{unknown[0]}": "is not a known field of a log"})
    request = _object(payload.get("request"), field=f"{p}request", required=True)
    response = _object(payload.get("response"), field=f"{p}response", required=True)
    metadata = _object(payload.get("metadata"), field=f"{p}metadata", required=False)
    url = _text(request.get("url"), field=f"{p}request.url", max_length=2000)
    if not url:
        raise ValidationError({f"{p}request.url": "is required"})
    host = _host(url, field=f"{p}request.url")
    request_body = _object(request.get("body"), field=f"{p}request.body", required=True)
    response_body = _object(response.get("body"), field=f"{p}response.body", required=True)
    _text(request.get("method"), field=f"{p}request.method", max_length=20)
    status = _whole(response.get("status"), field=f"{p}response.status", low=100, high=599)
    response_time = _whole(response.get("response_time"), field=f"{p}response.response_time",
                           low=0, high=2**31 - 1)
    trace_id = _text(metadata.get("trace_id"), field=f"{p}metadata.trace_id", max_length=200)
    request_headers = _masked_headers(request.get("headers"), field=f"{p}request.headers")
    stored_request = {**request, "body": request_body}
    if "headers" in request:
        stored_request["headers"] = request_headers
    stored_response = {**response}
    if "headers" in response:
        stored_response["headers"] = _masked_headers(response["headers"],
                                                     field=f"{p}response.headers")
    usage = _usage(response_body)
    request_tokens = _count(usage.get("prompt_tokens", usage.get("input_tokens")))
    response_tokens = _count(usage.get("completion_tokens", usage.get("output_tokens")))
    total_tokens = _count(usage.get("total_tokens")) or request_tokens + response_tokens
    if total_tokens > MAX_TOKENS:
        raise ValidationError({f"{p}response.body.usage.total_tokens": (
            f"the prompt and completion tokens add up to more than {MAX_TOKENS}")})
    model = request_body.get("model") or response_body.get("model") or ""
    lowered_headers = {str(k).lower(): v for k, v in request_headers.items()}
    config = lowered_headers.get("x-portkey-config")
    prompt_slug = metadata.get("prompt_slug")
    log = Log(
        workspace=workspace,
        trace_id=trace_id,
        created_at=timezone.now(),
        request=stored_request,
        response=stored_response,
        ai_provider=_provider(host, lowered_headers, metadata),
        ai_model=model[:200] if isinstance(model, str) else "",
        request_tokens=request_tokens,
        response_tokens=response_tokens,
        total_tokens=total_tokens,
        cost=_cost(response_body, metadata),
        response_time=response_time or 0,
        status_code=status or 200,
        config=config[:200] if isinstance(config, str) and config else None,
        prompt_slug=prompt_slug[:200] if isinstance(prompt_slug, str) and prompt_slug else None,
        metadata=metadata,
        request_url=url,
    )
    for name in ("request", "response", "metadata"):
        try:
            canonical_json(getattr(log, name))
        except (TypeError, ValueError) as error:
            raise ValidationError({f"{p}{name}": str(error)}) from None
    return log


def insert_custom_logs(payload: Any, *, workspace: Workspace) -> list[Log]:
    """One CustomLog or a list of them, all inserted or none; ValidationError names the field."""
    many = isinstance(payload, list)
    items = payload if many else [payload]
    if not items:
        raise ValidationError({"logs": "send at least one log"})
    if len(items) > MAX_LOGS_PER_REQUEST:
        raise ValidationError({"logs": f"send at most {MAX_LOGS_PER_REQUEST} logs per request"})
    logs = [
        log_from_custom_log(item, workspace=workspace, field=f"[{index}]" if many else "")
        for index, item in enumerate(items)
    ]
    with transaction.atomic():
        Log.objects.bulk_create(logs, batch_size=500)
    return logs
