"""Asking the embedded engine about its model must not break later streamed requests.

This llama.cpp build drops the next streamed keep-alive connection after a second
GET /props; model_info therefore answers from the props read at start-up.
"""

import httpx

from backends.chat import model_info
from backends.embedded import engine_at, get_engine


async def test_model_info_then_streams_on_one_keep_alive_connection(embedded_cfg):
    info = await model_info(embedded_cfg)
    assert info.context_length and info.quantization
    root = get_engine(embedded_cfg.engine).start()
    # The wire test servers take the props from here rather than asking again.
    assert engine_at(root + "/") is get_engine(embedded_cfg.engine)
    assert engine_at("http://127.0.0.1:1") is None
    body = {"messages": [{"role": "user", "content": "hi"}], "max_tokens": 4, "stream": True}
    async with httpx.AsyncClient(timeout=120) as client:
        for turn in range(4):
            async with client.stream("POST", f"{root}/v1/chat/completions", json=body) as reply:
                lines = [line async for line in reply.aiter_lines() if line]
            assert lines[-1] == "data: [DONE]", f"stream {turn} was cut"
