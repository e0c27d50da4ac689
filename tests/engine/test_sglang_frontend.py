"""SGLang's frontend (select, fork) through our backend, against the SGLang wire server."""

import pytest
from langchain_core.messages import HumanMessage, SystemMessage

from backends.embedded import get_engine
from backends.settings import GenerationParams, SGLangBackend
from backends.sglang_frontend import fork_continuations, select_option
from tests.wire.sglang import CHATML_MODEL_PATH, SGLangWire


@pytest.fixture(scope="module")
def sglang_cfg(embedded_cfg):
    wire = SGLangWire(get_engine(embedded_cfg.engine).start())
    wire.start()
    yield SGLangBackend(name="sglang", kind="sglang", base_url=wire.base_url,
                        model=CHATML_MODEL_PATH, chat_template="chatml"), wire
    wire.stop()


async def test_select_option_returns_one_of_the_options(sglang_cfg):
    cfg, wire = sglang_cfg
    before = len(wire.requests)
    picked = await select_option(cfg, [SystemMessage("Classify the request."),
                                       HumanMessage("What is 2 + 2?")],
                                 ["math", "chat", "code"])
    assert picked in {"math", "chat", "code"}
    scoring = [r.json for r in wire.requests[before:] if r.json and r.json.get("return_logprob")]
    assert scoring and len(scoring[0]["text"]) == 3, "each option is scored in one batch"


async def test_fork_generates_n_continuations_from_one_prefix(sglang_cfg):
    cfg, wire = sglang_cfg
    before = len(wire.requests)
    texts = await fork_continuations(cfg, [HumanMessage("Name a fruit.")], 3,
                                     GenerationParams(max_tokens=6, temperature=0.8))
    assert len(texts) == 3 and all(isinstance(t, str) for t in texts)
    generations = [r.json for r in wire.requests[before:]
                   if r.json and r.json.get("sampling_params", {}).get("max_new_tokens") == 6]
    assert len(generations) == 3
    prompts = {g["text"] for g in generations}
    assert len(prompts) == 1, "all branches share the same prefix"
