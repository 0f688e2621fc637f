"""Realistic synthetic gateway logs, for demos, tests and benchmarks."""

from __future__ import annotations

import random
import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import connection

from logs.bulk import NULL, bulk_insert_logs, copy_json, copy_log_lines, copy_text
from logs.canonical_json import CanonicalText, canonical_json

# (provider, model, cents per 1k prompt tokens, cents per 1k completion tokens, url)
MODELS = [
    ("openai", "gpt-4o", 0.25, 1.0, "https://api.openai.com/v1/chat/completions"),
    ("openai", "gpt-4o-mini", 0.015, 0.06, "https://api.openai.com/v1/chat/completions"),
    ("anthropic", "claude-3-5-sonnet", 0.3, 1.5, "https://api.anthropic.com/v1/messages"),
    ("anthropic", "claude-3-haiku", 0.025, 0.125, "https://api.anthropic.com/v1/messages"),
    ("google", "gemini-1.5-pro", 0.125, 0.5,
     "https://generativelanguage.googleapis.com/v1beta/models/gemini-1.5-pro:generateContent"),
    ("mistral-ai", "mistral-large", 0.2, 0.6, "https://api.mistral.ai/v1/chat/completions"),
]

PROMPTS = [
    "Summarise this support ticket in two sentences.",
    "Translate to French: \"Where is the station?\"",
    "Écris un haïku sur la mer 🌊",
    "What does C:\\Users\\admin\\config.json contain?",
    "List three uses for a \"paperclip\".\nBe brief.",
    "解释一下量子纠缠。",
    "Fix this regex: ^\\d{3}-\\d{4}$",
    "Write a tweet about our launch 🚀🎉",
    "Tab\tseparated\tvalues, please.",
    "Привет! Как дела?",
]

ANSWERS = [
    "Sure — here is a short summary:\n1. The customer cannot log in.\n2. A reset was sent.",
    "« Où est la gare ? »",
    "Vagues sur le sable,\nle sel et le vent du soir —\nla mer se souvient. 🌊",
    "The path \"C:\\Users\\admin\\config.json\" holds the app's settings.",
    "1. Hold papers\n2. Reset a router\n3. A tiny hook 🪝",
    "量子纠缠是指两个粒子的量子态相互关联。",
    "Use ^\\d{3}-\\d{4}$ with a raw string: r\"^\\d{3}-\\d{4}$\".",
    "We just launched! 🚀 Try it today.",
    "a\tb\tc",
    "Привет! Всё хорошо, спасибо. 😊",
]

ERRORS = [
    (429, "rate_limit_exceeded", "Rate limit reached for requests"),
    (500, "server_error", "The server had an error while processing your request"),
    (400, "invalid_request_error", "This model's maximum context length is 128000 tokens"),
    (401, "invalid_api_key", "Incorrect API key provided"),
]

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
USERS = ["alice@example.com", "bob@example.com", "chen@example.com", "dana@example.com"]
ENVIRONMENTS = ["production", "staging"]
CONFIGS = [None, "pc-default-1a2b", "pc-fallback-9f8e"]
PROMPT_SLUGS = [None, None, "support-summary", "translate-fr"]
MODES = ["single", "single", "single", "loadbalance", "fallback"]


def _request_payload(model: str, url: str, turn: int, temperature: float, max_tokens: int):
    return {
        "url": url,
        "method": "POST",
        "body": {
            "model": model,
            "messages": [
                {"role": "system", "content": "You are a helpful assistant."},
                {"role": "user", "content": PROMPTS[turn]},
            ],
            "temperature": temperature,
            "max_tokens": max_tokens,
        },
    }


def _success_payload(model: str, turn: int):
    return {
        "status": 200,
        "body": {
            "id": "@id@",
            "object": "chat.completion",
            "model": model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": ANSWERS[turn]},
                    "finish_reason": "stop",
                }
            ],
            "usage": {
                "prompt_tokens": "@prompt@",
                "completion_tokens": "@completion@",
                "total_tokens": "@total@",
            },
        },
        "response_time": "@time@",
    }


def _error_payload(status_code: int, code: str, message: str):
    return {
        "status": status_code,
        "body": {"error": {"type": code, "code": code, "message": message}},
        "response_time": "@time@",
    }


def _uuid7(millis: int, random_bits: int) -> int:
    """A time-ordered UUID (version 7), as modern gateways give their logs."""
    value = (millis << 80) | (0x7 << 76) | ((random_bits >> 62) << 64) | (0b10 << 62)
    return value | (random_bits & ((1 << 62) - 1))


def _metadata_payload(user: str, environment: str, session: str):
    return {"_user": user, "environment": environment, "session": session}


TEMPERATURES = (0, 0.2, 0.7, 1)
MAX_TOKENS = (256, 512, 1024)
SESSIONS = 500


def _template(payload: dict) -> str:
    """Canonical JSON of payload as a %-format: each "@name@" marker becomes %(name)s.

    Numbers and ids change from log to log; they are written into the rendered text in place of
    the markers, which leaves jsonb's key order, decided by the keys alone, untouched.
    """
    text = canonical_json(payload).replace("%", "%%")
    return re.sub(r'"@(\w+)@"', r"%(\1)s", text)


class _Texts:
    """Every payload text the generator uses, rendered once (on first use) in a list that a
    drawn index picks from. `escape` gives the texts' COPY form."""

    def __init__(self, escape=lambda text: text):
        self.requests = [
            escape(canonical_json(_request_payload(model, url, turn, temperature, max_tokens)))
            for _, model, _, _, url in MODELS for turn in range(len(PROMPTS))
            for temperature in TEMPERATURES for max_tokens in MAX_TOKENS
        ]
        self.successes = [escape(_template(_success_payload(model, turn)))
                          for _, model, *_ in MODELS for turn in range(len(ANSWERS))]
        self.errors = [escape(_template(_error_payload(*error))) for error in ERRORS]
        self.metadata = [
            escape(canonical_json(_metadata_payload(user, environment, f"s-{session}")))
            for user in USERS for environment in ENVIRONMENTS for session in range(1, SESSIONS + 1)
        ]

    def response(self, template: int, values: dict) -> str:
        # Templates 0..len(ERRORS)-1 are the errors, the successes follow.
        if template < len(ERRORS):
            return self.errors[template] % values
        return self.successes[template - len(ERRORS)] % values


def _draw_logs(*, count: int, now: datetime, days: int, seed: int | None) -> Iterator[tuple]:
    """Each log's drawn values, as a tuple (see the unpacking in generate_logs); payloads are
    indexes into a _Texts. One C call per random choice: rng.choice/randint cost several."""
    rng = random.Random(seed)
    draw, bits = rng.random, rng.getrandbits
    span_seconds = max(1, days * 86_400)
    step_micros = span_seconds * 1_000_000 / count
    start_micros = int((now - timedelta(seconds=span_seconds)).timestamp() * 1_000_000)
    trace_id = ""
    for index in range(count):
        # A few logs in a row share a trace, as retries and multi-step calls do.
        if index % 3 == 0:
            trace_id = f"{bits(128):032x}"
        model = int(draw() * len(MODELS))
        _, _, prompt_price, completion_price, _ = MODELS[model]
        # The index of (model, turn, temperature, max_tokens) in _Texts.requests.
        request = ((model * len(PROMPTS) + int(draw() * len(PROMPTS))) * len(TEMPERATURES)
                   + int(draw() * len(TEMPERATURES))) * len(MAX_TOKENS)
        request += int(draw() * len(MAX_TOKENS))
        request_tokens = 12 + int(draw() * 1789)
        response_time = 120 + int(draw() * 8881)
        if draw() < 0.06:
            template = int(draw() * len(ERRORS))
            status_code, response_tokens = ERRORS[template][0], 0
            values: dict[str, int | str] = {"time": response_time}
        else:
            # The success template of this model and of the request's turn.
            template = len(ERRORS) + request // (len(TEMPERATURES) * len(MAX_TOKENS))
            status_code, response_tokens = 200, 8 + int(draw() * 893)
            values = {"id": f'"chatcmpl-{bits(64):016x}"', "prompt": request_tokens,
                      "completion": response_tokens,
                      "total": request_tokens + response_tokens, "time": response_time}
        metadata = ((int(draw() * len(USERS)) * len(ENVIRONMENTS)
                     + int(draw() * len(ENVIRONMENTS))) * SESSIONS + int(draw() * SESSIONS))
        # In millionths of a cent, formatted as a 6-place decimal without Decimal's overhead.
        micro = round((request_tokens * prompt_price + response_tokens * completion_price) * 1000)
        # In arrival order, as a gateway writes them (and cheaper for the indexes).
        created = start_micros + round((index + draw()) * step_micros)
        yield (
            _uuid7(created // 1000, bits(74)), trace_id, created, model, request, template,
            values, request_tokens, response_tokens,
            f"{micro // 1_000_000}.{micro % 1_000_000:06d}", response_time, status_code,
            CONFIGS[int(draw() * len(CONFIGS))], PROMPT_SLUGS[int(draw() * len(PROMPT_SLUGS))],
            metadata, MODES[int(draw() * len(MODES))],
        )


def generate_logs(
    *, workspace_id: uuid.UUID, count: int, now: datetime, days: int, seed: int | None = None
) -> Iterator[dict]:
    """The logs as dicts keyed by logs.bulk.COLUMNS."""
    texts = _Texts()
    for (log_id, trace_id, created, model, request, template, values, request_tokens,
         response_tokens, cost, response_time, status_code, config, prompt_slug, metadata,
         mode) in _draw_logs(count=count, now=now, days=days, seed=seed):
        provider, model_name, _, _, url = MODELS[model]
        yield {
            "id": uuid.UUID(int=log_id),
            "workspace_id": workspace_id,
            "trace_id": trace_id,
            "created_at": EPOCH + timedelta(microseconds=created),
            "request": CanonicalText(texts.requests[request]),
            "response": CanonicalText(texts.response(template, values)),
            "ai_provider": provider,
            "ai_model": model_name,
            "request_tokens": request_tokens,
            "response_tokens": response_tokens,
            "total_tokens": request_tokens + response_tokens,
            "cost": cost,
            "cost_currency": "USD",
            "response_time": response_time,
            "status_code": status_code,
            "config": config,
            "prompt_slug": prompt_slug,
            "metadata": CanonicalText(texts.metadata[metadata]),
            "request_url": url,
            "mode": mode,
        }


def generate_copy_lines(
    *, workspace_id: uuid.UUID, count: int, now: datetime, days: int, seed: int | None = None
) -> Iterator[str]:
    """The same logs as generate_logs, as lines of COPY text in logs.bulk.COLUMNS order.

    Several times faster than formatting the dicts: every text that repeats (payloads, model
    columns, the second of a timestamp) is escaped and formatted once, then reused.
    """
    texts = _Texts(escape=copy_json)
    model_columns = [f"{copy_text(provider)}\t{copy_text(model)}" for provider, model, *_ in MODELS]
    urls = [copy_text(url) for *_, url in MODELS]
    constants = {None: NULL} | {text: copy_text(text) for text in CONFIGS + PROMPT_SLUGS + MODES
                                if text is not None}
    workspace = workspace_id.hex
    second, second_text = None, ""
    for (log_id, trace_id, created, model, request, template, values, request_tokens,
         response_tokens, cost, response_time, status_code, config, prompt_slug, metadata,
         mode) in _draw_logs(count=count, now=now, days=days, seed=seed):
        seconds, micros = divmod(created, 1_000_000)
        if seconds != second:
            second = seconds
            second_text = (EPOCH + timedelta(seconds=seconds)).strftime("%Y-%m-%d %H:%M:%S")
        yield (
            f"{log_id:032x}\t{workspace}\t{trace_id}\t{second_text}.{micros:06d}+00\t"
            f"{texts.requests[request]}\t{texts.response(template, values)}\t"
            f"{model_columns[model]}\t{request_tokens}\t{response_tokens}\t"
            f"{request_tokens + response_tokens}\t{cost}\tUSD\t{response_time}\t{status_code}\t"
            f"{constants[config]}\t{constants[prompt_slug]}\t{texts.metadata[metadata]}\t"
            f"{urls[model]}\t{constants[mode]}\n"
        )


def seed_logs(
    *, workspace_id: uuid.UUID, count: int, now: datetime, days: int, seed: int | None = None
) -> int:
    """Writes `count` generated logs; call inside a transaction. Returns how many."""
    logs: dict[str, Any] = {
        "workspace_id": workspace_id, "count": count, "now": now, "days": days, "seed": seed,
    }
    if connection.vendor == "postgresql":
        return copy_log_lines(generate_copy_lines(**logs))
    return bulk_insert_logs(generate_logs(**logs))
