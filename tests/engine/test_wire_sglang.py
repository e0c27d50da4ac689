"""SGLang's wire protocol, served by tests/wire/sglang.py over the embedded llama.cpp engine.

The sglang frontend (``RuntimeEndpoint``) runs unmodified against it, so what these tests
prove is that the frontend's requests get answers in the shapes it parses. Generations stay
short: the machine is shared.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest
import sglang as sgl
from langchain_core.messages import HumanMessage
from langchain_openai import ChatOpenAI
from sglang.lang.backend.runtime_endpoint import compute_normalized_prompt_logprobs

from backends.embedded import get_engine
from tests.wire.sglang import CHATML_MODEL_PATH, SGLangWire

YES_NO_SCHEMA = {
    "type": "object",
    "properties": {
        "answer": {"type": "string", "enum": ["yes", "no"]},
        "confidence": {"type": "integer", "minimum": 0, "maximum": 9},
    },
    "required": ["answer", "confidence"],
    "additionalProperties": False,
}


@pytest.fixture(scope="module")
def wire(embedded_cfg) -> Iterator[SGLangWire]:
    upstream = get_engine(embedded_cfg.engine).start()
    with SGLangWire(upstream) as server:
        yield server


@pytest.fixture(scope="module")
def backend(wire: SGLangWire) -> sgl.RuntimeEndpoint:
    return sgl.RuntimeEndpoint(wire.base_url)


@pytest.fixture
def client(wire: SGLangWire) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=wire.base_url, timeout=120) as http:
        yield http


def _sent(wire: SGLangWire, since: int) -> list[dict]:
    return [r.json for r in wire.requests[since:] if r.path == "/generate"]


@sgl.function
def answer(s, question):
    s += sgl.user(question)
    s += sgl.assistant(sgl.gen("answer", max_tokens=16, temperature=0))


@sgl.function
def yes_or_no(s):
    s += sgl.user("Is the sky blue? Answer yes or no.")
    s += sgl.assistant(sgl.gen("verdict", max_tokens=8, regex=r"(yes|no)", temperature=0))


@sgl.function
def verdict_json(s):
    s += sgl.user("Is water wet? Reply in JSON with an answer and a confidence.")
    s += sgl.assistant(
        sgl.gen("verdict", max_tokens=32, json_schema=json.dumps(YES_NO_SCHEMA), temperature=0)
    )


@sgl.function
def grass_colour(s):
    s += sgl.user("What colour is grass?")
    s += sgl.assistant(sgl.select("colour", choices=["red", "green", "blue"]))


@sgl.function
def three_fruits(s):
    s += "A list of fruits:\n"
    forks = s.fork(3)
    for i, f in enumerate(forks):
        f += f"{i + 1}." + sgl.gen("fruit", max_tokens=6, stop="\n", temperature=0)
    return [f["fruit"] for f in forks]


def test_the_frontend_reads_model_info_and_picks_chatml(wire: SGLangWire):
    before = len(wire.requests)
    endpoint = sgl.RuntimeEndpoint(wire.base_url)
    assert wire.paths()[before:] == ["GET /get_model_info"]
    assert endpoint.get_model_name() == CHATML_MODEL_PATH
    assert endpoint.get_chat_template().name == "chatml", "SmolLM2 speaks ChatML"


def test_gen_returns_text_and_sends_the_whole_prompt(wire, backend):
    before = len(wire.requests)
    state = answer.run(question="Say hello.", backend=backend)
    assert state["answer"].strip()
    [sent] = _sent(wire, before)
    assert sent["text"].startswith("<|im_start|>user\nSay hello.<|im_end|>\n")
    assert sent["sampling_params"]["max_new_tokens"] == 16
    assert sent["sampling_params"]["stop"] == ["<|im_end|>"], "the template's stop string"


def test_gen_regex_constrains_the_output(wire, backend):
    before = len(wire.requests)
    assert yes_or_no.run(backend=backend)["verdict"] in {"yes", "no"}
    assert _sent(wire, before)[0]["sampling_params"]["regex"] == "(yes|no)"


def test_gen_json_schema_output_parses_and_validates(wire, backend):
    before = len(wire.requests)
    verdict = json.loads(verdict_json.run(backend=backend)["verdict"])
    assert set(verdict) == {"answer", "confidence"}
    assert verdict["answer"] in {"yes", "no"}
    assert isinstance(verdict["confidence"], int) and 0 <= verdict["confidence"] <= 9
    assert isinstance(_sent(wire, before)[0]["sampling_params"]["json_schema"], str)


def test_select_returns_one_of_the_choices(wire, backend):
    before = len(wire.requests)
    state = grass_colour.run(backend=backend)
    assert state["colour"] in {"red", "green", "blue"}
    prefill, scoring = _sent(wire, before)
    assert prefill["sampling_params"] == {"max_new_tokens": 0}
    assert len(scoring["text"]) == 3 and scoring["return_logprob"] is True
    meta = state.get_meta_info("colour")
    best = max(meta["normalized_prompt_logprobs"])
    winner = ["red", "green", "blue"][meta["normalized_prompt_logprobs"].index(best)]
    assert winner == state["colour"]


def test_fork_runs_three_generations(wire, backend):
    before = len(wire.requests)
    fruits = three_fruits.run(backend=backend).ret_value
    assert len(fruits) == 3 and all(isinstance(f, str) for f in fruits)
    generated = [r for r in _sent(wire, before) if r["sampling_params"]["max_new_tokens"] == 6]
    assert len(generated) == 3


def test_streaming_yields_several_pieces(backend):
    state = answer.run(question="List three colours.", stream=True, backend=backend)
    pieces = list(state.text_iter("answer"))
    assert len(pieces) >= 3, "tokens arrive one by one"
    assert "".join(pieces) == state["answer"]


def test_generate_meta_info_counts(client, wire):
    prompt = "<|im_start|>user\nName a planet.<|im_end|>\n<|im_start|>assistant\n"
    tokens = httpx.post(f"{wire.upstream}/tokenize", json={"content": prompt}, timeout=30)
    reply = client.post("/generate", json={
        "text": prompt, "sampling_params": {"max_new_tokens": 8, "temperature": 0},
    }).json()
    meta = reply["meta_info"]
    assert isinstance(reply["text"], str)
    assert meta["prompt_tokens"] == len(tokens.json()["tokens"])
    assert 0 < meta["completion_tokens"] <= 8
    assert meta["finish_reason"]["type"] in {"stop", "length"}
    assert isinstance(meta["cached_tokens"], int) and meta["e2e_latency"] > 0
    assert len(meta["id"]) == 32


def test_generate_batch_with_n_is_text_major(client):
    reply = client.post("/generate", json={
        "text": ["The sky is", "Grass is"],
        "sampling_params": {"max_new_tokens": 3, "temperature": 0, "n": 2},
    }).json()
    assert len(reply) == 4
    assert reply[0]["text"] == reply[1]["text"] and reply[2]["text"] == reply[3]["text"]
    assert len({r["meta_info"]["id"] for r in reply}) == 4


def test_generate_stream_is_cumulative_and_ends_with_done(client):
    body = {"text": "The sky is", "stream": True,
            "sampling_params": {"max_new_tokens": 8, "temperature": 0, "ignore_eos": True}}
    with client.stream("POST", "/generate", json=body) as response:
        lines = [line for line in response.iter_lines() if line]
    assert lines[-1] == "data: [DONE]"
    events = [json.loads(line.removeprefix("data: ")) for line in lines[:-1]]
    texts = [e["text"] for e in events]
    assert len(texts) >= 3
    assert all(b.startswith(a) for a, b in zip(texts, texts[1:], strict=False))
    assert [e["meta_info"]["finish_reason"] for e in events[:-1]] == [None] * (len(events) - 1)
    assert events[-1]["meta_info"]["finish_reason"] == {"type": "length", "length": 8}
    assert events[-1]["meta_info"]["completion_tokens"] == 8


def test_two_constraints_are_refused_like_sglang(client):
    response = client.post("/generate", json={
        "text": "Hi", "sampling_params": {"regex": "a", "json_schema": '{"type": "string"}'},
    })
    assert response.status_code == 400
    assert response.json() == {
        "error": {"message": "Only one of regex, json_schema, or ebnf can be set."}
    }


def test_a_streamed_request_reports_errors_inside_the_stream(client):
    constraints = {"regex": "a", "ebnf": 'root ::= "a"'}
    body = {"text": "Hi", "stream": True, "sampling_params": constraints}
    response = client.post("/generate", json=body)
    assert response.status_code == 200, "SGLang validates inside its stream generator"
    assert response.text == (
        'data: {"error": {"message": "Only one of regex, json_schema, or ebnf can be set."}}'
        "\n\ndata: [DONE]\n\n"
    )


def test_select_scoring_lets_the_decoded_option_win(client):
    prompt = "<|im_start|>user\nIs fire hot?<|im_end|>\n<|im_start|>assistant\n"
    options = ["yes", "yes, very", "no"]
    replies = client.post("/generate", json={
        "text": [prompt + o for o in options], "return_logprob": True,
        "return_text_in_logprobs": True, "logprob_start_len": 10,
        "sampling_params": {"max_new_tokens": 0, "temperature": 0},
    }).json()
    logprobs = [r["meta_info"]["input_token_logprobs"] for r in replies]
    assert all(entries[0][0] is None for entries in logprobs), "SGLang pads the first with None"
    scores = [compute_normalized_prompt_logprobs(entries) for entries in logprobs]
    assert sorted(scores)[-1] > sorted(scores)[-2], "one option strictly wins"
    texts = ["".join(e[2] for e in entries) for entries in logprobs]
    assert all(t.endswith(o) for t, o in zip(texts, options, strict=True))


def test_an_api_key_is_required_except_for_health(embedded_cfg):
    upstream = get_engine(embedded_cfg.engine).start()
    with SGLangWire(upstream, api_key="sk-test") as locked:
        refused = httpx.get(f"{locked.base_url}/get_model_info", timeout=30)
        assert (refused.status_code, refused.json()) == (401, {"error": "Unauthorized"})
        assert httpx.get(f"{locked.base_url}/health", timeout=30).status_code == 200
        sgl.RuntimeEndpoint(locked.base_url, api_key="sk-test")
        assert locked.requests[-1].authorization == "Bearer sk-test"


def test_invalid_regex_is_an_invalid_grammar_request(client):
    response = client.post("/generate", json={"text": "Hi", "sampling_params": {"regex": "(a"}})
    assert response.status_code == 400
    assert response.json()["error"]["message"].startswith("Invalid grammar request")


def test_a_regex_llguidance_cannot_compile_is_refused_not_ignored(client):
    # Python's re accepts lookaheads; llguidance does not, and llama.cpp then decodes freely.
    # The guard can only judge a finished output, so this prompt gets a short answer.
    response = client.post("/generate", json={
        "text": "<|im_start|>user\nIs the sky blue? Answer yes or no.<|im_end|>\n"
        "<|im_start|>assistant\n",
        "sampling_params": {"max_new_tokens": 16, "temperature": 0, "regex": "(?=x)xyzzy"},
    })
    assert response.status_code == 400
    assert response.json()["error"]["message"].startswith("Invalid grammar request")


def test_ebnf_is_passed_as_gbnf(client):
    reply = client.post("/generate", json={
        "text": "<|im_start|>user\nIs fire hot?<|im_end|>\n<|im_start|>assistant\n",
        "sampling_params": {"max_new_tokens": 4, "temperature": 0,
                            "ebnf": 'root ::= "yes" | "no"'},
    }).json()
    assert reply["text"] in {"yes", "no"}
    assert reply["meta_info"]["finish_reason"]["type"] == "stop"


def test_model_info_server_info_models_and_health(client, wire):
    info = client.get("/get_model_info").json()
    assert info["model_path"] == CHATML_MODEL_PATH and info["is_generation"] is True
    assert {"tokenizer_path", "preferred_sampling_params"} <= set(info)
    [card] = client.get("/v1/models").json()["data"]
    assert card["id"] == CHATML_MODEL_PATH and card["owned_by"] == "sglang"
    assert card["max_model_len"] == wire.context_length > 0
    assert client.get("/get_server_info").json()["context_length"] == wire.context_length
    health = client.get("/health")
    assert health.status_code == 200 and health.content == b""
    assert client.post("/flush_cache").text.startswith("Cache flushed.")


def test_chat_openai_with_sglang_regex_extra_body(wire):
    before = len(wire.requests)
    model = ChatOpenAI(
        base_url=wire.base_url + "/v1", api_key="x", model=CHATML_MODEL_PATH,
        temperature=0, max_tokens=8, extra_body={"regex": "(yes|no)"},
    )
    reply = model.invoke([HumanMessage("Is the sky blue? Answer yes or no.")])
    assert reply.content in {"yes", "no"}
    assert reply.response_metadata["model_name"] == CHATML_MODEL_PATH
    assert reply.usage_metadata["input_tokens"] > 0
    [sent] = [r.json for r in wire.requests[before:] if r.path == "/v1/chat/completions"]
    assert sent["regex"] == "(yes|no)"
