"""Realistic synthetic gateway logs, for demos, tests and benchmarks."""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta

from logs.bulk import bulk_insert_logs
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

USERS = ["alice@example.com", "bob@example.com", "chen@example.com", "dana@example.com"]
ENVIRONMENTS = ["production", "staging"]
CONFIGS = [None, "pc-default-1a2b", "pc-fallback-9f8e"]
PROMPT_SLUGS = [None, None, "support-summary", "translate-fr"]
MODES = ["single", "single", "single", "loadbalance", "fallback"]


class PayloadTemplates:
    """Canonical JSON text for the payloads, rendered once per shape and then filled in.

    Numbers and ids change from log to log; they are written into the rendered text in place of
    marker strings, which leaves jsonb's key order, decided by the keys alone, untouched.
    """

    def __init__(self):
        self.cache: dict[tuple, str] = {}

    def render(self, key: tuple, build, *args) -> str:
        text = self.cache.get(key)
        if text is None:
            text = self.cache[key] = canonical_json(build(*args))
        return text

    @staticmethod
    def fill(template: str, **values: object) -> CanonicalText:
        for name, value in values.items():
            text = value if isinstance(value, str) else str(value)
            template = template.replace(f'"@{name}@"', text)
        return CanonicalText(template)


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


def uuid7(millis: int, random_bits: int) -> uuid.UUID:
    """A time-ordered UUID (version 7), as modern gateways give their logs."""
    value = (millis << 80) | (0x7 << 76) | ((random_bits >> 62) << 64) | (0b10 << 62)
    return uuid.UUID(int=value | (random_bits & ((1 << 62) - 1)))


def _metadata_payload(user: str, environment: str, session: str):
    return {"_user": user, "environment": environment, "session": session}


def generate_logs(
    *, workspace_id: uuid.UUID, count: int, now: datetime, days: int, seed: int | None = None
) -> Iterator[dict]:
    rng = random.Random(seed)
    draw = rng.random  # one C call per choice: rng.choice/randint cost several Python calls

    def pick(options):
        return options[int(draw() * len(options))]

    def between(low: int, high: int) -> int:
        return low + int(draw() * (high - low + 1))

    templates = PayloadTemplates()
    span_seconds = max(1, days * 86_400)
    step = span_seconds / count
    start = now - timedelta(seconds=span_seconds)
    start_millis = int(start.timestamp() * 1000)
    trace_id = ""
    for index in range(count):
        # A few logs in a row share a trace, as retries and multi-step calls do.
        if index % 3 == 0:
            trace_id = f"{rng.getrandbits(128):032x}"
        model_index = int(draw() * len(MODELS))
        provider, model, prompt_price, completion_price, url = MODELS[model_index]
        turn = int(draw() * len(PROMPTS))
        temperature = pick((0, 0.2, 0.7, 1))
        max_tokens = pick((256, 512, 1024))
        request = templates.render(
            ("request", model_index, turn, temperature, max_tokens),
            _request_payload, model, url, turn, temperature, max_tokens,
        )
        request_tokens = between(12, 1800)
        response_time = between(120, 9000)
        if draw() < 0.06:
            error_index = int(draw() * len(ERRORS))
            status_code = ERRORS[error_index][0]
            response_tokens = 0
            response = templates.fill(
                templates.render(("error", error_index), _error_payload, *ERRORS[error_index]),
                time=response_time,
            )
        else:
            status_code, response_tokens = 200, between(8, 900)
            response = templates.fill(
                templates.render(("success", model_index, turn), _success_payload, model, turn),
                id=f'"chatcmpl-{rng.getrandbits(64):016x}"',
                prompt=request_tokens,
                completion=response_tokens,
                total=request_tokens + response_tokens,
                time=response_time,
            )
        user, environment, session = (
            pick(USERS), pick(ENVIRONMENTS), f"s-{between(1, 500)}"
        )
        metadata = templates.render(
            ("metadata", user, environment, session),
            _metadata_payload, user, environment, session,
        )
        # In millionths of a cent, formatted as a 6-place decimal without Decimal's overhead.
        micro = round((request_tokens * prompt_price + response_tokens * completion_price) * 1000)
        cost = f"{micro // 1_000_000}.{micro % 1_000_000:06d}"
        offset_seconds = (index + draw()) * step
        created_at = start + timedelta(seconds=offset_seconds)
        yield {
            "id": uuid7(start_millis + int(offset_seconds * 1000), rng.getrandbits(74)),
            "workspace_id": workspace_id,
            "trace_id": trace_id,
            # In arrival order, as a gateway writes them (and cheaper for the indexes).
            "created_at": created_at,
            "request": CanonicalText(request),
            "response": response,
            "ai_provider": provider,
            "ai_model": model,
            "request_tokens": request_tokens,
            "response_tokens": response_tokens,
            "total_tokens": request_tokens + response_tokens,
            "cost": cost,
            "cost_currency": "USD",
            "response_time": response_time,
            "status_code": status_code,
            "config": pick(CONFIGS),
            "prompt_slug": pick(PROMPT_SLUGS),
            "metadata": CanonicalText(metadata),
            "request_url": url,
            "mode": pick(MODES),
        }


def seed_logs(
    *, workspace_id: uuid.UUID, count: int, now: datetime, days: int, seed: int | None = None
) -> int:
    rows = generate_logs(workspace_id=workspace_id, count=count, now=now, days=days, seed=seed)
    return bulk_insert_logs(rows)
