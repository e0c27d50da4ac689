"""The scale-out tier: two Aegra instances on one PostgreSQL and one Redis, on this machine.

Fixtures:

* ``wire``: the one model server every instance calls (``tests/aegra/engine.py``), for
  the module; its recorded requests count node executions across processes.
* ``tier_backends``: a backends.toml whose chains all lead to ``wire``.
* ``pair``: instances A and B of one deployment (one database, one queue), for the module.

``pytest_terminal_summary`` prints what the tier measured (the takeover time after a
SIGKILL), since speed claims live in bench/ and never in an assertion.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from backends.config import BackendConfig
from backends.embedded import get_engine
from serving.api.aegra import AegraServer, Deployment
from tests.aegra.engine import GatedWire
from tests.aegra.stack import MEASURED, AegraStack, aegra_instance
from tests.engine.conftest import EMBEDDED_TIMEOUT_S, REPO_ROOT
from tests.wire.config import vllm_at, write_backends
from tests.wire.vllm import DEFAULT_SERVED_MODEL


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter,
                            config: pytest.Config) -> None:
    if MEASURED:
        terminalreporter.write_sep("-", "Aegra scale-out tier: measured")
        for name, value in MEASURED.items():
            terminalreporter.write_line(f"{name}: {value}")


def record(name: str, value: str) -> None:
    """Report ``value`` in the session summary (never assert on a time)."""
    MEASURED[name] = value


@pytest.fixture(scope="module")
def wire(embedded_cfg: BackendConfig) -> Iterator[GatedWire]:
    upstream = get_engine(embedded_cfg.engine).start()  # type: ignore[attr-defined]
    with GatedWire(upstream) as server:
        yield server
    assert not server.errors, server.errors


@pytest.fixture(scope="module")
def tier_backends(wire: GatedWire, tmp_path_factory: pytest.TempPathFactory) -> Path:
    # No retries: a request sent twice would count as a node run twice.
    entry = vllm_at(wire.base_url, model=DEFAULT_SERVED_MODEL, timeout_s=EMBEDDED_TIMEOUT_S,
                    max_retries=0, breaker_threshold=1000, context_length=2048)
    return write_backends(tmp_path_factory.mktemp("tier_backends"), {"wire": entry},
                          {"planner": ["wire"], "drafter": ["wire"], "answer": ["wire"]})


@dataclass(frozen=True)
class Pair:
    deployment: Deployment
    a: AegraServer
    b: AegraServer


def tier_env(backends: Path) -> dict[str, str]:
    return {"AGENT_ROUTER_CONFIG": str(backends)}


@pytest.fixture(scope="module")
def pair(aegra_stack: AegraStack, tier_backends: Path,
         tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pair]:
    logs = tmp_path_factory.mktemp("pair")
    env = tier_env(tier_backends)
    deployment = aegra_stack.deployment(REPO_ROOT / "langgraph.json", env=env)
    with aegra_instance(aegra_stack, deployment, logs / "a.log", env=env) as a, \
            aegra_instance(aegra_stack, deployment, logs / "b.log", env=env) as b:
        yield Pair(deployment, a, b)
