"""The embedded llama.cpp engine, over real HTTP on 127.0.0.1, through ChatOpenAI."""

import json
import socket
from pathlib import Path

import httpx
import pytest
from langchain_core.messages import HumanMessage, SystemMessage
from pydantic import BaseModel, Field

from backends.chat import capabilities, get_chat_model
from backends.embedded import EmbeddedEngine, get_engine
from backends.errors import EngineStartError, ModelFileError
from backends.settings import EmbeddedSettings, GenerationParams


class Verdict(BaseModel):
    answer: str = Field(json_schema_extra={"enum": ["yes", "no"]})
    confidence: int = Field(ge=0, le=10)


@pytest.fixture(scope="module")
def engine(embedded_cfg) -> EmbeddedEngine:
    engine = get_engine(embedded_cfg.engine)
    engine.start()
    return engine


def test_engine_listens_on_loopback_with_the_configured_slots(engine, embedded_cfg):
    assert engine.base_url.startswith("http://127.0.0.1:")
    # The server's own /props as read at start-up: asking again would make this
    # llama.cpp build drop a later keep-alive stream (see test_engine_keepalive).
    props = engine.props
    assert props["total_slots"] == embedded_cfg.engine.n_parallel
    assert httpx.get(f"{engine.base_url}/health", timeout=10).json() == {"status": "ok"}
    assert get_engine(embedded_cfg.engine) is engine, "one engine per process and settings"
    probed = props["chat_template_caps"]["supports_tool_calls"]
    assert capabilities(embedded_cfg).native_tools is probed


async def test_chat_answers_with_usage(engine, embedded_cfg):
    model = await get_chat_model(embedded_cfg, GenerationParams(temperature=0, max_tokens=24))
    reply = await model.ainvoke([SystemMessage("You are terse."), HumanMessage("Say hello.")])
    assert reply.content.strip()
    assert reply.usage_metadata["input_tokens"] > 0
    assert 0 < reply.usage_metadata["output_tokens"] <= 24


async def test_max_tokens_is_honoured(engine, embedded_cfg):
    model = await get_chat_model(embedded_cfg, GenerationParams(temperature=0, max_tokens=5))
    reply = await model.ainvoke([HumanMessage("Count from one to one hundred in words.")])
    assert reply.usage_metadata["output_tokens"] == 5
    assert reply.response_metadata["finish_reason"] == "length"


async def test_stream_yields_several_chunks_and_usage(engine, embedded_cfg):
    model = await get_chat_model(embedded_cfg, GenerationParams(temperature=0, max_tokens=20))
    chunks = [c async for c in model.astream([HumanMessage("List three colours.")])]
    texts = [c.content for c in chunks if c.content]
    assert len(texts) >= 3, "tokens arrive one by one, not as one block"
    usage = [c.usage_metadata for c in chunks if c.usage_metadata]
    assert usage and usage[-1]["output_tokens"] > 0


async def test_json_schema_is_enforced_while_decoding(engine, embedded_cfg):
    model = await get_chat_model(embedded_cfg, GenerationParams(temperature=0, max_tokens=60))
    structured = model.with_structured_output(Verdict, method="json_schema", include_raw=True)
    reply = await structured.ainvoke([HumanMessage("Is the sky green? Reply in JSON.")])
    assert reply["parsing_error"] is None
    verdict = reply["parsed"]
    assert verdict.answer in {"yes", "no"}
    assert 0 <= verdict.confidence <= 10
    assert Verdict.model_validate(json.loads(reply["raw"].content)) == verdict


async def test_repeated_prefix_is_served_from_the_prompt_cache(engine, embedded_cfg):
    model = await get_chat_model(embedded_cfg, GenerationParams(temperature=0, max_tokens=4))
    system = SystemMessage("You are a helpful assistant for a cache test. " * 20)
    await model.ainvoke([system, HumanMessage("First question?")])
    second = await model.ainvoke([system, HumanMessage("Second question?")])
    cached = second.usage_metadata["input_token_details"]["cache_read"]
    assert cached >= 100, "the shared system prompt must come from the cache"


async def test_models_are_reused_per_loop_and_settings(engine, embedded_cfg):
    params = GenerationParams(temperature=0, max_tokens=8)
    assert await get_chat_model(embedded_cfg, params) is await get_chat_model(embedded_cfg, params)
    other = await get_chat_model(embedded_cfg, GenerationParams(temperature=0.5))
    assert other is not await get_chat_model(embedded_cfg, params)


def test_port_in_use_is_a_clear_error(model_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        engine = EmbeddedEngine(EmbeddedSettings(model_path=str(model_path), port=port))
        with pytest.raises(EngineStartError, match=f"port {port} .* already in use"):
            engine.start()


def test_missing_model_names_the_file(tmp_path):
    engine = EmbeddedEngine(EmbeddedSettings(model_path=str(tmp_path / "gone.gguf")))
    with pytest.raises(ModelFileError, match="gone.gguf does not exist"):
        engine.start()


def test_corrupt_model_is_refused_with_the_cause(tmp_path: Path):
    broken = tmp_path / "broken.gguf"
    broken.write_bytes(b"GGUF" + b"\x00" * 64)
    engine = EmbeddedEngine(EmbeddedSettings(model_path=str(broken), n_parallel=1, n_ctx=512))
    with pytest.raises(EngineStartError, match="could not start with model .*broken.gguf"):
        engine.start()
    assert not engine.started
