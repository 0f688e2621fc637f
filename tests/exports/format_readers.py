"""Reading export files back, each with the tool a user would use, and checking the values
against the JSONL export of the same logs; and logs that make (or do not make) training examples.

The fine-tuning rules here are written from OpenAI's documentation of the chat fine-tuning
format, independently of exports.formats.finetune, so a bug there cannot hide itself here.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from logs.models import Log

JSON_FIELDS = {"request", "response", "metadata"}


def jsonl_records(data: bytes, *, raw_numbers: bool = False) -> list[dict]:
    """The JSONL export's records; with raw_numbers, numbers stay the text the file holds."""
    options = {"parse_float": str, "parse_int": str} if raw_numbers else {}
    text = data.decode("utf-8")
    assert text == "" or text.endswith("\n")
    # split("\n"), not splitlines(): a JSON string may hold U+2028, which splitlines() splits on.
    return [json.loads(line, **options) for line in text.split("\n")[:-1]]


def csv_rows(data: bytes) -> tuple[list[str], list[list[str]]]:
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    reader = csv.reader(io.StringIO(data.decode("utf-8"), newline=""))
    header = next(reader)
    return header, list(reader)


def assert_csv_matches_jsonl(csv_data: bytes, jsonl_data: bytes, fields: list[str]) -> int:
    """Every cell is the JSONL value's text (a null is an empty cell); returns the row count."""
    header, rows = csv_rows(csv_data)
    assert header == fields
    records = jsonl_records(jsonl_data, raw_numbers=True)
    exact = jsonl_records(jsonl_data)
    assert len(rows) == len(records)
    for row, record, typed in zip(rows, records, exact, strict=True):
        assert len(row) == len(fields)
        for name, cell in zip(fields, row, strict=True):
            value = record[name]
            if name in JSON_FIELDS:
                assert json.loads(cell) == typed[name], name
            elif value is None:
                assert cell == "", name
            elif isinstance(value, bool):
                assert cell == ("true" if value else "false"), name
            else:
                assert cell == value, name  # strings, and numbers as the JSONL text
    return len(rows)


def assert_parquet_matches_jsonl(parquet_data: bytes, jsonl_data: bytes,
                                 fields: list[str]) -> int:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pq.read_table(io.BytesIO(parquet_data))
    assert table.column_names == fields
    types = dict(zip(table.column_names, table.schema.types, strict=True))
    expected_types = {"created_at": pa.timestamp("us", tz="UTC"), "cost": pa.float64(),
                      "is_success": pa.bool_()}
    for name in ("request_tokens", "response_tokens", "total_tokens", "response_time",
                 "status_code"):
        expected_types[name] = pa.int64()
    for name, kind in types.items():
        assert kind == expected_types.get(name, pa.string()), name
    records = jsonl_records(jsonl_data)
    rows = table.to_pylist()
    assert len(rows) == len(records)
    for row, record in zip(rows, records, strict=True):
        for name in fields:
            value, expected = row[name], record[name]
            if name in JSON_FIELDS:
                assert json.loads(value) == expected, name
            elif name == "created_at":
                assert value == datetime.fromisoformat(expected), name
                assert value.utcoffset() == timedelta(0)
            elif name == "cost":
                assert value == float(Decimal(str(expected))), name
            else:
                assert value == expected, name
    return len(rows)


# --- The fine-tuning format -------------------------------------------------------------------

ROLES = {"system", "user", "assistant", "tool", "function"}


def finetune_rule_breaks(example) -> list[str]:
    """What an example breaks of OpenAI's chat fine-tuning format (empty when it passes)."""
    problems = []
    if not isinstance(example, dict) or not isinstance(example.get("messages"), list):
        return ["not an object with a messages list"]
    if set(example) - {"messages", "tools", "parallel_tool_calls"}:
        problems.append(f"unknown keys {set(example) - {'messages', 'tools'}}")
    messages = example["messages"]
    if not messages or messages[-1].get("role") != "assistant":
        problems.append("the last message is not from the assistant")
    for message in messages:
        role = message.get("role")
        if role not in ROLES:
            problems.append(f"role {role!r}")
            continue
        content = message.get("content")
        if isinstance(content, list):
            for part in content:
                if part.get("type") == "text" and isinstance(part.get("text"), str):
                    continue
                if (role == "user" and part.get("type") == "image_url"
                        and isinstance(part.get("image_url", {}).get("url"), str)):
                    continue
                problems.append(f"a {role} part {part!r}")
        elif not isinstance(content, str) and not (role == "assistant"
                                                   and message.get("tool_calls")):
            problems.append(f"{role} content {content!r}")
        allowed = {"role", "content", "name"} | {
            "assistant": {"tool_calls", "function_call", "weight"},
            "tool": {"tool_call_id"}}.get(role, set())
        if set(message) - allowed:
            problems.append(f"{role} keys {set(message) - allowed}")
        if role == "tool" and not isinstance(message.get("tool_call_id"), str):
            problems.append("a tool message without tool_call_id")
    return problems


def expected_examples(jsonl_data: bytes) -> tuple[list[dict], int]:
    """(examples, logs skipped) from the JSONL export of request, response and status_code."""
    examples, skipped = [], 0
    for record in jsonl_records(jsonl_data):
        body = record["request"].get("body") if isinstance(record["request"], dict) else None
        answer = record["response"].get("body") if isinstance(record["response"], dict) else None
        choices = answer.get("choices") if isinstance(answer, dict) else None
        if not (200 <= record["status_code"] < 300 and isinstance(body, dict)
                and isinstance(body.get("messages"), list) and choices
                and isinstance(choices[0].get("message"), dict)):
            skipped += 1
            continue
        example = {"messages": [*body["messages"], choices[0]["message"]]}
        if any(message.get("role") not in ROLES for message in example["messages"]):
            skipped += 1
            continue
        if "tools" in body:
            example["tools"] = body["tools"]
        examples.append(example)
    return examples, skipped


def same_example(written: dict, expected: dict) -> bool:
    """The written example holds the expected one's messages and tools; keys the format does
    not know (a response's refusal: null, annotations) may have been left out."""
    if written.get("tools") != expected.get("tools"):
        return False
    if len(written["messages"]) != len(expected["messages"]):
        return False
    for mine, theirs in zip(written["messages"], expected["messages"], strict=True):
        for key in ("role", "content", "tool_calls", "tool_call_id", "name"):
            if mine.get(key) != theirs.get(key):
                return False
    return True


def _chat(messages, answer, *, tools=None, status=200, created=None, workspace=None):
    body = {"model": "gpt-4o", "messages": messages}
    if tools is not None:
        body["tools"] = tools
    return Log.objects.create(
        workspace=workspace, created_at=created, status_code=status, ai_model="gpt-4o",
        request={"url": "https://api.openai.com/v1/chat/completions", "body": body},
        response={"status": status, "body": answer},
    )


def create_chat_logs(workspace, *, start: datetime | None = None) -> dict[str, int]:
    """Logs that make training examples and logs that must be skipped; their counts."""
    start = start or datetime(2024, 3, 1, 9, 0, tzinfo=UTC)
    moment = iter(start + timedelta(seconds=index) for index in range(100))
    weather = {"type": "function", "function": {
        "name": "get_weather", "description": "Weather of a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}
    call = {"id": "call_1", "type": "function",
            "function": {"name": "get_weather", "arguments": "{\"city\": \"Paris\"}"}}

    def make(messages, answer, **options):
        return _chat(messages, answer, created=next(moment), workspace=workspace, **options)

    def completion(message):
        return {"id": "chatcmpl-1", "object": "chat.completion",
                "choices": [{"index": 0, "message": message, "finish_reason": "stop"}]}

    # Usable: plain, multi-turn with tool calls and tools, parts content, unknown keys dropped.
    make([{"role": "system", "content": "Be brief."},
          {"role": "user", "content": "Capital of France? \"Quote\", comma\nnewline 🚀"}],
         completion({"role": "assistant", "content": "Paris.", "refusal": None,
                     "annotations": []}))
    make([{"role": "user", "content": "Weather in Paris?"},
          {"role": "assistant", "content": None, "tool_calls": [call]},
          {"role": "tool", "tool_call_id": "call_1", "content": "{\"temp\": 21}"}],
         completion({"role": "assistant", "content": "21 °C and sunny."}), tools=[weather])
    make([{"role": "user", "content": "Weather?"}],
         completion({"role": "assistant", "content": None, "tool_calls": [call]}),
         tools=[weather])
    make([{"role": "user", "content": [
            {"type": "text", "text": "What is in this picture?"},
            {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}}]}],
         completion({"role": "assistant", "content": "A cat."}))
    usable = 4
    # Skipped: an error, no messages (embeddings), no choices, a role the format lacks.
    make([{"role": "user", "content": "Hi"}],
         {"error": {"type": "rate_limit_exceeded", "message": "slow down"}}, status=429)
    Log.objects.create(
        workspace=workspace, created_at=next(moment), status_code=200,
        request={"url": "https://api.openai.com/v1/embeddings", "body": {"input": "hello"}},
        response={"status": 200, "body": {"data": [{"embedding": [0.1, 0.2]}]}})
    make([{"role": "user", "content": "Hi"}], {"id": "x", "choices": []})
    make([{"role": "narrator", "content": "Once upon a time"}],
         completion({"role": "assistant", "content": "The end."}))
    return {"usable": usable, "skipped": 4}
