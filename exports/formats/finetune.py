"""finetune.jsonl: OpenAI's chat fine-tuning format, one {"messages": [...]} per usable log.

A log is used when its status code is 2xx, its request body has a `messages` list and its
response body has `choices[0].message`: the line holds the request's messages followed by that
assistant message, with the request's `tools` (and `parallel_tool_calls`) where present. Each
message keeps only the keys the format knows (a response's "refusal": null or "annotations" go).
Any other log, and one whose messages break the format's rules (an unknown role, content that
is neither text nor a list of parts, a tool message without its call id, ...), is skipped and
counted: the export's rows_skipped.
"""

from __future__ import annotations

import json
from typing import Any

import orjson

from exports.fields import FIELDS_BY_NAME, ExportField
from exports.formats.base import ExportFormat, Write
from exports.formats.jsonl import JSONL_ROWS

# The keys each role's message may carry in a training example.
MESSAGE_KEYS = {
    "system": {"role", "content", "name"},
    "user": {"role", "content", "name"},
    "assistant": {"role", "content", "name", "tool_calls", "function_call", "weight"},
    "tool": {"role", "content", "tool_call_id"},
    "function": {"role", "content", "name"},
}
# The content parts each role may send (user images: vision fine-tuning).
PART_KEYS = {"text": {"type", "text"}, "image_url": {"type", "image_url"}}
ROLE_PARTS = {"system": {"text"}, "user": {"text", "image_url"}, "assistant": {"text"},
              "tool": {"text"}, "function": set()}


class NotAnExample(ValueError):
    """A log that cannot be a training example; the message says why."""


def _part_problem(part: Any, role: str) -> str | None:
    if not isinstance(part, dict) or part.get("type") not in ROLE_PARTS[role]:
        return f"a {role} message has a content part the format does not take"
    if not set(part) <= PART_KEYS[part["type"]]:
        return f"a {part['type']} part has keys the format does not take"
    if part["type"] == "text" and not isinstance(part.get("text"), str):
        return "a text part has no text"
    if part["type"] == "image_url" and not (
            isinstance(part.get("image_url"), dict)
            and isinstance(part["image_url"].get("url"), str)):
        return "an image part has no url"
    return None


def _tool_call_problem(call: Any) -> str | None:
    if not (isinstance(call, dict) and isinstance(call.get("id"), str)
            and call.get("type") == "function" and isinstance(call.get("function"), dict)):
        return "a tool call is not a function call with an id"
    function = call["function"]
    if not (isinstance(function.get("name"), str) and isinstance(function.get("arguments"), str)):
        return "a tool call has no function name or arguments"
    return None


def message_problem(message: Any) -> str | None:
    """Why a message breaks the format's rules, or None when it keeps them."""
    if not isinstance(message, dict) or message.get("role") not in MESSAGE_KEYS:
        return "a message has no role the format knows (system, user, assistant, tool, function)"
    role = message["role"]
    if not set(message) <= MESSAGE_KEYS[role]:
        return f"a {role} message has keys the format does not take"
    content = message.get("content")
    calls = message.get("tool_calls")
    if isinstance(content, list):
        if not content:
            return f"a {role} message has an empty list of parts"
        problems = [_part_problem(part, role) for part in content]
        if any(problems):
            return next(problem for problem in problems if problem)
    elif not isinstance(content, str):
        calling = role == "assistant" and (calls or message.get("function_call"))
        if not (content is None and (calling or role == "function")):
            return f"a {role} message has neither text nor a list of parts as content"
    if "name" in message and not isinstance(message["name"], str):
        return f"a {role} message has a name that is not text"
    if role == "tool" and not isinstance(message.get("tool_call_id"), str):
        return "a tool message has no tool_call_id"
    if role == "function" and not isinstance(message.get("name"), str):
        return "a function message has no name"
    if calls is not None:
        if not isinstance(calls, list) or not calls:
            return "tool_calls is not a list of calls"
        problems = [_tool_call_problem(call) for call in calls]
        if any(problems):
            return next(problem for problem in problems if problem)
    if "weight" in message and message["weight"] not in (0, 1):
        return "an assistant message's weight is neither 0 nor 1"
    return None


def example_problem(example: Any) -> str | None:
    """Why a training example breaks the format's rules, or None when it keeps them."""
    if not isinstance(example, dict) or not set(example) <= {"messages", "tools",
                                                              "parallel_tool_calls"}:
        return "an example is not an object of messages (and tools)"
    messages = example.get("messages")
    if not isinstance(messages, list) or len(messages) < 2:
        return "an example needs a list of at least two messages"
    problems = [message_problem(message) for message in messages]
    if any(problems):
        return next(problem for problem in problems if problem)
    if messages[-1]["role"] != "assistant":
        return "the last message is not the assistant's"
    if "tools" in example and not (isinstance(example["tools"], list) and all(
            isinstance(tool, dict) and tool.get("type") == "function"
            and isinstance(tool.get("function"), dict)
            and isinstance(tool["function"].get("name"), str) for tool in example["tools"])):
        return "tools is not a list of function tools"
    if "parallel_tool_calls" in example and not isinstance(example["parallel_tool_calls"], bool):
        return "parallel_tool_calls is not true or false"
    return None


def _clean(message: Any) -> Any:
    """The message with only the keys the format knows for its role; null keys dropped."""
    if not isinstance(message, dict):
        return message
    known = MESSAGE_KEYS.get(str(message.get("role")), set(message))
    return {key: value for key, value in message.items()
            if key in known and (value is not None or key == "content")}


def training_example(log: dict) -> dict:
    """The log's training example; raises NotAnExample when the log cannot be one."""
    status = log.get("status_code")
    if not (isinstance(status, int) and 200 <= status < 300):
        raise NotAnExample("its status code is not 2xx")
    request = (log.get("request") or {}).get("body") if isinstance(log.get("request"),
                                                                   dict) else None
    response = (log.get("response") or {}).get("body") if isinstance(log.get("response"),
                                                                     dict) else None
    if not isinstance(request, dict) or not isinstance(request.get("messages"), list):
        raise NotAnExample("its request body has no list of messages")
    choices = response.get("choices") if isinstance(response, dict) else None
    if not (isinstance(choices, list) and choices and isinstance(choices[0], dict)
            and isinstance(choices[0].get("message"), dict)):
        raise NotAnExample("its response body has no choices[0].message")
    example: dict[str, Any] = {
        "messages": [_clean(message) for message in request["messages"]]
        + [_clean(choices[0]["message"])],
    }
    for key in ("tools", "parallel_tool_calls"):
        if request.get(key) is not None:
            example[key] = request[key]
    problem = example_problem(example)
    if problem:
        raise NotAnExample(problem)
    return example


def _loads(line: bytes) -> Any:
    try:
        return orjson.loads(line)
    except orjson.JSONDecodeError:  # e.g. an integer wider than 64 bits
        return json.loads(line)


def _dumps(value: Any) -> bytes:
    try:
        return orjson.dumps(value)
    except TypeError:  # an integer wider than 64 bits
        return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


class FinetuneEncoder:
    def __init__(self, fields: list[ExportField], write: Write, header: bool = True):
        self.write = write
        self.skipped = 0

    def feed(self, data: bytes) -> None:
        lines = []
        for line in data.split(b"\n"):
            if not line:
                continue
            try:
                lines.append(_dumps(training_example(_loads(line))))
            except NotAnExample:
                self.skipped += 1
        if lines:
            lines.append(b"")
            self.write(b"\n".join(lines))

    def close(self) -> None:
        pass


def payload_fields(fields: list[ExportField]) -> list[ExportField]:
    return [FIELDS_BY_NAME[name] for name in ("request", "response", "status_code")]


FINETUNE = ExportFormat(
    name="finetune.jsonl", member="FINETUNE_JSONL", label="Fine-tuning JSONL (OpenAI chat)",
    summary="Successful chat completions as OpenAI fine-tuning examples; other logs are "
            "skipped and counted. The fields chosen do not apply.",
    content_type="application/jsonl; charset=utf-8", rows=JSONL_ROWS,
    open_encoder=FinetuneEncoder, source_fields=payload_fields,
)
