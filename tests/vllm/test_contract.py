"""The backend contract of tests/engine/test_backend_contract.py, against real vLLM.

The contract's test functions are imported, so they are collected here too and take
this module's ``backend``: the real server of this tier.
"""

import pytest

from backends.settings import VLLMBackend
from tests.engine.test_backend_contract import (  # noqa: F401
    test_chat_answers_with_token_usage,
    test_fixed_choices_are_enforced,
    test_health_reports_the_model_loaded,
    test_json_schema_is_enforced_with_the_engines_own_mechanism,
    test_model_info_reports_a_context_window,
    test_stream_yields_tokens_then_usage,
)


@pytest.fixture
def backend(vllm_cfg: VLLMBackend) -> VLLMBackend:
    return vllm_cfg
