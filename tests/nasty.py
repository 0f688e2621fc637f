"""Payloads that break naive exporters: escapes, unicode, odd numbers, odd keys."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from logs.models import Log

NASTY_TEXT = (
    'quote " backslash \\ slash / newline \n return \r tab \t '
    "bell \x07 unit-sep \x1f backspace \b formfeed \f del \x7f "
    "accents éàü cjk 漢字 emoji 🚀👩‍💻 rtl עברית line-sep \u2028 para-sep \u2029 "
    "literal \\u0000 and \\n escapes, COPY's \\. end marker"
)

NASTY_PAYLOADS = [
    {
        "url": "https://api.openai.com/v1/chat/completions?q=a%20b&x=\\",
        "body": {
            "messages": [{"role": "user", "content": NASTY_TEXT}],
            "numbers": [0, -1, 1.5, 1e-07, 2.5e-12, 1e16, 123456789012345678901234567890,
                        0.1, 100.0, -0.0, 3.141592653589793],
            "flags": [True, False, None],
            "empty": {"": "", "nested": {}, "list": []},
            "ключ": "значение",
            "zz": 1,
            "a": {"bb": 2, "a": 1, "ccc": 3},
            "emoji 🚀": "🚀",
        },
    },
    {"text": "\\\\server\\share\\file.txt", "tab\tkey": "new\nline", "q\"uote": "\u0001"},
    [1, "two", {"three": 3}],
    "just a string with \\ and \"",
    42,
]


def create_nasty_logs(workspace, *, start: datetime | None = None) -> list[Log]:
    start = start or datetime(2024, 1, 15, 12, 0, tzinfo=UTC)
    logs = []
    for index, payload in enumerate(NASTY_PAYLOADS):
        logs.append(Log.objects.create(
            workspace=workspace,
            trace_id=f"trace \"{index}\" \\ {NASTY_TEXT[:20]}",
            created_at=start + timedelta(seconds=index, microseconds=index * 1001),
            request=payload,
            response={"status": 200, "body": {"echo": payload}},
            ai_provider="openai",
            ai_model="gpt-4o",
            request_tokens=10 + index,
            response_tokens=5,
            total_tokens=15 + index,
            cost=[Decimal("0"), Decimal("0.000001"), Decimal("12.5"), Decimal("1000"),
                  Decimal("0.123456")][index],
            status_code=[200, 201, 429, 500, 299][index],
            config=None if index % 2 else "pc-config-1",
            prompt_slug=None,
            metadata={"_user": NASTY_TEXT, "ключ": "🚀", "n": index},
            request_url="https://example.com/\\path",
            mode="fallback",
        ))
    # Two logs at the very same instant: the id decides their order.
    twin_time = start + timedelta(hours=1)
    for _ in range(2):
        logs.append(Log.objects.create(workspace=workspace, created_at=twin_time,
                                       request={"twin": True}, response={}, metadata={}))
    return logs
