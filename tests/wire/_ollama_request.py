"""Decoding an Ollama request body the way Ollama's Go handlers do, and refusing it.

Go's ``ShouldBindJSON`` rejects a body that does not decode into the request struct with 400;
option values of the wrong type fail later, in ``Options.FromMap``, with 500.
"""

from __future__ import annotations

import json
from typing import Any

from tests.wire import _ollama_shapes as shapes
from tests.wire._http import Recorded, Reply

__all__ = ["Refusal", "check_top_logprobs", "int_option", "keep_alive", "num_keep",
           "parse_body", "parse_messages", "parse_options", "refuse", "send_json"]


class Refusal(Exception):
    """An answer other than 200: ``status`` and Ollama's ``{"error": message}``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


async def send_json(reply: Reply, status: int, obj: dict[str, Any] | str) -> None:
    """Send ``obj`` as gin does: compact JSON (or plain text for a string)."""
    if isinstance(obj, str):
        await reply.send(status, obj)
    else:
        await reply.send(status, shapes.line(obj)[:-1], "application/json; charset=utf-8")


async def refuse(reply: Reply, status: int, message: str) -> None:
    """Answer ``{"error": message}``: with ``status`` before streaming, else as a last line."""
    error = {"error": message}
    if not reply.started:
        await send_json(reply, status, error)
    else:
        await reply.chunk(shapes.line(error))
        await reply.end()


def parse_body(request: Recorded) -> dict[str, Any]:
    """Return the JSON object in ``request``, or refuse like Go's JSON binding."""
    if not request.body.strip():
        raise Refusal(400, "missing request body")
    try:
        body = request.json()
    except ValueError as exc:
        raise Refusal(400, str(exc)) from exc
    if not isinstance(body, dict):
        raise Refusal(400, "json: cannot unmarshal into Go value of type api.Request")
    return body


def check_top_logprobs(body: dict[str, Any]) -> None:
    """Refuse ``top_logprobs`` outside 0..20, as Ollama does before anything else."""
    top = body.get("top_logprobs") or 0
    if isinstance(top, bool) or not isinstance(top, (int, float)) or not 0 <= top <= 20:
        raise Refusal(400, "top_logprobs must be between 0 and 20")


def keep_alive(body: dict[str, Any]) -> float:
    """Return ``keep_alive`` in seconds (``inf`` = forever), or refuse a bad duration."""
    try:
        return shapes.keep_alive_seconds(body.get("keep_alive"))
    except ValueError as exc:
        raise Refusal(400, str(exc)) from exc


def parse_messages(body: dict[str, Any]) -> list[dict[str, Any]]:
    """Return ``messages`` (a list of objects), or refuse."""
    messages = body.get("messages") or []
    if not isinstance(messages, list) or not all(isinstance(m, dict) for m in messages):
        raise Refusal(400, "json: cannot unmarshal messages into Go struct field "
                            "ChatRequest.messages of type []api.Message")
    return messages


def parse_options(body: dict[str, Any]) -> dict[str, Any]:
    """Return ``options`` (an object), or refuse."""
    options = body.get("options") or {}
    if not isinstance(options, dict):
        raise Refusal(400, "json: cannot unmarshal options into Go struct field "
                            ".options of type map[string]interface {}")
    return options


def int_option(options: dict[str, Any], key: str) -> int | None:
    """Return an integer option (JSON floats truncated, as Go does), or refuse others."""
    value = options.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise Refusal(500, f"option {json.dumps(key)} must be of type integer")
    return int(value)


def num_keep(options: dict[str, Any]) -> int:
    """Return ``num_keep``: how many head tokens survive truncation (default 4)."""
    value = int_option(options, "num_keep")
    return 4 if value is None else value
