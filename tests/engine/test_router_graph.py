"""The router graph: classification, tools subgraph, privacy, bounded escalation."""

from pathlib import Path

import pytest

from agents.context import Context
from agents.router.prompts import KIND_OPTIONS, ROUTER_EXAMPLES
from backends.errors import GraphConfigError
from backends.router import reset_breakers
from graphs.router import graph
from tests.wire.config import vllm_at, write_backends
from tests.wire.faulty import FaultyServer, chat_completion, ok


@pytest.fixture
def scripted(tmp_path: Path, monkeypatch, model_path):
    """A config whose 'judge' is a scripted loopback server and 'lan' a non-local one."""
    servers: list[FaultyServer] = []

    def configure(judge_replies: list[str], lan_replies: list[str] = ()) -> tuple:
        judge = FaultyServer([ok(chat_completion(r)) for r in judge_replies])
        lan = FaultyServer([ok(chat_completion(r)) for r in lan_replies])
        for server in (judge, lan):
            server.start()
            servers.append(server)
        path = write_backends(
            tmp_path, {"embedded": {"kind": "embedded"}, "judge": vllm_at(judge.base_url),
                       "lan": vllm_at(lan.base_url, local=False)},
            {"planner": ["embedded"], "answer": ["embedded"], "mixed": ["lan", "embedded"]})
        monkeypatch.setenv("AGENT_ROUTER_CONFIG", str(path))
        reset_breakers()
        return judge, lan

    yield configure
    for server in servers:
        server.stop()


async def test_arithmetic_goes_through_the_tools_subgraph(model_path):
    events, final = [], None
    async for mode, chunk in graph.astream({"request": "What is 17 * 23?"},
                                           stream_mode=["custom", "values"]):
        if mode == "custom":
            events.append(chunk)
        else:
            final = chunk
    assert final["decision"]["route"] in {"chat", "tools"}
    assert "classified it as" in final["decision"]["reason"]
    assert events[0]["event"] == "route" and events[0]["route"] == final["decision"]["route"]
    nodes = [m["node"] for m in final["metrics"]]
    assert nodes[0] == "classify_request" and nodes[-1] == "check_answer"
    if final["decision"]["route"] == "tools":
        assert "write_plan" in nodes and "391" in final["answer"]
    assert final["verdict"] in {"yes", "no"}


async def test_the_classifier_names_a_kind_and_the_kind_picks_the_route(scripted):
    judge, _ = scripted(["fact", "yes"])
    state = await graph.ainvoke({"request": "Which river is the longest?"},
                                context=Context(router_backend="judge"))
    assert state["decision"]["kind"] == "fact" and state["decision"]["route"] == "chat"
    assert "answer_directly" in [m["node"] for m in state["metrics"]]
    asked = judge.requests[0].json()
    assert asked["structured_outputs"] == {"choice": list(KIND_OPTIONS)}
    turns = asked["messages"]
    assert turns[0]["role"] == "system" and turns[-1] == {
        "role": "user", "content": "Which river is the longest?"}
    examples = turns[1:-1]
    assert [t["role"] for t in examples] == ["user", "assistant"] * len(ROUTER_EXAMPLES)
    assert [(q["content"], a["content"]) for q, a in zip(examples[::2], examples[1::2],
                                                        strict=True)] == list(ROUTER_EXAMPLES)


async def test_a_rejected_answer_escalates_exactly_once(scripted):
    judge, _ = scripted(["write", "simple", "no", "no"])
    state = await graph.ainvoke(
        {"request": "Tell me a joke."},
        context=Context(router_backend="judge", escalation_backend="embedded"))
    assert state["decision"]["route"] == "chat" and state["verdict"] == "no"
    assert state["decision"]["complexity"] == "simple"
    assert state["escalated"] is True
    assert [m["node"] for m in state["metrics"]].count("escalate") == 1
    assert state["summary"]["total"]["calls"] == len(state["metrics"]) == 5
    assert len(judge.requests) == 3, "route, complexity, one check: no loop after escalating"


async def test_a_rejected_tool_answer_is_planned_again_on_the_larger_chain(scripted):
    judge, lan = scripted(["math", "no"])  # 'lan' has no reply: its calls fall back
    state = await graph.ainvoke(
        {"request": "What is 17 * 23?"},
        context=Context(router_backend="judge", escalation_backend="mixed"))
    assert state["decision"]["route"] == "tools" and state["escalated"] is True
    nodes = [m["node"] for m in state["metrics"]]
    assert "escalate" not in nodes, "a tool answer is not replaced by a chat answer"
    first_answer = nodes.index("write_answer")
    assert "write_plan" in nodes[first_answer:], "plan-and-execute ran again after the check"
    assert lan.requests, "the second run's model calls went to the escalation chain first"
    assert len(judge.requests) == 2, "route and one check: no check after escalating"


async def test_complex_chat_goes_straight_to_the_larger_backend(scripted):
    judge, lan = scripted(["advice", "complex", "yes"], lan_replies=["a careful long answer"])
    state = await graph.ainvoke(
        {"request": "Design a sharding scheme for our orders table."},
        context=Context(router_backend="judge", escalation_backend="lan"))
    assert state["decision"]["complexity"] == "complex"
    assert "classified it as advice (chat, complex)" in state["decision"]["reason"]
    answer = next(m for m in state["metrics"] if m["node"] == "answer_directly")
    assert answer["backend"] == "lan" and state["answer"] == "a careful long answer"
    assert "escalated" not in state


async def test_a_rejected_complex_answer_is_not_asked_again_of_the_same_backend(scripted):
    judge, lan = scripted(["advice", "complex", "no"],
                          lan_replies=["a careful long answer", "a second answer"])
    state = await graph.ainvoke(
        {"request": "Design a sharding scheme for our orders table."},
        context=Context(router_backend="judge", escalation_backend="lan"))
    assert state["verdict"] == "no" and "escalated" not in state
    assert state["answer"] == "a careful long answer"
    assert len(lan.requests) == 1, "the larger backend answered once: nowhere larger to go"


async def test_no_escalation_without_a_larger_backend(scripted):
    scripted(["greeting", "no"])
    state = await graph.ainvoke({"request": "Hi"}, context=Context(router_backend="judge"))
    assert state["verdict"] == "no" and "escalated" not in state


async def test_an_unknown_escalation_backend_is_refused_before_any_model_call(scripted):
    judge, lan = scripted(["greeting", "yes"])
    with pytest.raises(GraphConfigError) as caught:
        await graph.ainvoke({"request": "Hi"},
                            context=Context(router_backend="judge", escalation_backend="nope"))
    assert caught.value.key == "escalation_backend"
    assert judge.requests == [] and lan.requests == []


async def test_sensitive_requests_never_reach_a_non_local_backend(scripted):
    judge, lan = scripted(["write", "yes"], lan_replies=["from the LAN server"])
    context = Context(router_backend="judge", chat_backend="mixed")
    judge.push(ok(chat_completion("write")), ok(chat_completion("yes")))

    private = await graph.ainvoke({"request": "My salary is 91k. Summarise.",
                                   "sensitive": True}, context=context)
    assert lan.requests == [], "a sensitive request must not be sent to a non-local server"
    assert private["decision"]["local_only"] is True
    assert "local backends only" in private["decision"]["reason"]

    public = await graph.ainvoke({"request": "Summarise the news."}, context=context)
    assert len(lan.requests) == 1 and public["answer"] == "from the LAN server"


async def test_a_sensitive_request_is_not_escalated_to_a_non_local_chain_and_still_answered(
        scripted):
    judge, lan = scripted(["advice", "no"], lan_replies=["from the LAN server"])
    state = await graph.ainvoke(
        {"request": "My blood test says 5.2 mmol/L. Is that fine?", "sensitive": True},
        context=Context(router_backend="judge", escalation_backend="lan"))
    assert lan.requests == [], "escalation must not carry a sensitive request off the machine"
    assert state["decision"]["escalate_to"] == "" and "no escalation" in state["decision"][
        "reason"]
    assert state["decision"]["complexity"] == "simple", "no complexity asked: nowhere to go"
    assert state["answer"] and "escalated" not in state
    assert len(judge.requests) == 2, "route and check only"


async def test_an_answer_too_long_to_check_stands_unchecked_and_is_not_escalated(scripted):
    from tests.wire.error_bodies import vllm_context_error
    from tests.wire.faulty import status

    judge, lan = scripted(["write", "simple"], lan_replies=["from the LAN server"])
    judge.push(status(400, vllm_context_error(512, 900)))
    state = await graph.ainvoke({"request": "Tell me a story."},
                                context=Context(router_backend="judge", chat_backend="lan",
                                                escalation_backend="lan"))
    assert state["verdict"] == "unchecked" and "escalated" not in state
    assert state["answer"] == "from the LAN server"
