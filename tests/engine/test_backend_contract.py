"""One contract, every backend: health, model info, chat, streaming, constrained decoding.

Runs over real HTTP on 127.0.0.1 against the embedded engine and the wire-faithful
test servers for vLLM, SGLang (both APIs) and Ollama, all generating with the
embedded model. Set AGENT_ROUTER_TEST_{VLLM,SGLANG,OLLAMA}_URL (and _MODEL) to run
the same contract against real servers; those cases are skipped otherwise.
"""

import os

import pytest
from langchain_core.messages import HumanMessage, SystemMessage
from pydantic import BaseModel, Field

from agents.llm import _ask
from backends.base import Choice, JsonSchema, read_choice
from backends.chat import capabilities, get_chat_model, health, model_info
from backends.embedded import get_engine
from backends.router import reset_breakers
from backends.settings import GenerationParams, OllamaBackend, SGLangBackend, VLLMBackend
from tests.wire.ollama import OllamaWire
from tests.wire.sglang import CHATML_MODEL_PATH, SGLangWire
from tests.wire.vllm import VLLMWire

PARAMS = GenerationParams(temperature=0, max_tokens=24)
REMOTE = {"vllm": VLLMBackend, "sglang": SGLangBackend, "ollama": OllamaBackend}


class Verdict(BaseModel):
    answer: str = Field(json_schema_extra={"enum": ["yes", "no"]})
    confidence: int = Field(ge=0, le=9)


@pytest.fixture(scope="module")
def upstream(embedded_cfg) -> str:
    return get_engine(embedded_cfg.engine).start()


@pytest.fixture(scope="module")
def wires(upstream):
    servers = {"vllm": VLLMWire(upstream), "sglang": SGLangWire(upstream),
               "ollama": OllamaWire(upstream)}
    for server in servers.values():
        server.start()
    yield servers
    for server in servers.values():
        server.stop()


def remote_case(kind: str):
    url = os.environ.get(f"AGENT_ROUTER_TEST_{kind.upper()}_URL")
    return pytest.param(kind, marks=[pytest.mark.remote, pytest.mark.skipif(
        not url, reason=f"set AGENT_ROUTER_TEST_{kind.upper()}_URL to test a real {kind}")],
        id=f"remote-{kind}")


@pytest.fixture(params=["embedded", "vllm", "sglang-openai", "sglang-native", "ollama",
                        remote_case("vllm"), remote_case("sglang"), remote_case("ollama")])
def backend(request, embedded_cfg, wires):
    reset_breakers()
    name = request.param
    if name.startswith("remote-") or name in REMOTE and request.node.callspec.id.startswith(
            "remote"):
        kind = name.removeprefix("remote-")
        return REMOTE[kind](name=f"remote-{kind}", kind=kind,
                            base_url=os.environ[f"AGENT_ROUTER_TEST_{kind.upper()}_URL"],
                            model=os.environ[f"AGENT_ROUTER_TEST_{kind.upper()}_MODEL"])
    if name == "embedded":
        return embedded_cfg
    if name == "vllm":
        wire = wires["vllm"]
        return VLLMBackend(name="vllm", kind="vllm", base_url=wire.base_url,
                           model=wire.served_model_name)
    if name.startswith("sglang"):
        return SGLangBackend(name=name, kind="sglang", base_url=wires["sglang"].base_url,
                             model=CHATML_MODEL_PATH, api=name.removeprefix("sglang-"))
    return OllamaBackend(name="ollama", kind="ollama", base_url=wires["ollama"].base_url,
                         model=wires["ollama"].model, num_ctx=2048)


async def test_health_reports_the_model_loaded(backend):
    status = await health(backend)
    assert status.reachable and status.model_loaded, status.detail


async def test_model_info_reports_a_context_window(backend):
    await get_chat_model(backend, PARAMS)  # the embedded engine reports once started
    info = await model_info(backend)
    assert info.model
    assert info.context_length and info.context_length >= 512


async def test_chat_answers_with_token_usage(backend):
    reply = await _ask(backend, PARAMS, [SystemMessage("Be brief."),
                                         HumanMessage("Name one colour.")], None)
    assert str(reply.content).strip()
    usage = reply.usage_metadata
    assert usage["input_tokens"] > 0 and 0 < usage["output_tokens"] <= 24


async def test_stream_yields_tokens_then_usage(backend):
    model = await get_chat_model(backend, PARAMS)
    chunks = [c async for c in model.astream([HumanMessage("Count from one to ten.")])]
    assert sum(1 for c in chunks if c.content) >= 2
    assert any(c.usage_metadata and c.usage_metadata["output_tokens"] > 0 for c in chunks)


async def test_json_schema_is_enforced_with_the_engines_own_mechanism(backend):
    reply = await _ask(backend, GenerationParams(temperature=0, max_tokens=40),
                       [HumanMessage("Is fire cold? Reply in JSON.")], JsonSchema(Verdict))
    verdict = Verdict.model_validate_json(str(reply.content))
    assert verdict.answer in {"yes", "no"}


async def test_fixed_choices_are_enforced(backend):
    if not capabilities(backend).choices:
        pytest.skip(f"{backend.kind} declares no choice constraint")
    options = ("red", "green", "blue")
    reply = await _ask(backend, GenerationParams(temperature=0, max_tokens=8),
                       [HumanMessage("What colour is grass?")], Choice(options))
    assert read_choice(str(reply.content), options, backend.name) in options
