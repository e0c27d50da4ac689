"""``agent-router serve api`` end to end: the one command ``make serve`` runs.

The command runs as a child of the test, with its cache (where PostgreSQL and Redis keep
their data) in a temporary folder. On its first start it must create the cluster and
the database, migrate it, start two instances on one database and one queue, print
their URLs and how to stop, and serve the graphs from either URL; on SIGTERM it must
stop every process it started (instances, Redis, PostgreSQL) and exit 0. A second
start on the same folder finds the thread of the first.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import pytest
from langgraph_sdk import get_client

from serving.api.stack import postgres_data_dir
from tests import procs
from tests.aegra.stack import READY_TIMEOUT_S, STOP_GRACE_S
from tests.engine.conftest import REPO_ROOT

RUN_TIMEOUT_S = 300.0


def _processes_of(markers: list[str]) -> list[tuple[int, str]]:
    """Return (pid, command) of live processes whose command or environment names a marker."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            command = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ")
            environ = Path(f"/proc/{entry}/environ").read_bytes()
        except OSError:
            continue  # gone meanwhile, or not ours to read
        text = (command + b" " + environ).decode(errors="replace")
        if any(marker in text for marker in markers):
            found.append((int(entry), command.decode(errors="replace")))
    return found


def _kill_groups(processes: list[tuple[int, str]]) -> None:
    # The command's children lead sessions of their own, so they outlive it if it is
    # killed: on a failure they are found by the temporary folders only they name.
    for pid, _ in processes:
        with suppress(ProcessLookupError, PermissionError):
            os.killpg(os.getpgid(pid), signal.SIGKILL)


@contextmanager
def serve_api(cache: Path, model: Path, log: Path,
              *extra: str) -> Iterator[tuple[subprocess.Popen[bytes], list[str]]]:
    """Run ``agent-router serve api`` until the block ends; yield it and its URLs."""
    # A cache of its own for PostgreSQL and Redis, with the model already pulled.
    env = {**os.environ, "AGENT_ROUTER_CACHE": str(cache), "AGENT_ROUTER_MODEL": str(model)}
    env.pop("DATABASE_URL", None)
    env.pop("REDIS_URL", None)
    command = [sys.executable, "-m", "agent_router", "serve", "api", *extra]
    try:
        with log.open("wb") as out, procs.started(command, cwd=REPO_ROOT, env=env, stdout=out,
                                                   stderr=subprocess.STDOUT,
                                                   grace=STOP_GRACE_S * 2) as process:
            deadline = time.monotonic() + READY_TIMEOUT_S
            while "Stop with Ctrl-C" not in log.read_text(errors="replace"):
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail("serve api did not get ready:\n"
                                f"{log.read_text(errors='replace')}")
                time.sleep(0.2)  # between looks at its output: the readiness signal
            yield process, re.findall(r"^\s+(http://127\.0\.0\.1:\d+)\s", log.read_text(),
                                      re.M)
    finally:
        _kill_groups(_processes_of([str(cache), str(postgres_data_dir(cache / "aegra"))]))


async def test_serve_api_starts_everything_and_stops_it_all(
    aegra_python: Path, model_path: Path, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    data = postgres_data_dir(cache / "aegra")
    try:
        with serve_api(cache, model_path, tmp_path / "first.log",
                       "--instances", "2") as (process, urls):
            printed = (tmp_path / "first.log").read_text()
            async with get_client(url=urls[0], api_key=None) as a, \
                    get_client(url=urls[1], api_key=None) as b:
                thread_id = (await a.threads.create())["thread_id"]
                async with asyncio.timeout(RUN_TIMEOUT_S):
                    result = await b.runs.wait(
                        thread_id, "chat",
                        input={"messages": [{"role": "user", "content": "Say hello."}]},
                        context={"max_answer_tokens": 8})
            process.send_signal(signal.SIGTERM)
            status = process.wait(timeout=STOP_GRACE_S * 2)
        left = _processes_of([str(cache), str(data)])
        with serve_api(cache, model_path, tmp_path / "second.log") as (_, again):
            async with get_client(url=again[0], api_key=None) as c:
                state = await c.threads.get_state(thread_id)
    finally:
        shutil.rmtree(data, ignore_errors=True)

    assert len(urls) == 2, printed
    assert "migrating the database" in printed and "kill -TERM" in printed
    assert "auth:     OFF" in printed and "graphs:   langgraph.auth.json" in printed
    assert [m["type"] for m in result["messages"]] == ["human", "ai"]
    assert status == 0 and "Aegra stopped." in (tmp_path / "first.log").read_text()
    assert left == [], left
    assert state["values"]["messages"] == result["messages"]
