"""End to end: `langgraph dev` (as `make dev` starts it) and Aegra serve plan_execute.

One real server (``dev_server`` in conftest.py, parametrized over both servers: the
command line from ``agent_router.cli.dev_command`` with ``OFFLINE_ENV``, or an Aegra
instance on its own database) runs on a free 127.0.0.1 port for the whole module; the
embedded engine answers its model calls. Through
langgraph-sdk these tests prove that the graph is registered, that a stateless run
returns the documented output, that a thread run streams each node's update and
keeps the final state, that custom stream events reach the client, that a bad run
context ends the run in an error rather than a hang, and that no node does blocking
I/O on the server's event loop (`langgraph dev` detects it; Aegra does not look).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import pytest
from langgraph_sdk.client import LangGraphClient

from tests.engine.conftest import REPO_ROOT, DevServer, differs_on_aegra

GRAPH_ID = "plan_execute"
QUESTION = {"question": "What is 17 * 23?"}
RUN_TIMEOUT_S = 300.0  # generous: the model can fall below 1 token/s on a loaded machine


@pytest.fixture(autouse=True)
def no_blocking_io(dev_server: DevServer) -> Iterator[None]:
    yield
    assert "BlockingError" not in dev_server.log_text(), (
        f"product code blocked the server's event loop:\n{dev_server.log_tail(120)}"
    )


async def assistant_id(client: LangGraphClient) -> str:
    assistants = await client.assistants.search(graph_id=GRAPH_ID)
    assert assistants, f"no assistant for graph {GRAPH_ID!r}"
    return str(assistants[0]["assistant_id"])


async def collect_stream(
    client: LangGraphClient, thread_id: str | None, stream_mode: str
) -> list[Any]:
    stream = client.runs.stream(
        thread_id, await assistant_id(client), input=QUESTION, stream_mode=stream_mode
    )
    async with asyncio.timeout(RUN_TIMEOUT_S):
        return [chunk async for chunk in stream]


async def test_graph_has_its_default_assistant(client: LangGraphClient) -> None:
    assistants = await client.assistants.search(graph_id=GRAPH_ID)

    assert [(a["graph_id"], a["metadata"].get("created_by")) for a in assistants] == [
        (GRAPH_ID, "system")
    ]


async def test_stateless_run_returns_plan_tool_results_and_answer(
    client: LangGraphClient,
) -> None:
    async with asyncio.timeout(RUN_TIMEOUT_S):
        state = await client.runs.wait(None, await assistant_id(client), input=QUESTION)

    assert isinstance(state, dict), state
    assert state["plan"] and all(set(step) == {"tool", "args", "depends_on", "part"}
                                 for step in state["plan"])
    assert state["tool_results"]
    assert {"write_plan", "write_answer"} <= {metric["node"] for metric in state["metrics"]}
    assert isinstance(state["answer"], str) and state["answer"].strip()
    assert "calculator" in [step["tool"] for step in state["plan"]], state["plan"]
    calculator = [r["output"] for r in state["tool_results"] if r["tool"] == "calculator"]
    assert "391" in calculator, state["tool_results"]


async def test_thread_run_streams_node_updates_and_keeps_the_answer(
    client: LangGraphClient,
) -> None:
    thread = await client.threads.create()

    chunks = await collect_stream(client, thread["thread_id"], "updates")
    updates = [chunk.data for chunk in chunks if chunk.event == "updates"]
    state = await client.threads.get_state(thread["thread_id"])

    nodes = {node for update in updates for node in update}
    assert {"write_plan", "execute_step", "write_answer"} <= nodes, chunks
    answers = [update["write_answer"]["answer"] for update in updates if "write_answer" in update]
    assert answers and answers[-1].strip()
    assert state["values"]["answer"] == answers[-1]


async def test_custom_stream_carries_plan_ready(client: LangGraphClient) -> None:
    chunks = await collect_stream(client, None, "custom")

    custom = [chunk.data for chunk in chunks if chunk.event == "custom"]
    plan_ready = [event for event in custom if event.get("event") == "plan_ready"]
    assert plan_ready and plan_ready[0]["steps"], custom


async def failed_run(client: LangGraphClient) -> tuple[dict[str, Any], list[Any]]:
    """Run with a planner backend that does not exist; return the result and the runs."""
    thread = await client.threads.create()
    async with asyncio.timeout(RUN_TIMEOUT_S):
        result = await client.runs.wait(
            thread["thread_id"],
            await assistant_id(client),
            input=QUESTION,
            context={"planner_backend": "nope"},
            raise_error=False,
        )
    return result, list(await client.runs.list(thread["thread_id"]))


async def test_unknown_planner_backend_ends_the_run_in_error(
    client: LangGraphClient, dev_server: DevServer
) -> None:
    result, runs = await failed_run(client)

    assert isinstance(result, dict) and "__error__" in result, result
    assert "planner_backend" in result["__error__"]["message"], "the client sees the cause"
    assert [run["status"] for run in runs] == ["error"]
    assert "planner_backend='nope' names no configured" in dev_server.log_text()


async def test_a_failed_run_names_its_exception_class(
    client: LangGraphClient, dev_server: DevServer, request: pytest.FixtureRequest
) -> None:
    differs_on_aegra(request, dev_server, "a failed run's __error__ says 'Error', not the "
                                          "exception's class")

    result, _ = await failed_run(client)

    assert isinstance(result, dict) and result["__error__"]["error"] == "GraphConfigError"


async def test_tool_approval_pauses_and_resumes_over_the_api(client: LangGraphClient) -> None:
    thread = await client.threads.create()
    assistant = await assistant_id(client)
    gated = {"approval_tools": ["calculator"]}

    async with asyncio.timeout(RUN_TIMEOUT_S):
        paused = await client.runs.wait(thread["thread_id"], assistant, input=QUESTION,
                                        context=gated)
    state = await client.threads.get_state(thread["thread_id"])
    pending = [i["value"] for task in state["tasks"] for i in task.get("interrupts", [])]
    assert [(p["kind"], p["tool"]) for p in pending] == [("tool_approval", "calculator")]
    assert "answer" not in paused

    async with asyncio.timeout(RUN_TIMEOUT_S):
        resumed = await client.runs.wait(
            thread["thread_id"], assistant, context=gated,
            command={"resume": {"action": "edit", "args": {"expression": "6 * 7"}}},
        )
    assert [r["output"] for r in resumed["tool_results"]] == ["42"]
    assert resumed["answer"].strip()


async def test_every_graph_is_served_drawable_with_schemas(client: LangGraphClient) -> None:
    configured = json.loads((REPO_ROOT / "langgraph.json").read_text())["graphs"]
    for graph_id in configured:
        assistants = await client.assistants.search(graph_id=graph_id)
        assert assistants, f"{graph_id} is not served"
        assistant = assistants[0]["assistant_id"]
        drawing = await client.assistants.get_graph(assistant)
        assert {node["id"] for node in drawing["nodes"]} >= {"__start__", "__end__"}
        schemas = await client.assistants.get_schemas(assistant)
        for kind in ("input_schema", "output_schema", "context_schema"):
            assert schemas[kind] and schemas[kind].get("properties"), (graph_id, kind)
        assert all(spec.get("description")
                   for spec in schemas["context_schema"]["properties"].values())


async def test_values_stream_ends_with_the_full_state(client: LangGraphClient) -> None:
    chunks = await collect_stream(client, None, "values")
    values = [chunk.data for chunk in chunks if chunk.event == "values"]
    # Values are filtered to the graph's output schema: the answer arrives last.
    assert "answer" not in values[0]
    assert values[-1]["answer"].strip() and values[-1]["tool_results"]
    assert values[-1]["summary"]["total"]["calls"] == len(values[-1]["metrics"])
    assert len(values) >= 3, "a values event per superstep"
