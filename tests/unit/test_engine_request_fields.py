"""Each engine asks its server for constrained decoding in that server's own fields.

A fake transport captures the JSON body ChatOpenAI sends, so this runs offline.
"""

import json

import httpx
import pytest
from langchain_core.messages import HumanMessage
from pydantic import BaseModel

from backends import embedded, sglang, vllm
from backends.base import Choice, Grammar, HttpClients, JsonSchema, Regex
from backends.errors import InvalidRequest
from backends.settings import GenerationParams, SGLangBackend, VLLMBackend

REPLY = {"id": "x", "object": "chat.completion", "created": 0, "model": "m",
         "choices": [{"index": 0, "message": {"role": "assistant", "content": "{\"a\": 1}"},
                      "finish_reason": "stop"}],
         "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5}}


class Answer(BaseModel):
    a: int


def capture() -> tuple[HttpClients, list[dict]]:
    bodies: list[dict] = []

    def handler(request: httpx.Request) -> httpx.Response:
        bodies.append(json.loads(request.content))
        return httpx.Response(200, json=REPLY)

    transport = httpx.MockTransport(handler)
    clients = HttpClients(sync=httpx.Client(transport=transport),
                          async_=httpx.AsyncClient(transport=transport))
    return clients, bodies


async def sent(module, cfg, constraint, params: GenerationParams | None = None) -> dict:
    clients, bodies = capture()
    model = module.make_chat_model(cfg, params or GenerationParams(), clients)
    runnable = module.constrain(model, constraint, cfg) if constraint else model
    await runnable.ainvoke([HumanMessage("hi")])
    return bodies[0]


VLLM = VLLMBackend(name="v", kind="vllm", base_url="http://127.0.0.1:1", model="m")
OLD_VLLM = VLLM.model_copy(update={"structured_outputs": "guided"})
SGLANG = SGLangBackend(name="s", kind="sglang", base_url="http://127.0.0.1:1", model="m")


@pytest.mark.parametrize(("constraint", "current", "old"), [
    (JsonSchema(Answer), {"json": Answer.model_json_schema()},
     {"guided_json": Answer.model_json_schema()}),
    (Regex("(yes|no)"), {"regex": "(yes|no)"}, {"guided_regex": "(yes|no)"}),
    (Choice(("red", "blue")), {"choice": ["red", "blue"]}, {"guided_choice": ["red", "blue"]}),
    (Grammar("root ::= \"a\""), {"grammar": "root ::= \"a\""},
     {"guided_grammar": "root ::= \"a\""}),
])
async def test_vllm_uses_structured_outputs_or_guided_fields(constraint, current, old):
    assert (await sent(vllm, VLLM, constraint))["structured_outputs"] == current
    body = await sent(vllm, OLD_VLLM, constraint)
    assert "structured_outputs" not in body
    assert {k: body[k] for k in old} == old


async def test_vllm_maps_the_sampling_vocabulary():
    body = await sent(vllm, VLLM, None, GenerationParams(
        temperature=0.2, top_p=0.9, top_k=40, max_tokens=16, stop=("\n",), seed=7,
        repetition_penalty=1.1, frequency_penalty=0.5))
    assert {k: body[k] for k in ("temperature", "top_p", "top_k", "seed", "stop",
                                 "repetition_penalty", "frequency_penalty")} == {
        "temperature": 0.2, "top_p": 0.9, "top_k": 40, "seed": 7, "stop": ["\n"],
        "repetition_penalty": 1.1, "frequency_penalty": 0.5}
    assert body["max_completion_tokens"] == 16


async def test_constraint_keeps_the_backends_own_extra_fields():
    cfg = VLLM.model_copy(update={"params": GenerationParams(top_k=5)})
    body = await sent(vllm, cfg, Regex("a+"))
    assert body["top_k"] == 5 and body["structured_outputs"] == {"regex": "a+"}


@pytest.mark.parametrize(("constraint", "field", "value"), [
    (Regex("(yes|no)"), "regex", "(yes|no)"),
    (Choice(("a.b", "c")), "regex", r"(a\.b|c)"),
    (Grammar("root ::= \"x\""), "ebnf", "root ::= \"x\""),
])
async def test_sglang_uses_its_regex_and_ebnf_fields(constraint, field, value):
    assert (await sent(sglang, SGLANG, constraint))[field] == value


async def test_sglang_json_schema_goes_through_response_format():
    body = await sent(sglang, SGLANG, JsonSchema(Answer))
    assert body["response_format"]["json_schema"]["schema"] == Answer.model_json_schema()


def test_embedded_refuses_regex_it_cannot_enforce():
    cfg = embedded.EmbeddedBackend(name="e", kind="embedded")
    with pytest.raises(InvalidRequest, match="cannot enforce a Regex"):
        embedded.constrain(object(), Regex("a"), cfg)


async def test_embedded_choice_becomes_a_gbnf_alternation():
    cfg = embedded.EmbeddedBackend(name="e", kind="embedded")
    clients, bodies = capture()
    from backends.openai_compat import make_openai_chat_model

    model = make_openai_chat_model(base_url="http://127.0.0.1:1/v1", model="m", api_key="x",
                                   params=GenerationParams(), timeout_s=5,
                                   http_client=clients.sync, http_async_client=clients.async_,
                                   extra_names=embedded.EXTRA_NAMES)
    await embedded.constrain(model, Choice(("yes", 'say "no"')), cfg).ainvoke("q")
    assert bodies[0]["grammar"] == 'root ::= "yes" | "say \\"no\\""'
