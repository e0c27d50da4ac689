"""Scale-out on one machine: two Aegra instances share one PostgreSQL and one Redis.

Every instance calls one model server (``wire``: the embedded engine behind vLLM's API,
in this process), which records each request; that record counts node executions across
the instances' processes. In ``plan_execute``, ``split_question`` (its first node) calls
the model once per execution and ``write_answer`` (its last) once in free text.

1. Twenty ``chat`` runs (one node, one model call each) submitted to both instances at
   once complete once each: exactly one model call per run and twenty in all, each
   thread has exactly one run, ``success``, one chain of checkpoints and its whole
   state (its own message and the reply), read back through the other instance.
2. A run that stops at ``interrupt()`` (tool approval) on instance A is resumed through
   instance B, and both instances then show the same thread state.
3. Instance A is killed with SIGKILL in the middle of a run (its ``write_answer`` call is
   held by the model server after the earlier steps were checkpointed). Instance B's
   reaper finds the expired lease and its worker finishes the run from the last
   checkpoint: the earlier nodes are not run again. How long the takeover took is
   reported in the session summary (``FAST_RECOVERY`` shortens Aegra's lease to 12 s).
"""

from __future__ import annotations

import asyncio
import re
import socket
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from langgraph_sdk import get_client
from langgraph_sdk.client import LangGraphClient

from bench.server import WORKLOADS, measure_level
from serving.api.aegra import AegraServer
from tests.aegra.conftest import Pair, record, tier_env
from tests.aegra.engine import GatedWire, answer_requests, mentions, split_requests
from tests.aegra.stack import FAST_RECOVERY, AegraStack, aegra_instance, kill
from tests.engine.conftest import REPO_ROOT

GRAPH = "plan_execute"
RUNS = 20
RUN_TIMEOUT_S = 900.0  # twenty runs on one engine with 4 slots, on a loaded 2-core machine
HOLD_TIMEOUT_S = 300.0
POLL_S = 0.2


@pytest.fixture
async def clients(pair: Pair) -> AsyncIterator[tuple[LangGraphClient, LangGraphClient]]:
    async with get_client(url=pair.a.base_url, api_key=None) as a, \
            get_client(url=pair.b.base_url, api_key=None) as b:
        yield a, b


def steps_are_one_chain(history: list[dict[str, Any]]) -> bool:
    """Tell whether a thread's checkpoints form one line: no step checkpointed twice."""
    steps = [h["metadata"]["step"] for h in history]
    return len(set(steps)) == len(steps) and steps == sorted(steps, reverse=True)


async def test_twenty_runs_on_two_instances_complete_once_each(
    pair: Pair, clients: tuple[LangGraphClient, LangGraphClient], wire: GatedWire,
) -> None:
    a, b = clients
    said = [f"Say the number {n}." for n in range(301, 301 + RUNS)]
    submit_to = [a if i % 2 == 0 else b for i in range(RUNS)]
    threads = [await client.threads.create() for client in submit_to]
    seen = len(wire.requests)
    started = time.monotonic()

    async with asyncio.timeout(RUN_TIMEOUT_S):
        results = await asyncio.gather(*(
            client.runs.wait(thread["thread_id"], "chat",
                             input={"messages": [{"role": "user", "content": text}]},
                             context={"max_answer_tokens": 8}, raise_error=False)
            for client, thread, text in zip(submit_to, threads, said, strict=True)))
    record("20 chat runs on 2 instances", f"{time.monotonic() - started:.0f} s")

    assert [r.get("__error__") for r in results if isinstance(r, dict)] == [None] * RUNS
    requests = [r for r in wire.requests[seen:] if r.path == "/v1/chat/completions"]
    for i, (thread, text) in enumerate(zip(threads, said, strict=True)):
        other = b if i % 2 == 0 else a  # read back through the instance it was not sent to
        state = await other.threads.get_state(thread["thread_id"])
        messages = state["values"]["messages"]
        assert [(m["type"], m["content"]) for m in messages][:1] == [("human", text)]
        assert [m["type"] for m in messages] == ["human", "ai"] and messages[1]["content"]
        assert state["next"] == [] and messages == results[i]["messages"]
        runs = await other.runs.list(thread["thread_id"])
        assert [run["status"] for run in runs] == ["success"], runs
        history = await other.threads.get_history(thread["thread_id"], limit=100)
        assert steps_are_one_chain(history), [h["metadata"]["step"] for h in history]
        assert sum(mentions(r, text) for r in requests) == 1, f"{text!r}: the node ran once"
    assert len(requests) == RUNS, "no model call beyond one per run"
    record("runs executed per instance",
           _executing_instances(pair, [t["thread_id"] for t in threads]))


def _executing_instances(pair: Pair, thread_ids: list[str]) -> str:
    # Aegra names its workers "<host>-<pid>-worker-<n>" and logs each run it executes.
    counts = {}
    for name, server in (("A", pair.a), ("B", pair.b)):
        text = server.log.read_text(errors="replace")
        counts[name] = sum(1 for t in thread_ids if re.search(
            rf"{re.escape(t)}.*{socket.gethostname()}-{server.pid}-worker", text) is not None)
    return ", ".join(f"{name}: {count}" for name, count in counts.items())


async def test_a_run_paused_on_a_is_resumed_through_b(
    clients: tuple[LangGraphClient, LangGraphClient],
) -> None:
    a, b = clients
    gated = {"approval_tools": ["calculator"]}
    thread_id = (await a.threads.create())["thread_id"]

    async with asyncio.timeout(RUN_TIMEOUT_S):
        paused = await a.runs.wait(thread_id, GRAPH, input={"question": "What is 17 * 23?"},
                                   context=gated)
    on_a, on_b = await a.threads.get_state(thread_id), await b.threads.get_state(thread_id)
    pending = [i["value"] for task in on_b["tasks"] for i in task.get("interrupts", [])]
    assert [(p["kind"], p["tool"]) for p in pending] == [("tool_approval", "calculator")]
    assert "answer" not in paused
    assert on_a["checkpoint"] == on_b["checkpoint"] and on_a["values"] == on_b["values"]

    async with asyncio.timeout(RUN_TIMEOUT_S):
        resumed = await b.runs.wait(
            thread_id, GRAPH, context=gated,
            command={"resume": {"action": "edit", "args": {"expression": "6 * 7"}}})
    final_a, final_b = await a.threads.get_state(thread_id), await b.threads.get_state(thread_id)

    assert [r["output"] for r in resumed["tool_results"]] == ["42"]
    assert resumed["answer"].strip()
    assert final_a["values"] == final_b["values"] and final_a["next"] == final_b["next"] == []
    assert final_a["checkpoint"] == final_b["checkpoint"]
    assert final_b["values"]["answer"] == resumed["answer"]
    runs = await a.runs.list(thread_id)
    assert sorted(run["status"] for run in runs) == ["interrupted", "success"], runs


def _claim(database_url: str, run_id: str) -> tuple[str | None, str]:
    with psycopg.connect(database_url) as conn:
        row = conn.execute("SELECT claimed_by, status FROM runs WHERE run_id = %s",
                           (run_id,)).fetchone()
    assert row is not None, run_id
    return row[0], row[1]


async def _wait_until_held(wire: GatedWire, client: LangGraphClient, thread_id: str,
                           run_id: str, server: AegraServer) -> None:
    deadline = time.monotonic() + HOLD_TIMEOUT_S
    while not wire.held.is_set():
        run = await client.runs.get(thread_id, run_id)
        if run["status"] not in ("pending", "running") or time.monotonic() > deadline:
            pytest.fail(f"the run ({run['status']}) never reached write_answer:\n"
                        f"{server.log_tail(40)}")
        await asyncio.sleep(POLL_S)


async def test_a_run_on_a_killed_instance_is_finished_by_the_other(
    aegra_stack: AegraStack, tier_backends: Path, wire: GatedWire, tmp_path: Path,
) -> None:
    env = tier_env(tier_backends)
    deployment = aegra_stack.deployment(REPO_ROOT / "langgraph.json", env=env,
                                        settings=FAST_RECOVERY)
    asked = "What is 4321 + 1234?"
    wire.hold_answer_of(asked)
    with aegra_instance(aegra_stack, deployment, tmp_path / "a.log", env=env) as a:
        async with get_client(url=a.base_url, api_key=None) as on_a:
            thread_id = (await on_a.threads.create())["thread_id"]
            run = await on_a.runs.create(thread_id, GRAPH, input={"question": asked})
            await _wait_until_held(wire, on_a, thread_id, run["run_id"], a)
            before = await on_a.threads.get_state(thread_id)
        claimed_by_a, _ = _claim(deployment.database_url, run["run_id"])
        # B starts only now, so the run was certainly A's to execute.
        with aegra_instance(aegra_stack, deployment, tmp_path / "b.log", env=env) as b:
            requests_before = len(wire.requests)
            killed = time.monotonic()
            kill(a)
            taken_over = await _wait_for_takeover(deployment.database_url, run["run_id"],
                                                  claimed_by_a, b)
            took = taken_over - killed
            async with get_client(url=b.base_url, api_key=None) as on_b:
                async with asyncio.timeout(RUN_TIMEOUT_S):
                    finished = await on_b.runs.join(thread_id, run["run_id"])
                done = time.monotonic() - killed
                state = await on_b.threads.get_state(thread_id)
                final = await on_b.runs.get(thread_id, run["run_id"])
                history = await on_b.threads.get_history(thread_id, limit=100)
    record("takeover after SIGKILL (lease 12 s, reaper every 2 s)",
           f"B's worker claimed the run {took:.1f} s after the kill; finished {done:.1f} s after")

    assert before["next"] == ["write_answer"], before["next"]
    assert claimed_by_a is not None and f"-{a.pid}-worker" in claimed_by_a, claimed_by_a
    assert final["status"] == "success", final
    assert state["values"]["answer"].strip() and state["values"]["answer"] == finished["answer"]
    assert state["values"]["plan"] == before["values"]["plan"]
    assert state["values"]["tool_results"] == before["values"]["tool_results"]
    assert steps_are_one_chain(history), [h["metadata"]["step"] for h in history]
    requests = list(wire.requests)
    assert split_requests(requests, asked) == 1, "split_question did not run again"
    assert answer_requests(requests, asked) == 2, "write_answer: held on A, then run on B"
    assert split_requests(requests[requests_before:], asked) == 0
    nodes = [m["node"] for m in state["values"]["metrics"]]
    assert nodes.count("write_plan") == sum(
        1 for m in before["values"]["metrics"] if m["node"] == "write_plan"), nodes


async def _wait_for_takeover(database_url: str, run_id: str, old_owner: str | None,
                             b: AegraServer) -> float:
    deadline = time.monotonic() + RUN_TIMEOUT_S
    while time.monotonic() < deadline:
        owner, status = _claim(database_url, run_id)
        if (owner is not None and owner != old_owner) or status == "success":
            assert owner is None or f"-{b.pid}-worker" in owner, owner
            return time.monotonic()
        if status not in ("pending", "running"):
            pytest.fail(f"the run ended {status!r} instead of being taken over:\n"
                        f"{b.log_tail(40)}")
        await asyncio.sleep(POLL_S)
    pytest.fail(f"no worker of B took the run over in {RUN_TIMEOUT_S:.0f} s:\n{b.log_tail(40)}")


async def test_the_server_bench_runs_through_both_instances(pair: Pair) -> None:
    # bench/server.py's measure, smallest size; its numbers belong in bench/, not here.
    row = await measure_level([pair.a.base_url, pair.b.base_url], clients=2, runs=2,
                              workload=WORKLOADS["chat"])

    assert (row["completed"], row["failed"], row["runs"]) == (2, 0, 2), row["failures"]
    assert {"runs_per_s", "p50_s", "p95_s", "wall_s"} <= set(row)
