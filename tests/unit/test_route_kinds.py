"""The router's classifier: the kinds it may name, the route each picks, its prompt."""

from langchain_core.messages import AIMessage, HumanMessage, SystemMessage

from agents.router.prompts import (
    KIND_OPTIONS,
    REQUEST_KINDS,
    ROUTE_OF_KIND,
    ROUTER_EXAMPLES,
    ROUTER_SYSTEM,
    router_messages,
)


def test_every_kind_routes_to_chat_or_tools_and_both_routes_are_reachable():
    assert set(ROUTE_OF_KIND) == set(KIND_OPTIONS) == set(REQUEST_KINDS)
    assert set(ROUTE_OF_KIND.values()) == {"chat", "tools"}


def test_the_talk_kinds_are_offered_before_the_tool_kinds():
    routes = [ROUTE_OF_KIND[kind] for kind in KIND_OPTIONS]
    assert routes == sorted(routes), "chat kinds first, then tool kinds"
    listed = [line.split(":")[0] for line in ROUTER_SYSTEM.splitlines()[1:len(KIND_OPTIONS) + 1]]
    assert listed == list(KIND_OPTIONS), "the system text lists the kinds in the same order"


def test_the_examples_name_kinds_and_show_every_kind():
    assert {kind for _, kind in ROUTER_EXAMPLES} == set(KIND_OPTIONS)


def test_the_examples_are_earlier_turns_and_the_request_comes_last():
    messages = router_messages("How far is the Moon?")
    assert isinstance(messages[0], SystemMessage) and messages[0].content == ROUTER_SYSTEM
    assert isinstance(messages[-1], HumanMessage) and messages[-1].content == "How far is the Moon?"
    pairs = list(zip(messages[1:-1:2], messages[2:-1:2], strict=True))
    assert all(isinstance(q, HumanMessage) and isinstance(a, AIMessage) for q, a in pairs)
    assert [(q.content, a.content) for q, a in pairs] == list(ROUTER_EXAMPLES)
