"""One model server for every Aegra instance of the tier: the embedded engine behind vLLM's API.

In production the instances share model servers behind one URL each (docs/deploy.md). Here
that server is ``VLLMWire`` (tests/wire/vllm.py: vLLM's OpenAI API in front of the embedded
llama.cpp engine, in this test process), which records every request. The record is how
the tier counts node executions across processes: the question a request is about, and
whether it is the first call of ``split_question`` (the first node of ``plan_execute``;
the call that counts the questions) or the free-text ``write_answer`` call (the last one).

``GatedWire`` can also hold a request: ``hold_answer_of(question)`` makes the first
``write_answer`` call about ``question`` wait, unanswered, until the server stops, so a
run stays in the middle of its steps for as long as a test needs.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from agents.plan_execute.split import count_messages
from tests.wire._http import Recorded, Reply
from tests.wire.vllm import VLLMWire

__all__ = ["GatedWire", "answer_requests", "mentions", "split_requests"]

HOLD_S = 3600.0  # longer than any test; the server's stop cancels the hold


def _messages(request: Recorded) -> list[dict[str, Any]]:
    if request.path != "/v1/chat/completions":
        return []
    body = request.json()
    return list(body.get("messages") or []) if isinstance(body, dict) else []


def mentions(request: Recorded, question: str) -> bool:
    """Tell whether a chat request's messages contain ``question``."""
    return any(question in str(m.get("content", "")) for m in _messages(request))


def _is_split(request: Recorded, question: str) -> bool:
    messages = _messages(request)
    expected = count_messages(question)
    return bool(messages) and str(messages[0].get("content")) == str(expected[0].content) \
        and mentions(request, question)


def _is_free_text(request: Recorded) -> bool:
    body = request.json()
    return isinstance(body, dict) and not body.get("structured_outputs") \
        and not body.get("response_format")


def split_requests(requests: list[Recorded], question: str) -> int:
    """Count the ``split_question`` calls about ``question``."""
    return sum(_is_split(r, question) for r in requests)


def answer_requests(requests: list[Recorded], question: str) -> int:
    """Count the free-text calls about ``question``: ``write_answer``'s (the others are JSON)."""
    return sum(mentions(r, question) and _is_free_text(r) for r in requests)


class GatedWire(VLLMWire):
    """``VLLMWire`` that can hold the first ``write_answer`` call about a question."""

    def __init__(self, upstream: str, **kwargs: Any) -> None:
        super().__init__(upstream, **kwargs)
        self._hold: str | None = None
        self.held = threading.Event()

    def hold_answer_of(self, question: str) -> None:
        """Hold the next ``write_answer`` call about ``question`` (once)."""
        self.held.clear()
        self._hold = question

    async def _handle(self, request: Recorded, reply: Reply) -> None:
        question = self._hold
        if question is not None and mentions(request, question) and _is_free_text(request):
            self._hold = None
            self.held.set()
            await asyncio.sleep(HOLD_S)
            reply.abort()
            return
        await super()._handle(request, reply)
