"""Ollama quietly truncates a prompt longer than num_ctx; our backend refuses that answer."""

import pytest
from langchain_core.messages import HumanMessage, SystemMessage

from agents.llm import _ask
from backends.embedded import get_engine
from backends.errors import ContextTooLong
from backends.settings import GenerationParams, OllamaBackend
from tests.wire.ollama import OllamaWire

PARAMS = GenerationParams(temperature=0, max_tokens=8)


@pytest.fixture(scope="module")
def wire(embedded_cfg):
    server = OllamaWire(get_engine(embedded_cfg.engine).start())
    server.start()
    yield server
    server.stop()


def ollama(wire, num_ctx: int) -> OllamaBackend:
    return OllamaBackend(name="ollama", kind="ollama", base_url=wire.base_url,
                         model=wire.model, num_ctx=num_ctx)


async def test_truncated_prompt_is_reported_not_answered(wire):
    long_rules = "Rule: always answer in French and cite the handbook section. " * 120
    with pytest.raises(ContextTooLong) as caught:
        await _ask(ollama(wire, 256), PARAMS,
                   [SystemMessage(long_rules), HumanMessage("What is 2 + 2?")], None)
    assert "num_ctx=256" in str(caught.value) and "truncated" in str(caught.value)


async def test_prompt_that_fits_is_answered(wire):
    reply = await _ask(ollama(wire, 2048), PARAMS, [HumanMessage("What is 2 + 2?")], None)
    assert str(reply.content).strip()
    assert reply.usage_metadata["input_tokens"] < 2048
