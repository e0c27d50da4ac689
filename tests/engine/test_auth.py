"""API-key auth on a real server serving ``langgraph.auth.json``: `langgraph dev` and Aegra.

One server runs for the module (parametrized over both servers) with
``AGENT_ROUTER_API_KEYS`` naming two users: `langgraph dev` from a scratch working
directory so its ``.langgraph_api/`` state stays out of the repository, Aegra on a
database of its own, reading the repository's ``langgraph.auth.json`` itself. Through
plain HTTP and langgraph-sdk these tests prove that a request without a key or with a
wrong one is refused, that Studio's header does not bypass the keys, that a thread
belongs to the user who made it (invisible to anyone else, for reading, searching and
running), that a user's store namespace is closed to the others, and that the built-in
assistants stay visible to every user. The in-process tests cover auth being off when
the variable is unset, and both ways the servers hand the headers over.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from langgraph_sdk import Auth, get_client
from langgraph_sdk.auth.types import StudioUser
from langgraph_sdk.client import LangGraphClient

from backends.config import server_api_keys
from backends.errors import GraphConfigError
from serving.api.auth import ANONYMOUS, authenticate, own_store_namespace, user_for_key
from tests.engine.conftest import REPO_ROOT, SERVER_KINDS, DevServer, differs_on_aegra, start_server

KEYS = {"alice": "alice-key-1", "bob": "bob-key-2"}
RUN_TIMEOUT_S = 300.0  # one short chat answer; generous for a loaded 2-core machine
HTTP_TIMEOUT_S = 60.0


def absolute_auth_config(directory: Path) -> Path:
    """Copy langgraph.auth.json into ``directory`` with every path made absolute."""
    # The server resolves the auth path against its working directory, not the file's.
    config = json.loads((REPO_ROOT / "langgraph.auth.json").read_text())
    config["dependencies"] = [str(REPO_ROOT)]
    config["graphs"] = {name: str(REPO_ROOT / target) for name, target in config["graphs"].items()}
    config["auth"]["path"] = str(REPO_ROOT / config["auth"]["path"])
    copy = directory / "langgraph.auth.json"
    copy.write_text(json.dumps(config))
    return copy


@pytest.fixture(scope="module", params=SERVER_KINDS)
def auth_server(model_path: Path, tmp_path_factory: pytest.TempPathFactory,
                request: pytest.FixtureRequest) -> Iterator[DevServer]:
    workdir = tmp_path_factory.mktemp(f"auth_server_{request.param}")
    env = {"AGENT_ROUTER_API_KEYS": ",".join(f"{u}:{k}" for u, k in KEYS.items())}
    config = os.environ.get("AGENT_ROUTER_CONFIG", str(REPO_ROOT / "backends.toml"))
    if Path(config).is_file():
        env["AGENT_ROUTER_CONFIG"] = config
    with start_server(request.param, request, workdir / "server.log", cwd=workdir, env=env,
                      config=str(absolute_auth_config(workdir))) as server:
        yield server


@pytest.fixture
async def alice(auth_server: DevServer) -> AsyncIterator[LangGraphClient]:
    async with get_client(url=auth_server.url, api_key=KEYS["alice"]) as c:
        yield c


@pytest.fixture
async def bob(auth_server: DevServer) -> AsyncIterator[LangGraphClient]:
    # Bob uses the other accepted spelling; api_key=None stops the SDK sending one from env.
    async with get_client(url=auth_server.url, api_key=None,
                          headers={"Authorization": f"Bearer {KEYS['bob']}"}) as c:
        yield c


def status_of(server: DevServer, headers: dict[str, str]) -> int:
    reply = httpx.post(f"{server.url}/threads/search", json={}, headers=headers,
                       timeout=HTTP_TIMEOUT_S)
    return reply.status_code


def test_request_without_a_key_is_refused(auth_server: DevServer) -> None:
    assert status_of(auth_server, {}) == 401
    assert httpx.post(f"{auth_server.url}/assistants/search", json={},
                      timeout=HTTP_TIMEOUT_S).status_code == 401


def test_wrong_key_is_refused(auth_server: DevServer) -> None:
    assert status_of(auth_server, {"x-api-key": "not-a-key"}) == 401
    assert status_of(auth_server, {"Authorization": "Bearer not-a-key"}) == 401
    assert status_of(auth_server, {"Authorization": KEYS["alice"]}) == 401, "Bearer required"


def test_studio_header_does_not_bypass_the_keys(auth_server: DevServer) -> None:
    assert status_of(auth_server, {"x-auth-scheme": "langsmith"}) == 401


def test_either_header_spelling_is_accepted(auth_server: DevServer) -> None:
    assert status_of(auth_server, {"x-api-key": KEYS["alice"]}) == 200
    assert status_of(auth_server, {"Authorization": f"Bearer {KEYS['alice']}"}) == 200


async def test_a_thread_is_visible_only_to_its_owner(
    alice: LangGraphClient, bob: LangGraphClient
) -> None:
    thread = await alice.threads.create(metadata={"topic": "secret"})
    thread_id = thread["thread_id"]

    assert thread["metadata"]["owner"] == "alice"
    assert (await alice.threads.get(thread_id))["thread_id"] == thread_id
    assert thread_id in [t["thread_id"] for t in await alice.threads.search(limit=100)]

    with pytest.raises(httpx.HTTPStatusError) as refused:
        await bob.threads.get(thread_id)
    assert refused.value.response.status_code == 404
    assert thread_id not in [t["thread_id"] for t in await bob.threads.search(limit=100)]
    assert await bob.threads.search(metadata={"topic": "secret"}) == []


async def test_a_user_cannot_claim_another_users_thread(
    alice: LangGraphClient, bob: LangGraphClient
) -> None:
    thread = await bob.threads.create(metadata={"owner": "alice"})

    assert thread["metadata"]["owner"] == "bob"
    with pytest.raises(httpx.HTTPStatusError) as refused:
        await alice.threads.get(thread["thread_id"])
    assert refused.value.response.status_code == 404


async def test_runs_on_a_thread_belong_to_its_owner(
    alice: LangGraphClient, bob: LangGraphClient, auth_server: DevServer
) -> None:
    (assistant,) = await alice.assistants.search(graph_id="chat")
    thread = await alice.threads.create()

    async with asyncio.timeout(RUN_TIMEOUT_S):
        state = await alice.runs.wait(
            thread["thread_id"], assistant["assistant_id"],
            input={"messages": [{"role": "user", "content": "Say hello."}]},
            context={"max_answer_tokens": 16},
        )
    assert isinstance(state, dict) and [m["type"] for m in state["messages"]] == ["human", "ai"]
    (run,) = await alice.runs.list(thread["thread_id"])
    assert run["status"] == "success"

    with pytest.raises(httpx.HTTPStatusError) as running:
        await bob.runs.create(thread["thread_id"], assistant["assistant_id"],
                              input={"messages": [{"role": "user", "content": "Hi"}]})
    assert running.value.response.status_code == 404
    if auth_server.kind == "aegra":
        # Aegra 0.11 lists only the caller's own runs: another's thread reads as empty.
        assert await bob.runs.list(thread["thread_id"]) == []
    else:
        with pytest.raises(httpx.HTTPStatusError) as listing:
            await bob.runs.list(thread["thread_id"])
        assert listing.value.response.status_code == 404


async def test_a_run_carries_its_owner_tag(
    alice: LangGraphClient, auth_server: DevServer, request: pytest.FixtureRequest
) -> None:
    differs_on_aegra(request, auth_server, "a run has no metadata: neither the owner tag nor "
                                           "metadata a client sends comes back")
    thread = await alice.threads.create()

    run = await alice.runs.create(thread["thread_id"], "chat", metadata={"purpose": "tag"},
                                  input={"messages": [{"role": "user", "content": "Hi."}]},
                                  context={"max_answer_tokens": 4})
    async with asyncio.timeout(RUN_TIMEOUT_S):
        await alice.runs.join(thread["thread_id"], run["run_id"])
    fetched = await alice.runs.get(thread["thread_id"], run["run_id"])

    assert fetched["metadata"]["owner"] == "alice" and fetched["metadata"]["purpose"] == "tag"


async def test_built_in_assistants_are_visible_to_every_user(
    alice: LangGraphClient, bob: LangGraphClient
) -> None:
    for client in (alice, bob):
        graphs = {a["graph_id"] for a in await client.assistants.search(limit=100)}
        assert {"chat", "plan_execute", "router", "react_agent"} <= graphs


async def test_a_users_store_namespace_is_closed_to_the_others(
    alice: LangGraphClient, bob: LangGraphClient
) -> None:
    await alice.store.put_item(["alice", "notes"], "plan", {"text": "secret"})

    mine = await alice.store.get_item(["alice", "notes"], "plan")
    found = await alice.store.search_items(["alice"], limit=10)
    refused = []
    listed = await alice.store.list_namespaces(prefix=["alice"])
    for attempt in (bob.store.get_item(["alice", "notes"], "plan"),
                    bob.store.put_item(["alice", "notes"], "plan", {"text": "bob was here"}),
                    bob.store.search_items(["alice"]),
                    bob.store.list_namespaces(prefix=["alice"]),
                    bob.store.delete_item(["alice", "notes"], "plan")):
        with pytest.raises(httpx.HTTPStatusError) as caught:
            await attempt
        refused.append(caught.value.response.status_code)
    await bob.store.put_item(["bob", "notes"], "plan", {"text": "his own"})

    assert mine["value"] == {"text": "secret"}
    assert [item["value"] for item in found["items"]] == [{"text": "secret"}]
    assert refused == [403] * 5 and listed["namespaces"]
    assert (await alice.store.get_item(["alice", "notes"], "plan"))["value"] == {"text": "secret"}
    assert (await bob.store.get_item(["bob", "notes"], "plan"))["value"] == {"text": "his own"}


async def test_keys_unset_means_auth_off() -> None:
    os.environ.pop("AGENT_ROUTER_API_KEYS", None)

    user = await authenticate({})

    assert server_api_keys() == {}
    assert user["identity"] == ANONYMOUS


async def test_keys_set_means_a_key_is_required() -> None:
    os.environ["AGENT_ROUTER_API_KEYS"] = "alice:k1, bob:k:2"

    assert server_api_keys() == {"k1": "alice", "k:2": "bob"}
    assert (await authenticate({b"x-api-key": b"k:2"}))["identity"] == "bob"
    assert (await authenticate({b"authorization": b"Bearer k1"}))["identity"] == "alice"
    # Aegra hands the handler decoded strings, with any capitalisation of the name.
    assert (await authenticate({"x-api-key": "k:2"}))["identity"] == "bob"
    assert (await authenticate({"Authorization": "Bearer k1"}))["identity"] == "alice"
    assert user_for_key("k", server_api_keys()) is None


@pytest.mark.parametrize("key", ["namespace", "namespace_prefix", "prefix"])
async def test_the_store_rule_reads_the_namespace_under_each_servers_key(key: str) -> None:
    # langgraph-api names it `namespace`; Aegra `namespace_prefix` (search), `prefix` (list).
    os.environ["AGENT_ROUTER_API_KEYS"] = "alice:k1"
    ctx = Auth.types.AuthContext(user=StudioUser("alice"), permissions=[], resource="store",
                                 action="search")

    await own_store_namespace(ctx, {key: ["alice", "notes"]})
    with pytest.raises(Auth.exceptions.HTTPException) as refused:
        await own_store_namespace(ctx, {key: ["bob"]})
    assert refused.value.status_code == 403


@pytest.mark.parametrize("raw", ["alice", "alice:", ":k1", "alice:k1,bob:k1"])
def test_malformed_keys_are_a_config_error_that_hides_the_keys(raw: str) -> None:
    os.environ["AGENT_ROUTER_API_KEYS"] = raw

    with pytest.raises(GraphConfigError) as error:
        server_api_keys()
    assert error.value.key == "AGENT_ROUTER_API_KEYS"
    assert "k1" not in str(error.value)
