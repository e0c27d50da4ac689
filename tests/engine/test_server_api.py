"""End to end: the HTTP API (assistants, threads, runs, the store) of `langgraph dev` and Aegra.

Each server fixture is parametrized over both servers (``SERVER_KINDS``). A `langgraph dev`
works in its own temporary directory (``isolated_project`` in conftest.py), so the state
it keeps in ``.langgraph_api/`` never reaches the repository or the other test modules; an
Aegra instance gets a database of its own. Two servers run for the whole module:

- ``api_server`` uses the repository's backends.toml, so the embedded engine answers (with
  a request timeout long enough for twenty runs queued on a loaded machine).
- ``faulty_server`` uses a backends.toml whose ``answer`` chain is a loopback server that
  never answers and whose ``down`` chain is a server answering 503 plus a closed port.
  The server needs ``AGENT_ROUTER_CONFIG`` when it starts, hence a server of its own.

``dev_command`` passes ``--n-jobs-per-worker`` (langgraph-api otherwise runs one job at
a time), so a hanging run does not block the others.

Multitask strategies tested on one thread: ``reject`` (a second run is refused with
409 while the first hangs) and ``enqueue`` (both run, in order). A restart test starts
and stops two servers on one state (directory or database) and finds the thread again.
What Aegra does not do (multitask strategies, webhooks, cancel with rollback, namespaces
as given in the store) is marked xfail on Aegra with ``differs_on_aegra``.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from langgraph_sdk import get_client
from langgraph_sdk.client import LangGraphClient

from tests.engine.conftest import (
    EMBEDDED_TIMEOUT_S,
    SERVER_KINDS,
    DevServer,
    differs_on_aegra,
    free_loopback_port,
    isolated_project,
    patient_backends,
    server_starter,
    start_server,
)
from tests.wire.config import vllm_at, write_backends
from tests.wire.faulty import OPENAI_503, FaultyServer, hang, ok, status

GRAPH_ID = "plan_execute"
# Limits hold on a loaded 2-core machine, where the model can fall below 1 token/s.
RUN_TIMEOUT_S = 300.0
FAILURE_TIMEOUT_S = 120.0  # a failing run must end well inside the SDK's 300 s read timeout
POLL_TIMEOUT_S = 120.0
HANG_WAIT_S = 300.0  # beyond the embedded engine's 120 s timeout, so a stall shows as such
HANG_S = 600.0
WEBHOOK_WAIT_S = 60.0  # after the run has ended
CONCURRENT_RUNS = 20


def question(text: str) -> dict[str, str]:
    return {"question": text}


@pytest.fixture(scope="module", params=SERVER_KINDS)
def api_server(model_path: Path, tmp_path_factory: pytest.TempPathFactory,
               request: pytest.FixtureRequest) -> Iterator[DevServer]:
    project = tmp_path_factory.mktemp(f"api_project_{request.param}")
    env = isolated_project(project, patient_backends(project))
    with start_server(request.param, request, project / "server.log", cwd=project,
                      env=env) as server:
        yield server


@pytest.fixture(scope="module")
def hanging_backend() -> Iterator[FaultyServer]:
    with FaultyServer(default=hang(HANG_S)) as server:
        yield server


@pytest.fixture(scope="module")
def unavailable_backend() -> Iterator[FaultyServer]:
    with FaultyServer(default=status(503, OPENAI_503)) as server:
        yield server


@pytest.fixture(scope="module")
def webhook_receiver() -> Iterator[FaultyServer]:
    with FaultyServer(default=ok({})) as server:
        yield server


@pytest.fixture(scope="module", params=SERVER_KINDS)
def faulty_server(
    model_path: Path,
    tmp_path_factory: pytest.TempPathFactory,
    hanging_backend: FaultyServer,
    unavailable_backend: FaultyServer,
    request: pytest.FixtureRequest,
) -> Iterator[DevServer]:
    project = tmp_path_factory.mktemp(f"faulty_project_{request.param}")
    # High breaker thresholds: every run must reach the servers, never skip them.
    backends = write_backends(project, {
        "embedded": {"kind": "embedded", "timeout_s": EMBEDDED_TIMEOUT_S},
        "hanging": vllm_at(hanging_backend.base_url, timeout_s=HANG_S, max_retries=0,
                           breaker_threshold=1000),
        "unavailable": vllm_at(unavailable_backend.base_url, max_retries=1,
                               retry_backoff_s=0.01, breaker_threshold=1000),
        "dead": vllm_at(f"http://127.0.0.1:{free_loopback_port()}", max_retries=0,
                        breaker_threshold=1000),
    }, {"planner": ["embedded"], "drafter": ["embedded"], "answer": ["hanging"],
        "down": ["unavailable", "dead"]})
    env = isolated_project(project, backends)
    allow_loopback_webhooks(project / "langgraph.json")
    with start_server(request.param, request, project / "server.log", cwd=project,
                      env=env) as server:
        yield server


def allow_loopback_webhooks(config: Path) -> None:
    """Let `langgraph dev` call webhooks on http://127.0.0.1 (it refuses loopback by default)."""
    settings = json.loads(config.read_text())
    settings["webhooks"] = {"url": {"disable_loopback": False, "require_https": False}}
    config.write_text(json.dumps(settings, indent=2))


@pytest.fixture
async def client(api_server: DevServer) -> AsyncIterator[LangGraphClient]:
    async with get_client(url=api_server.url) as sdk_client:
        yield sdk_client


@pytest.fixture
async def faulty_client(faulty_server: DevServer) -> AsyncIterator[LangGraphClient]:
    async with get_client(url=faulty_server.url) as sdk_client:
        yield sdk_client


async def assistant_id(client: LangGraphClient) -> str:
    assistants = await client.assistants.search(graph_id=GRAPH_ID)
    assert assistants, f"no assistant for graph {GRAPH_ID!r}"
    return str(assistants[0]["assistant_id"])


async def wait_until_hanging(client: LangGraphClient, run: dict[str, Any],
                             backend: FaultyServer, seen: int, server: DevServer) -> None:
    """Wait until ``run`` has sent ``backend`` a request beyond the first ``seen``."""
    deadline = asyncio.get_running_loop().time() + HANG_WAIT_S
    while len(backend.requests) <= seen:
        current = await client.runs.get(run["thread_id"], run["run_id"])
        if current["status"] not in {"pending", "running"} \
                or asyncio.get_running_loop().time() > deadline:
            state = await client.threads.get_state(run["thread_id"])
            pytest.fail(f"run {current['status']!r}, never reached the hanging backend "
                        f"({len(backend.requests)} requests): next={state['next']} "
                        f"values={state['values']}\n{server.log_tail(40)}")
        await asyncio.sleep(0.1)


async def wait_for_status(client: LangGraphClient, thread_id: str, run_id: str,
                          wanted: set[str]) -> dict[str, Any]:
    async with asyncio.timeout(POLL_TIMEOUT_S):
        while True:
            run = await client.runs.get(thread_id, run_id)
            if run["status"] in wanted:
                return dict(run)
            await asyncio.sleep(0.1)


def calculator_numbers(state: dict[str, Any]) -> set[str]:
    return {number for result in state.get("tool_results", []) if result["tool"] == "calculator"
            for number in re.findall(r"\d+", str(result.get("args", "")))}


async def test_assistant_context_reaches_its_runs(client: LangGraphClient) -> None:
    settings = {"tools": ["calculator"], "max_answer_tokens": 32, "planner_backend": "embedded"}
    created = await client.assistants.create(graph_id=GRAPH_ID, context=settings,
                                             name="calculator-only")

    fetched = await client.assistants.get(created["assistant_id"])
    async with asyncio.timeout(RUN_TIMEOUT_S):
        state = await client.runs.wait(None, created["assistant_id"],
                                       input=question("What is 17 * 23?"))

    assert fetched["context"] == settings and fetched["graph_id"] == GRAPH_ID
    assert isinstance(state, dict) and "__error__" not in state, state
    assert state["plan"] and {step["tool"] for step in state["plan"]} == {"calculator"}
    answer_metric = next(m for m in state["metrics"] if m["node"] == "write_answer")
    assert 0 < answer_metric["completion_tokens"] <= 32, answer_metric
    plan_metric = next(m for m in state["metrics"] if m["node"] == "write_plan")
    assert plan_metric["backend"] == "embedded" and not plan_metric.get("fallbacks")


async def test_thread_keeps_state_and_history(client: LangGraphClient) -> None:
    thread = await client.threads.create(metadata={"suite": "server_api"})
    thread_id = thread["thread_id"]

    fetched = await client.threads.get(thread_id)
    async with asyncio.timeout(RUN_TIMEOUT_S):
        await client.runs.wait(thread_id, await assistant_id(client),
                               input=question("What is 6 * 7?"))
    state = await client.threads.get_state(thread_id)
    history = await client.threads.get_history(thread_id, limit=100)

    assert fetched["thread_id"] == thread_id and fetched["metadata"]["suite"] == "server_api"
    assert state["values"]["question"] == "What is 6 * 7?"
    assert state["values"]["answer"].strip() and state["next"] == []
    assert len(history) >= 4, [h["next"] for h in history]
    assert history[0]["checkpoint"]["checkpoint_id"] == state["checkpoint"]["checkpoint_id"]
    steps = [h["metadata"]["step"] for h in history]
    assert steps == sorted(steps, reverse=True) and len(set(steps)) == len(steps), steps
    assert "answer" not in history[-1]["values"], "the oldest checkpoint predates the answer"
    assert any("plan" in h["values"] and "answer" not in h["values"] for h in history)
    assert (await client.threads.get(thread_id))["status"] == "idle"


async def test_messages_tuple_stream_carries_answer_tokens(client: LangGraphClient) -> None:
    stream = client.runs.stream(None, await assistant_id(client),
                                input=question("What is 12 + 30?"),
                                stream_mode="messages-tuple")
    async with asyncio.timeout(RUN_TIMEOUT_S):
        chunks = [chunk async for chunk in stream]

    messages = [chunk.data for chunk in chunks if chunk.event == "messages"]
    answer_tokens = [message["content"] for message, metadata in messages
                     if metadata.get("langgraph_node") == "write_answer" and message["content"]]
    assert len(answer_tokens) >= 2, [chunk.event for chunk in chunks]
    assert "".join(answer_tokens).strip()


async def test_messages_stream_carries_the_answer_as_it_is_written(
    client: LangGraphClient,
) -> None:
    stream = client.runs.stream(None, await assistant_id(client),
                                input=question("What is 9 + 33?"), stream_mode="messages")
    async with asyncio.timeout(RUN_TIMEOUT_S):
        chunks = [chunk async for chunk in stream]

    events = {chunk.event for chunk in chunks}
    partial = [chunk.data for chunk in chunks if chunk.event == "messages/partial"]
    assert "messages/metadata" in events and partial, sorted(events)
    texts = [message["content"] for messages in partial for message in messages
             if message.get("type") in ("AIMessageChunk", "ai") and message.get("content")]
    assert texts and any(text.strip() for text in texts), partial[-3:]


STORE_NAMESPACE = ["notes", "server_api"]


async def test_store_keeps_searches_and_deletes_items(client: LangGraphClient) -> None:
    await client.store.put_item(STORE_NAMESPACE, "k1", {"text": "first", "n": 1})
    await client.store.put_item(STORE_NAMESPACE, "k2", {"text": "second", "n": 2})
    await client.store.put_item(STORE_NAMESPACE, "k1", {"text": "changed", "n": 3})

    item = await client.store.get_item(STORE_NAMESPACE, "k1")
    found = await client.store.search_items(["notes"], filter={"n": 2})
    everything = await client.store.search_items(["notes"], limit=10)
    await client.store.delete_item(STORE_NAMESPACE, "k2")
    after = await client.store.search_items(["notes"], limit=10)

    assert item["key"] == "k1" and item["value"] == {"text": "changed", "n": 3}
    assert [(i["key"], i["value"]["text"]) for i in found["items"]] == [("k2", "second")]
    assert sorted(i["key"] for i in everything["items"]) == ["k1", "k2"]
    assert [i["key"] for i in after["items"]] == ["k1"]


async def test_a_missing_store_item_reads_as_none(
    client: LangGraphClient, api_server: DevServer, request: pytest.FixtureRequest
) -> None:
    differs_on_aegra(request, api_server, "a missing store item is a 404, so the SDK raises "
                                          "NotFoundError instead of returning None")

    assert await client.store.get_item(["notes", "nowhere"], "missing") is None


async def test_store_items_keep_the_namespace_they_were_put_in(
    client: LangGraphClient, api_server: DevServer, request: pytest.FixtureRequest
) -> None:
    differs_on_aegra(request, api_server, "the store files every namespace under "
                                          "('users', <user>) and returns it so")
    await client.store.put_item(["profile"], "name", {"text": "Ada"})

    item = await client.store.get_item(["profile"], "name")
    namespaces = await client.store.list_namespaces(prefix=["profile"])

    assert item["namespace"] == ["profile"]
    assert namespaces["namespaces"] == [["profile"]]


async def test_concurrent_runs_keep_their_own_threads(client: LangGraphClient) -> None:
    assistant = await assistant_id(client)
    numbers = range(101, 101 + CONCURRENT_RUNS)  # 101..120 and their sums 202..240 never clash
    threads = [await client.threads.create() for _ in numbers]

    async with asyncio.timeout(RUN_TIMEOUT_S * 3):
        results = await asyncio.gather(*(
            client.runs.wait(thread["thread_id"], assistant, input=question(f"What is {n} + {n}?"),
                             raise_error=False)
            for thread, n in zip(threads, numbers, strict=True)
        ))

    assert [r.get("__error__") for r in results if isinstance(r, dict)] == [None] * len(results)
    own_numbers_seen = 0
    for thread, n in zip(threads, numbers, strict=True):
        values = (await client.threads.get_state(thread["thread_id"]))["values"]
        assert values["question"] == f"What is {n} + {n}?"
        assert values["answer"].strip()
        others = {str(m) for m in numbers if m != n} | {str(2 * m) for m in numbers if m != n}
        assert not calculator_numbers(values) & others, (n, values["tool_results"])
        own_numbers_seen += str(n) in calculator_numbers(values)
        runs = await client.runs.list(thread["thread_id"])
        assert [run["status"] for run in runs] == ["success"]
    assert own_numbers_seen >= CONCURRENT_RUNS // 2, "most plans compute their own sum"


async def test_enqueued_runs_on_one_thread_run_in_order(
    client: LangGraphClient, api_server: DevServer, request: pytest.FixtureRequest
) -> None:
    differs_on_aegra(request, api_server, "multitask_strategy is recorded, not enforced: an "
                                          "enqueued run starts at once, beside the first")
    assistant = await assistant_id(client)
    thread_id = (await client.threads.create())["thread_id"]

    first = await client.runs.create(thread_id, assistant, input=question("What is 2 + 3?"))
    second = await client.runs.create(thread_id, assistant, input=question("What is 4 + 5?"),
                                      multitask_strategy="enqueue")
    async with asyncio.timeout(RUN_TIMEOUT_S * 2):
        await client.runs.join(thread_id, second["run_id"])
    runs = {run["run_id"]: run for run in await client.runs.list(thread_id)}
    history = await client.threads.get_history(thread_id, limit=200)

    assert {runs[first["run_id"]]["status"], runs[second["run_id"]]["status"]} == {"success"}
    questions = [h["values"].get("question") for h in reversed(history) if h["values"]]
    first_done = max(i for i, q in enumerate(questions) if q == "What is 2 + 3?")
    second_seen = min(i for i, q in enumerate(questions) if q == "What is 4 + 5?")
    assert first_done < second_seen, questions
    answered = [h for h in history if h["values"].get("question") == "What is 2 + 3?"]
    assert any(h["values"].get("answer") for h in answered), "the first run finished first"
    state = await client.threads.get_state(thread_id)
    assert state["values"]["question"] == "What is 4 + 5?" and state["values"]["answer"]


async def test_cancelling_a_hanging_run_interrupts_it_and_keeps_the_state(
    faulty_client: LangGraphClient, hanging_backend: FaultyServer, faulty_server: DevServer
) -> None:
    thread_id = (await faulty_client.threads.create())["thread_id"]
    seen = len(hanging_backend.requests)

    run = await faulty_client.runs.create(thread_id, await assistant_id(faulty_client),
                                          input=question("What is 17 * 23?"))
    await wait_until_hanging(faulty_client, run, hanging_backend, seen, faulty_server)
    async with asyncio.timeout(POLL_TIMEOUT_S):
        await faulty_client.runs.cancel(thread_id, run["run_id"], wait=True)
    cancelled = await wait_for_status(faulty_client, thread_id, run["run_id"],
                                      {"interrupted", "error", "success"})
    state = await faulty_client.threads.get_state(thread_id)

    assert cancelled["status"] == "interrupted", cancelled
    assert state["values"]["question"] == "What is 17 * 23?"
    assert state["values"]["plan"] and state["values"]["tool_results"], state["values"]
    assert "answer" not in state["values"]
    assert state["next"] == ["write_answer"], state["next"]


async def test_second_run_on_a_busy_thread_is_rejected(
    faulty_client: LangGraphClient, hanging_backend: FaultyServer, faulty_server: DevServer,
    request: pytest.FixtureRequest,
) -> None:
    differs_on_aegra(request, faulty_server, "multitask_strategy='reject' is recorded, not "
                                             "enforced: the second run is accepted (no 409)")
    assistant = await assistant_id(faulty_client)
    thread_id = (await faulty_client.threads.create())["thread_id"]
    seen = len(hanging_backend.requests)

    first = await faulty_client.runs.create(thread_id, assistant, input=question("What is 1 + 1?"))
    try:
        await wait_until_hanging(faulty_client, first, hanging_backend, seen, faulty_server)
        with pytest.raises(httpx.HTTPStatusError) as refused:
            await faulty_client.runs.create(thread_id, assistant,
                                            input=question("What is 2 + 2?"),
                                            multitask_strategy="reject")
        runs = await faulty_client.runs.list(thread_id)
    finally:
        async with asyncio.timeout(POLL_TIMEOUT_S):
            await faulty_client.runs.cancel(thread_id, first["run_id"], wait=True)

    assert refused.value.response.status_code == 409, refused.value.response.text
    assert [(run["run_id"], run["status"]) for run in runs] == [(first["run_id"], "running")]


async def test_a_finished_run_calls_its_webhook(
    faulty_client: LangGraphClient, faulty_server: DevServer, webhook_receiver: FaultyServer,
    request: pytest.FixtureRequest,
) -> None:
    differs_on_aegra(request, faulty_server, "runs ignore `webhook`: no call when they end")
    thread_id = (await faulty_client.threads.create())["thread_id"]
    seen = len(webhook_receiver.requests)

    async with asyncio.timeout(FAILURE_TIMEOUT_S):
        await faulty_client.runs.wait(
            thread_id, await assistant_id(faulty_client), input=question("What is 3 + 3?"),
            context={"planner_backend": "down"}, raise_error=False,
            webhook=f"{webhook_receiver.base_url}/hook")
    async with asyncio.timeout(WEBHOOK_WAIT_S):
        while len(webhook_receiver.requests) == seen:  # sent after the run is stored
            await asyncio.sleep(0.1)
    [call] = webhook_receiver.requests[seen:]
    [run] = await faulty_client.runs.list(thread_id)

    assert (call.method, call.path) == ("POST", "/hook")
    assert call.json()["run_id"] == run["run_id"] and call.json()["status"] == "error"


async def test_cancelling_with_rollback_deletes_the_run_and_its_state(
    faulty_client: LangGraphClient, hanging_backend: FaultyServer, faulty_server: DevServer,
    request: pytest.FixtureRequest,
) -> None:
    differs_on_aegra(request, faulty_server, "cancel knows 'cancel' and 'interrupt' only; "
                                             "action='rollback' is refused (422)")
    thread_id = (await faulty_client.threads.create())["thread_id"]
    seen = len(hanging_backend.requests)

    run = await faulty_client.runs.create(thread_id, await assistant_id(faulty_client),
                                          input=question("What is 5 * 5?"))
    try:
        await wait_until_hanging(faulty_client, run, hanging_backend, seen, faulty_server)
        async with asyncio.timeout(POLL_TIMEOUT_S):
            await faulty_client.runs.cancel(thread_id, run["run_id"], wait=True,
                                            action="rollback")
            while await faulty_client.runs.list(thread_id):  # deleted after the cancel returns
                await asyncio.sleep(0.1)
    finally:  # a server that refused the rollback still runs it
        for left in await faulty_client.runs.list(thread_id):
            if left["status"] in ("pending", "running"):
                await faulty_client.runs.cancel(thread_id, left["run_id"], wait=True)
    state = await faulty_client.threads.get_state(thread_id)

    assert state["values"] == {} and state["next"] == [], state


async def test_run_with_every_backend_down_fails_naming_them(
    faulty_client: LangGraphClient, unavailable_backend: FaultyServer
) -> None:
    thread_id = (await faulty_client.threads.create())["thread_id"]
    seen = len(unavailable_backend.requests)

    async with asyncio.timeout(FAILURE_TIMEOUT_S):
        result = await faulty_client.runs.wait(
            thread_id, await assistant_id(faulty_client), input=question("What is 2 + 2?"),
            context={"planner_backend": "down"}, raise_error=False,
        )
    [run] = await faulty_client.runs.list(thread_id)
    fetched = await faulty_client.runs.get(thread_id, run["run_id"])

    assert isinstance(result, dict) and "__error__" in result, result
    message = result["__error__"]["message"]
    assert "no backend of chain 'down' could answer" in message, message
    assert "unavailable: failed" in message and "dead: failed" in message, message
    assert fetched["status"] == "error"
    assert len(unavailable_backend.requests) - seen == 2, "one retry of the 503, then on"


@pytest.mark.parametrize("kind", SERVER_KINDS)
async def test_thread_state_survives_a_server_restart(
    model_path: Path, tmp_path: Path, kind: str, request: pytest.FixtureRequest
) -> None:
    env = isolated_project(tmp_path)
    start = server_starter(kind, request, tmp_path / "server.log", cwd=tmp_path, env=env)
    with start() as first:
        async with get_client(url=first.url) as sdk_client:
            thread_id = (await sdk_client.threads.create())["thread_id"]
            async with asyncio.timeout(RUN_TIMEOUT_S):
                await sdk_client.runs.wait(thread_id, await assistant_id(sdk_client),
                                           input=question("What is 8 * 9?"))
            before = await sdk_client.threads.get_state(thread_id)
    if kind == "langgraph-dev":
        assert (tmp_path / ".langgraph_api").is_dir()

    with start() as second:
        async with get_client(url=second.url) as sdk_client:
            after = await sdk_client.threads.get_state(thread_id)
            runs = await sdk_client.runs.list(thread_id)

    assert before["values"]["answer"].strip()
    assert after["values"] == before["values"]
    assert after["checkpoint"]["checkpoint_id"] == before["checkpoint"]["checkpoint_id"]
    assert [run["status"] for run in runs] == ["success"]
