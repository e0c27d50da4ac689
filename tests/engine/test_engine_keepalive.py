"""Streamed calls to the embedded engine survive llama.cpp dropping kept-alive connections.

This llama.cpp build (xllamacpp 2026.10) sometimes closes a kept-alive connection after a
streamed reply without saying so (measured with raw httpx: 4 to 12 in 40 streams on one
connection); the next request on it fails before any response. Our clients send such a
request once more, so a run neither fails nor records a fallback for it.
"""

import operator
from functools import reduce

from langchain_core.messages import HumanMessage

from backends.chat import get_chat_model, model_info
from backends.embedded import engine_at, get_engine
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
