"""The product's vLLM backend against tests/wire/vllm.py, vLLM's wire protocol over llama.cpp.

Everything goes through ``backends`` (ChatOpenAI, ``/health``, ``/v1/models``, the
structured-output fields, error translation), so these tests prove that what the product puts
on the wire is what vLLM expects and that vLLM's answers and refusals land where they should.
Generations stay short and greedy: the machine is shared.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Literal

import httpx
import openai
import pytest
from langchain_core.messages import HumanMessage, SystemMessage
from pydantic import BaseModel, Field

from backends.base import Choice, Grammar, JsonSchema, Regex
from backends.chat import constrained_to, get_chat_model, health, model_info, translate_error
from backends.embedded import get_engine
from backends.errors import ContextTooLong, InvalidRequest
from backends.openai_compat import bind_extra_body
from backends.settings import GenerationParams, VLLMBackend
from tests.wire.vllm import DEFAULT_SERVED_MODEL, VLLMWire

GREEDY = GenerationParams(temperature=0, max_tokens=24)
SKY = [HumanMessage("Is the sky blue? Answer yes or no.")]


class Verdict(BaseModel):
    answer: Literal["yes", "no"]
    confidence: Annotated[int, Field(ge=0, le=9)]


@pytest.fixture(scope="module")
def upstream(embedded_cfg) -> str:
    return get_engine(embedded_cfg.engine).start()


@pytest.fixture(scope="module")
def wire(upstream: str) -> Iterator[VLLMWire]:
    with VLLMWire(upstream) as server:
        yield server


@pytest.fixture(scope="module")
def old_wire(upstream: str) -> Iterator[VLLMWire]:
    with VLLMWire(upstream, accept_guided=True) as server:
        yield server


@pytest.fixture(autouse=True)
def no_server_bugs(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    for name in ("wire", "old_wire"):
        if name in request.fixturenames:
            server = request.getfixturevalue(name)
            assert not server.errors, server.errors


def backend(wire: VLLMWire, **settings) -> VLLMBackend:
    name = "vllm-" + ("old" if wire.accept_guided else "current")
    if settings.get("structured_outputs") == "guided":
        name += "-guided"
    return VLLMBackend(name=name, kind="vllm", base_url=wire.base_url,
                       model=DEFAULT_SERVED_MODEL, **settings)


def sent(wire: VLLMWire, since: int) -> list[dict]:
    return [r.json() for r in wire.requests[since:] if r.path == "/v1/chat/completions"]


async def refusal(wire: VLLMWire, messages, params: GenerationParams = GREEDY, **extra):
    """Send through the product's model; return the SDK's error and what it maps to."""
    cfg = backend(wire)
    model = await get_chat_model(cfg, params)
    with pytest.raises(openai.APIStatusError) as caught:
        await (bind_extra_body(model, extra) if extra else model).ainvoke(messages)
    return caught.value, translate_error(caught.value, cfg)


async def test_health_and_model_info_come_from_health_and_models(wire):
    cfg = backend(wire)
    status = await health(cfg)
    assert status.reachable and status.model_loaded, status.detail
    assert (await model_info(cfg)).context_length == 2048
    missing = await health(cfg.model_copy(update={"model": "meta-llama/Llama-3.1-8B"}))
    assert missing.reachable and not missing.model_loaded


def test_health_models_and_unknown_routes_have_vllm_shapes(wire):
    with httpx.Client(base_url=wire.base_url) as http:
        up = http.get("/health")
        assert (up.status_code, up.content) == (200, b"")
        card = http.get("/v1/models").json()["data"][0]
        assert card["id"] == card["root"] == DEFAULT_SERVED_MODEL
        assert (card["owned_by"], card["max_model_len"]) == ("vllm", 2048)
        assert http.get("/v1/nope").json() == {"detail": "Not Found"}
        assert http.get("/v1/chat/completions").status_code == 405
        assert http.get("/version").json() == {"version": "0.32.0"}
        unknown = http.post("/v1/chat/completions", json={"model": "gpt-4o", "messages": []})
    assert unknown.status_code == 404
    assert unknown.json() == {"error": {
        "message": f"The model `gpt-4o` does not exist. Valid aliases: {DEFAULT_SERVED_MODEL}.",
        "type": "NotFoundError", "param": "model", "code": 404}}


async def test_chat_and_stream_through_chatopenai(wire):
    before = len(wire.requests)
    model = await get_chat_model(backend(wire), GenerationParams(temperature=0, max_tokens=12))
    reply = await model.ainvoke([SystemMessage("Be brief."), HumanMessage("Name a colour.")])
    assert reply.content and reply.usage_metadata["output_tokens"] <= 12
    assert reply.response_metadata["model_name"] == DEFAULT_SERVED_MODEL
    chunks = [c async for c in model.astream([HumanMessage("Count to five.")])]
    assert sum(1 for c in chunks if c.content) >= 2
    assert any(c.response_metadata.get("finish_reason") for c in chunks)
    assert any(c.usage_metadata for c in chunks), "stream_usage asks for a usage chunk"
    bodies = sent(wire, before)
    assert [b["model"] for b in bodies] == [DEFAULT_SERVED_MODEL] * 2
    assert bodies[0]["max_completion_tokens"] == 12
    assert bodies[1]["stream_options"] == {"include_usage": True}


async def test_json_schema_is_sent_as_structured_outputs_json(wire):
    before = len(wire.requests)
    model = constrained_to(await get_chat_model(backend(wire), GenerationParams(
        temperature=0, max_tokens=32)), JsonSchema(Verdict), backend(wire))
    reply = await model.ainvoke([HumanMessage(
        "Is water wet? Reply in JSON with an answer and a confidence from 0 to 9.")])
    Verdict.model_validate_json(reply.content)
    (body,) = sent(wire, before)
    assert body["structured_outputs"] == {"json": Verdict.model_json_schema()}
    assert wire.ignored_fields[-1] == set()


async def test_choice_and_regex_constrain_the_reply(wire):
    before = len(wire.requests)
    cfg, base = backend(wire), await get_chat_model(backend(wire), GREEDY)
    colour = await constrained_to(base, Choice(("red", "green", "blue")), cfg).ainvoke(
        [HumanMessage("What colour is grass?")])
    assert colour.content in ("red", "green", "blue")
    verdict = await constrained_to(base, Regex(r"(yes|no)"), cfg).ainvoke(SKY)
    assert verdict.content in ("yes", "no")
    assert [b["structured_outputs"] for b in sent(wire, before)] == [
        {"choice": ["red", "green", "blue"]}, {"regex": "(yes|no)"}]


async def test_gbnf_grammar_passes_through(wire):
    cfg = backend(wire)
    model = constrained_to(await get_chat_model(cfg, GREEDY),
                           Grammar('root ::= "yes" | "no"'), cfg)
    assert (await model.ainvoke(SKY)).content in ("yes", "no")


async def test_guided_fields_work_on_old_vllm(old_wire):
    before = len(old_wire.requests)
    cfg = backend(old_wire, structured_outputs="guided")
    model = constrained_to(await get_chat_model(cfg, GenerationParams(
        temperature=0, max_tokens=32)), JsonSchema(Verdict), cfg)
    reply = await model.ainvoke([HumanMessage(
        "Is fire hot? Reply in JSON with an answer and a confidence from 0 to 9.")])
    Verdict.model_validate_json(reply.content)
    (body,) = sent(old_wire, before)
    assert body["guided_json"] == Verdict.model_json_schema()
    assert "structured_outputs" not in body


async def test_current_vllm_silently_ignores_guided_fields(wire):
    cfg = backend(wire, structured_outputs="guided")
    model = constrained_to(await get_chat_model(cfg, GenerationParams(
        temperature=0, max_tokens=6)), Choice(("red", "green", "blue")), cfg)
    reply = await model.ainvoke([HumanMessage("Say hello.")])
    assert reply.response_metadata["finish_reason"], "HTTP 200: nothing tells the client"
    assert wire.ignored_fields[-1] == {"guided_choice"}


async def test_two_constraint_kinds_are_a_400(wire):
    error, mapped = await refusal(wire, SKY, structured_outputs={"regex": "yes", "choice": ["no"]})
    assert error.status_code == 400
    assert error.body == {"message": "You can only use one kind of constraints for structured "
                                     "outputs ('json', 'regex' or 'choice').",
                          "type": "BadRequestError", "param": None, "code": 400}
    assert isinstance(mapped, InvalidRequest)


def test_a_body_without_messages_is_fastapis_validation_error(wire):
    with httpx.Client(base_url=wire.base_url) as http:
        refused = http.post("/v1/chat/completions", json={"model": DEFAULT_SERVED_MODEL})
    error = refused.json()["error"]
    assert (refused.status_code, error["type"], error["param"]) == (400, "Bad Request",
                                                                     "body.messages")
    assert error["message"].startswith("1 validation error:\n  {'type': 'missing'")


async def test_regex_vllm_cannot_compile_is_a_400(wire):
    error, mapped = await refusal(wire, SKY, structured_outputs={"regex": "(?=y)yes"})
    assert error.status_code == 400 and error.body["message"].startswith("Grammar error:")
    assert isinstance(mapped, InvalidRequest)


@pytest.mark.parametrize("which", ["current", "old"])
async def test_context_overflow_becomes_context_too_long(wire, old_wire, which):
    server = wire if which == "current" else old_wire
    error, mapped = await refusal(server, [HumanMessage("word " * 2100)],
                                  GenerationParams(max_tokens=16))
    assert error.status_code == 400
    text = error.body["message"]
    assert text.startswith("This model's maximum context length is 2048 tokens.")
    if which == "current":
        assert error.body["param"] == "input_tokens"
        assert "your prompt contains at least 2049 input tokens, which exceeds this limit " \
            "even without any output tokens" in text and text.endswith("value=2049)")
    else:
        assert "However, your request has" in text and error.body["param"] is None
    assert isinstance(mapped, ContextTooLong) and mapped.backend == backend(server).name


async def test_output_budget_over_max_model_len_is_not_a_context_overflow(wire):
    error, mapped = await refusal(wire, SKY, GenerationParams(max_tokens=4096))
    assert error.body["param"] == "max_completion_tokens"
    assert error.body["message"] == (
        "max_completion_tokens=4096 cannot be greater than max_model_len=2048. Please request "
        "fewer output tokens. (parameter=max_completion_tokens, value=4096)")
    assert isinstance(mapped, InvalidRequest) and not isinstance(mapped, ContextTooLong)


async def test_health_warns_when_guided_fields_meet_a_current_server(wire, old_wire):
    current = await health(backend(wire, structured_outputs="guided"))
    assert current.reachable and not current.model_loaded
    assert "ignores guided_* fields" in current.detail
    old = await health(backend(old_wire, structured_outputs="guided"))
    assert old.model_loaded, old.detail


async def test_a_budget_past_the_window_is_cut_silently_as_vllm_does(wire):
    # The prompt fits; prompt + max_tokens does not: vLLM answers 200 and generates less.
    before = len(wire.requests)
    model = await get_chat_model(backend(wire), GenerationParams(temperature=0, max_tokens=8))
    prompt = [HumanMessage("Write a long story about a dragon.")]
    wire.max_model_len = 2048
    reply = await model.ainvoke(prompt)
    prompt_len = reply.usage_metadata["input_tokens"]
    wire.max_model_len = prompt_len + 3
    try:
        cut = await model.ainvoke(prompt)
    finally:
        wire.max_model_len = 2048
    assert cut.usage_metadata["output_tokens"] < 8
    assert cut.response_metadata["finish_reason"] == "length"
    assert sent(wire, before)[-1]["max_completion_tokens"] == 8


async def test_usage_reports_prompt_token_details_with_the_flag(upstream):
    with VLLMWire(upstream, enable_prompt_tokens_details=True) as server:
        with httpx.Client(base_url=server.base_url, timeout=120) as http:
            answer = http.post("/v1/chat/completions", json={
                "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 2}).json()
        assert not server.errors, server.errors
    details = answer["usage"]["prompt_tokens_details"]
    assert set(details) == {"cached_tokens", "created_cache_tokens", "multimodal_tokens"}
    assert answer["choices"][0]["routed_experts"] is None and answer["prompt_text"] is None
