"""A scripted, fault-injecting HTTP server on 127.0.0.1 for fallback and breaker tests.

Each request takes the next behaviour from the script (any method, any path, so it stands in
for ``/v1/chat/completions``, ``/generate``, ``/api/chat``, ``/health`` ...); when the script
is used up, the default behaviour answers (unless told otherwise a loud 500, so an unexpected
retry shows). Paths given in ``fixed`` always get their own behaviour and consume nothing.
Every request is recorded (``method``, ``path``, ``headers``, ``body``, ``arrived``).

The engines' real error bodies (context too long, overload) are defined in
``tests.wire.error_bodies`` and re-exported here.
"""

from __future__ import annotations

import asyncio
import json
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from tests.wire._http import LoopbackServer, Recorded, Reply, WireServer
from tests.wire.error_bodies import (
    LLAMACPP_CONTEXT_ERROR,
    LLAMACPP_LEGACY_CONTEXT_ERROR,
    LLAMACPP_LOADING_503,
    OLLAMA_BUSY_503,
    OPENAI_429,
    OPENAI_500,
    OPENAI_503,
    SGLANG_CONTEXT_ERROR,
    SGLANG_NATIVE_CONTEXT_ERROR,
    VLLM_CONTEXT_ERROR,
    VLLM_LEGACY_CONTEXT_ERROR,
    VLLM_MAX_TOKENS_ERROR,
    llamacpp_context_error,
    sglang_context_error,
    vllm_context_error,
)

__all__ = [
    "LLAMACPP_CONTEXT_ERROR", "LLAMACPP_LEGACY_CONTEXT_ERROR", "LLAMACPP_LOADING_503", "NDJSON",
    "OLLAMA_BUSY_503", "OPENAI_429", "OPENAI_500", "OPENAI_503", "SGLANG_CONTEXT_ERROR",
    "SGLANG_NATIVE_CONTEXT_ERROR", "SSE", "VLLM_CONTEXT_ERROR", "VLLM_LEGACY_CONTEXT_ERROR",
    "VLLM_MAX_TOKENS_ERROR", "Behaviour", "FaultyServer", "chat_completion", "drop_after", "hang",
    "llamacpp_context_error", "malformed", "ndjson", "ok", "ok_stream", "sglang_context_error",
    "sse", "status", "vllm_context_error",
]

SSE = "text/event-stream"
NDJSON = "application/x-ndjson"


@dataclass(frozen=True)
class Behaviour:
    """How the server answers one request; build one with the functions below."""

    kind: str
    status: int = 200
    body: bytes = b""
    content_type: str = "application/json"
    headers: Mapping[str, str] = field(default_factory=dict)
    chunks: tuple[str, ...] = ()
    send_chunks: int | None = None
    delay: float = 0.0


def _json(body: Any) -> bytes:
    return json.dumps(body).encode()


def ok(json_body: Any, *, headers: Mapping[str, str] | None = None,
       delay: float = 0.0) -> Behaviour:
    """Answer 200 with ``json_body`` as JSON, after ``delay`` seconds."""
    return Behaviour("whole", 200, _json(json_body), headers=dict(headers or {}), delay=delay)


def status(code: int, json_body: Any, *, headers: Mapping[str, str] | None = None) -> Behaviour:
    """Answer ``code`` with ``json_body`` as JSON (e.g. ``Retry-After`` in ``headers``)."""
    return Behaviour("whole", code, _json(json_body), headers=dict(headers or {}))


def malformed(text: str = '{"choices": [{"message": {"content": "cut') -> Behaviour:
    """Answer 200 ``application/json`` whose body is ``text``, which is not valid JSON."""
    return Behaviour("whole", 200, text.encode())


def ok_stream(chunks: Sequence[str], content_type: str = SSE, *,
              delay: float = 0.0) -> Behaviour:
    """Stream ``chunks`` (chunked transfer), ``delay`` seconds apart, then end properly."""
    return Behaviour("stream", content_type=content_type, chunks=tuple(chunks), delay=delay)


def drop_after(chunks: Sequence[str], n: int, content_type: str = SSE, *,
               delay: float = 0.0) -> Behaviour:
    """Stream the first ``n`` of ``chunks``, then close the TCP connection abruptly."""
    return Behaviour("stream", content_type=content_type, chunks=tuple(chunks),
                     send_chunks=n, delay=delay)


def hang(seconds: float) -> Behaviour:
    """Read the request and answer nothing for ``seconds``, then close the connection."""
    return Behaviour("hang", delay=seconds)


def chat_completion(text: str, finish: str | None = "stop") -> dict[str, Any]:
    """Return an OpenAI chat completion body answering ``text``."""
    return {"id": "c", "object": "chat.completion", "created": 0, "model": "m",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                         "finish_reason": finish}],
            "usage": {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4}}


def sse(events: Iterable[Any], *, done: bool = True) -> list[str]:
    """Return SSE chunks ``data: <json>`` (strings as is), ending ``data: [DONE]``."""
    lines = [f"data: {e if isinstance(e, str) else json.dumps(e)}\n\n" for e in events]
    return lines + (["data: [DONE]\n\n"] if done else [])


def ndjson(objects: Iterable[Any]) -> list[str]:
    """Return NDJSON chunks, one JSON object a line (Ollama's streaming format)."""
    return [json.dumps(o) + "\n" for o in objects]


async def _perform(behaviour: Behaviour, reply: Reply) -> None:
    if behaviour.kind == "hang":
        await asyncio.sleep(behaviour.delay)
        reply.abort()
        return
    if behaviour.kind == "whole":
        if behaviour.delay:
            await asyncio.sleep(behaviour.delay)
        await reply.send(behaviour.status, behaviour.body, behaviour.content_type,
                         dict(behaviour.headers))
        return
    await reply.start(behaviour.status, behaviour.content_type, dict(behaviour.headers))
    count = len(behaviour.chunks) if behaviour.send_chunks is None else behaviour.send_chunks
    for chunk in behaviour.chunks[:count]:
        await reply.chunk(chunk)
        if behaviour.delay:
            await asyncio.sleep(behaviour.delay)
    if behaviour.send_chunks is None:
        await reply.end()
    else:
        reply.abort()


_EXHAUSTED = status(500, {"error": {"message": "FaultyServer: script exhausted",
                                    "type": "server_error", "param": None, "code": None}})


class FaultyServer(WireServer):
    """Answer requests from a script of behaviours, on 127.0.0.1, in a background thread.

    Args:
        script: Behaviours for the next requests, one each, in order.
        default: The behaviour once the script is used up (a 500 unless given).
        fixed: Per-path behaviours that never consume the script (e.g. ``/health``).
    """

    def __init__(self, script: Iterable[Behaviour] = (), *, default: Behaviour | None = None,
                 fixed: Mapping[str, Behaviour] | None = None) -> None:
        self._script: deque[Behaviour] = deque(script)
        self.default = default or _EXHAUSTED
        self.fixed = dict(fixed or {})
        self._server = LoopbackServer(self._handle, name="faulty-server")

    @property
    def remaining(self) -> int:
        """Return how many scripted behaviours are still unused."""
        return len(self._script)

    def push(self, *behaviours: Behaviour) -> None:
        """Append behaviours to the script (safe while serving)."""
        self._script.extend(behaviours)

    def paths(self) -> list[str]:
        """Return the paths of the requests received, in order."""
        return [r.path for r in self.requests]

    async def _handle(self, request: Recorded, reply: Reply) -> None:
        behaviour = self.fixed.get(request.path)
        if behaviour is None:
            try:
                behaviour = self._script.popleft()
            except IndexError:
                behaviour = self.default
        await _perform(behaviour, reply)
