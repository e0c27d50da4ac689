"""Each package's ``__all__`` lists exactly its public names."""

import importlib
import types

import pytest

PACKAGES = ["agents", "agents.plan_execute", "agents.react", "agents.router", "agents.chat",
            "backends", "graphs", "tools", "agent_router", "evals", "serving", "serving.api",
            "serving.vllm"]


@pytest.mark.parametrize("name", PACKAGES)
def test_all_matches_public_names(name):
    package = importlib.import_module(name)
    exported = set(package.__all__)
    missing = [n for n in exported if not hasattr(package, n)]
    assert missing == []
    public = {
        n for n, value in vars(package).items()
        if not n.startswith("_") and not isinstance(value, types.ModuleType)
    }
    assert public == exported
