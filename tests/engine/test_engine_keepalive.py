"""Streamed calls to the embedded engine survive llama.cpp dropping kept-alive connections.

This llama.cpp build (xllamacpp 2026.10) sometimes closes a kept-alive connection after a
streamed reply without saying so (measured with raw httpx: 4 to 12 in 40 streams on one
connection); the next request on it fails before any response. Our clients send such a
request once more, so a run neither fails nor records a fallback for it.
"""

import operator
from functools import reduce

import httpx
import pytest
from langchain_core.messages import HumanMessage

from backends.chat import get_chat_model, model_info
from backends.embedded import ResendDropped, engine_at, get_engine
from backends.settings import GenerationParams

STREAMS = 40  # without the resend, 4 runs in 6 of this test failed


async def test_many_streams_in_a_row_all_complete(embedded_cfg):
    info = await model_info(embedded_cfg)
    assert info.context_length and info.quantization
    model = await get_chat_model(embedded_cfg, GenerationParams(temperature=0, max_tokens=3))
    for turn in range(STREAMS):
        chunks = [chunk async for chunk in model.astream([HumanMessage(f"Say hi {turn}.")])]
        assert chunks, f"stream {turn} produced nothing"
        whole = reduce(operator.add, chunks)
        assert whole.usage_metadata, f"stream {turn} was cut before its usage report"


def test_the_running_engine_is_found_by_its_address(embedded_cfg):
    root = get_engine(embedded_cfg.engine).start()
    # The wire test servers take the engine's props from here instead of asking again.
    assert engine_at(root + "/") is get_engine(embedded_cfg.engine)
    assert engine_at("http://127.0.0.1:1") is None


class _DropsFirst(httpx.AsyncBaseTransport):
    def __init__(self, drops: int) -> None:
        self.drops, self.calls = drops, 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.calls += 1
        if self.calls <= self.drops:
            raise httpx.RemoteProtocolError("Server disconnected without sending a response.")
        return httpx.Response(200, json={"ok": True})


async def test_a_dropped_request_is_sent_once_more_and_only_once():
    once = _DropsFirst(drops=1)
    async with httpx.AsyncClient(transport=ResendDropped(once)) as client:
        assert (await client.post("http://127.0.0.1:1/x", json={"a": 1})).json() == {"ok": True}
    assert once.calls == 2
    twice = _DropsFirst(drops=2)
    async with httpx.AsyncClient(transport=ResendDropped(twice)) as client:
        with pytest.raises(httpx.RemoteProtocolError):
            await client.post("http://127.0.0.1:1/x", json={"a": 1})
    assert twice.calls == 2, "a second drop surfaces to the router"
