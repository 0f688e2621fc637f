"""A corpus of realistic chat logs with planted personal data and secrets (at least 50 of each
detector's kind, in prompts, responses and metadata) next to look-alikes that must stay: order
numbers, timestamps, version strings, UUIDs and 16-digit ids that fail the Luhn check.

Written independently of exports.redaction (its own Luhn, its own forms), so a detector's bug
cannot hide itself here.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from logs.models import Log

PER_KIND = 60
KINDS = ("email", "phone", "credit_card", "ip_address", "secret")
FIRST = ["jane", "omar", "li", "sara", "pedro", "anna", "kofi", "yuki", "ivan", "maria"]
DOMAINS = ["example.com", "acme.io", "mail.example.co.uk", "corp.example.org"]
ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"


def luhn_digit(body: str) -> str:
    """The check digit that makes body + digit pass Luhn."""
    total = 0
    for index, char in enumerate(reversed(body)):
        value = int(char) * (2 if index % 2 == 0 else 1)
        total += value - 9 if value > 9 else value
    return str((10 - total % 10) % 10)


def _group(digits: str, sizes: list[int], sep: str) -> str:
    parts, at = [], 0
    for size in sizes:
        parts.append(digits[at:at + size])
        at += size
    return sep.join(parts)


def _token(rng: random.Random, length: int, alphabet: str = ALNUM) -> str:
    return "".join(rng.choice(alphabet) for _ in range(length))


def planted_value(kind: str, index: int, rng: random.Random) -> str:
    if kind == "email":
        return f"{FIRST[index % 10]}.{rng.choice(FIRST)}{index}@{DOMAINS[index % 4]}"
    if kind == "phone":
        number = f"{index:04d}"
        return [f"+1 415 555 {number}", f"(212) 555-{number}", f"646-555-{number}",
                f"+44 20 7946 {number}", f"020 7946 {number}", f"+49 30 9018{number}",
                f"646.555.{number}", f"+33 1 42 68 {number[:2]} {number[2:]}"][index % 8]
    if kind == "credit_card":
        if index % 4 == 3:  # American Express: 15 digits, 4-6-5
            body = "37" + "".join(rng.choice("0123456789") for _ in range(12))
            return _group(body + luhn_digit(body), [4, 6, 5], " ")
        prefix = ["4", "51", "55"][index % 3]
        body = prefix + "".join(rng.choice("0123456789") for _ in range(15 - len(prefix)))
        digits = body + luhn_digit(body)
        return [_group(digits, [4, 4, 4, 4], " "), _group(digits, [4, 4, 4, 4], "-"),
                digits][index % 3]
    if kind == "ip_address":
        if index % 3 == 0:
            return f"10.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
        if index % 3 == 1:
            return f"2001:db8:{rng.randint(1, 0xffff):x}::{rng.randint(1, 0xffff):x}"
        return f"fe80::{rng.randint(1, 0xffff):x}:{rng.randint(1, 0xffff):x}:1"
    # secret
    form = index % 8
    if form == 0:
        return "sk-proj-" + _token(rng, 40)
    if form == 1:
        return "sk-ant-api03-" + _token(rng, 40)
    if form == 2:
        return "AKIA" + _token(rng, 16, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")
    if form == 3:
        return "ghp_" + _token(rng, 36)
    if form == 4:
        return f"xoxb-{rng.randint(10**9, 10**10)}-" + _token(rng, 24)
    if form == 5:
        return "Bearer " + _token(rng, 32)
    if form == 6:
        return "eyJhbGciOiJIUzI1NiJ9.eyJ" + _token(rng, 30) + "." + _token(rng, 43)
    return ("-----BEGIN PRIVATE KEY-----\n" + _token(rng, 64) + "\n" + _token(rng, 40)
            + "\n-----END PRIVATE KEY-----")


def look_alike(index: int, rng: random.Random) -> str:
    form = index % 7
    if form == 0:
        return f"ORD-{2024 + index % 3}-{rng.randint(100000, 999999)}"
    if form == 1:
        return f"2024-0{1 + index % 9}-1{index % 10}T12:3{index % 10}:0{index % 10}.123456Z"
    if form == 2:
        return f"v{index % 5}.{index % 13}.{index % 7}"
    if form == 3:
        return str(uuid.UUID(int=rng.getrandbits(128)))
    if form == 4:  # a 16-digit id that fails Luhn
        body = "".join(rng.choice("123456789") for _ in range(15))
        return body + str((int(luhn_digit(body)) + 1 + index % 8) % 10)
    if form == 5:
        return f"#{rng.randint(10000, 99999)}"
    return f"{index % 4}.{index % 11}.{index % 9}"


@dataclass
class Corpus:
    planted: dict[str, list[str]] = field(default_factory=lambda: {kind: [] for kind in KINDS})
    look_alikes: list[str] = field(default_factory=list)
    logs: int = 0


def create_redaction_corpus(workspace, *, seed: int = 19,
                            start: datetime | None = None) -> Corpus:
    """PER_KIND planted values of each kind, a third each in prompts, responses and metadata,
    each next to a look-alike; one log per planted value."""
    rng = random.Random(seed)
    start = start or datetime(2025, 6, 1, 8, 0, tzinfo=UTC)
    corpus = Corpus()
    logs: list[Log] = []
    for index in range(PER_KIND):
        for number, kind in enumerate(KINDS):
            value = planted_value(kind, index, rng)
            other = look_alike(index * 5 + number, rng)
            corpus.planted[kind].append(value)
            corpus.look_alikes.append(other)
            prompt, answer, meta = "Summarise ticket 42.", "Done, see the ticket.", {}
            where = (index + number) % 3
            if where == 0:
                prompt = f"Customer wrote: please use {value} (ref {other}). Thanks!"
            elif where == 1:
                answer = f"I found {value} in the record, and {other} as its reference."
            else:
                meta = {"contact": value, "ref": other, "nested": {"ids": [other, 7]}}
            logs.append(Log(
                workspace=workspace, created_at=start + timedelta(seconds=len(logs)),
                trace_id=f"trace-{len(logs)}", ai_provider="openai", ai_model="gpt-4o",
                status_code=200, total_tokens=100 + index, request_url=f"/v1/chat?ref={other}",
                request={"url": "https://api.openai.com/v1/chat/completions",
                         "body": {"model": "gpt-4o", "messages": [
                             {"role": "system", "content": f"Build {other}. Be brief."},
                             {"role": "user", "content": prompt}]}},
                response={"status": 200, "body": {"id": f"chatcmpl-{index}", "choices": [
                    {"index": 0, "finish_reason": "stop",
                     "message": {"role": "assistant", "content": answer}}]}},
                metadata={"team": "support", "release": other, **meta},
            ))
    Log.objects.bulk_create(logs)
    corpus.logs = len(logs)
    return corpus
