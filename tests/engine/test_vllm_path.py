"""The vLLM backend's code path (ChatOpenAI + /health + /v1/models) against the
embedded engine's OpenAI-compatible server, over real HTTP on 127.0.0.1."""

import pytest
from langchain_core.messages import HumanMessage, SystemMessage

from backends.chat import get_chat_model, health, model_info, translate_error
from backends.embedded import get_engine
from backends.errors import ContextTooLong
from backends.settings import GenerationParams, VLLMBackend


@pytest.fixture(scope="module")
def vllm_cfg(embedded_cfg) -> VLLMBackend:
    engine = get_engine(embedded_cfg.engine)
    root = engine.start()
    return VLLMBackend(name="vllm-like", kind="vllm", base_url=root, model=engine.model_path,
                       context_length=2048)


async def test_health_and_model_info(vllm_cfg):
    status = await health(vllm_cfg)
    assert status.reachable and status.model_loaded, status.detail
    info = await model_info(vllm_cfg)
    assert info.model == vllm_cfg.model
    assert info.context_length == 2048


async def test_health_names_a_model_the_server_does_not_serve(vllm_cfg):
    other = vllm_cfg.model_copy(update={"model": "meta-llama/Llama-3.1-70B"})
    status = await health(other)
    assert status.reachable and not status.model_loaded
    assert "Llama-3.1-70B" in status.detail


async def test_chat_and_stream_with_usage(vllm_cfg):
    model = await get_chat_model(vllm_cfg, GenerationParams(temperature=0, max_tokens=12))
    reply = await model.ainvoke([SystemMessage("Be brief."), HumanMessage("Name a colour.")])
    assert reply.content and reply.usage_metadata["output_tokens"] <= 12
    chunks = [c async for c in model.astream([HumanMessage("Count to five.")])]
    assert sum(1 for c in chunks if c.content) >= 2


async def test_server_context_overflow_becomes_context_too_long(vllm_cfg):
    model = await get_chat_model(vllm_cfg, GenerationParams(max_tokens=4))
    with pytest.raises(Exception) as caught:
        await model.ainvoke([HumanMessage("word " * 5000)])
    mapped = translate_error(caught.value, vllm_cfg)
    assert isinstance(mapped, ContextTooLong), caught.value
    assert mapped.backend == "vllm-like"
