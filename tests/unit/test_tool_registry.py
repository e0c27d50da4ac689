import json
import types

import pytest
from langchain_core.messages import AIMessage, ToolMessage
from langchain_core.tools import BaseTool, StructuredTool
from langchain_core.utils.function_calling import convert_to_openai_tool
from langgraph.graph import END, START, MessagesState, StateGraph
from langgraph.prebuilt import ToolNode
from pydantic import BaseModel

import tools
from backends.errors import ToolArgumentError
from tools import TOOLS, ToolInfo, tool_info, tool_schemas
from tools.base import ToolArgs, make_tool


def test_registry_keys_are_tool_names() -> None:
    assert TOOLS
    for key, tool in TOOLS.items():
        assert isinstance(tool, BaseTool)
        assert key == tool.name


@pytest.mark.parametrize("name", sorted(TOOLS))
def test_tool_is_fully_described(name: str) -> None:
    tool = TOOLS[name]
    info = tool_info(tool)
    assert isinstance(info, ToolInfo)
    assert info.risk in ("safe", "network", "side_effect")
    assert info.timeout_s > 0
    assert tool.description and len(tool.description) <= 200
    schema = tool.args_schema
    assert isinstance(schema, type) and issubclass(schema, BaseModel)
    assert schema.model_config.get("extra") == "forbid"
    assert schema.model_json_schema()["properties"]
    assert convert_to_openai_tool(tool)["function"]["name"] == name


def test_tool_info_names_a_tool_without_metadata() -> None:
    async def bare() -> str:
        return "x"

    with pytest.raises(ValueError, match="'bare'.*risk, network, timeout_s"):
        tool_info(StructuredTool.from_function(coroutine=bare, name="bare", description="Bare."))


@pytest.mark.parametrize(
    "bad", [{"risk": "yolo"}, {"timeout_s": 0}, {"timeout_s": True}, {"network": "no"}]
)
def test_make_tool_rejects_bad_metadata(bad: dict[str, object]) -> None:
    async def fine() -> str:
        return "x"

    settings: dict[str, object] = {"risk": "safe", "network": False, "timeout_s": 1.0, **bad}
    with pytest.raises(ValueError):
        make_tool(fine, name="fine", description="Fine.", args_schema=ToolArgs, **settings)


def test_make_tool_requires_an_async_function() -> None:
    def sync() -> str:
        return "x"

    with pytest.raises(TypeError, match="async"):
        make_tool(
            sync,
            name="sync",
            description="Sync.",
            args_schema=ToolArgs,
            risk="safe",
            network=False,
            timeout_s=1.0,
        )


def test_tool_schemas_is_canonical_and_order_independent() -> None:
    first = tool_schemas(TOOLS)
    assert tool_schemas(TOOLS) == first
    assert tool_schemas(dict(reversed(list(TOOLS.items())))) == first
    parsed = json.loads(first)
    assert json.dumps(parsed, sort_keys=True, separators=(",", ":")) == first
    assert [entry["name"] for entry in parsed] == sorted(TOOLS)
    for entry in parsed:
        tool = TOOLS[entry["name"]]
        assert entry["description"] == tool.description
        assert set(entry["parameters"]["properties"]) == set(tool.args)


async def test_tool_node_runs_registry_tools_unchanged() -> None:
    builder = StateGraph(MessagesState)
    builder.add_node("tools", ToolNode(list(TOOLS.values()), handle_tool_errors=ToolArgumentError))
    builder.add_edge(START, "tools")
    builder.add_edge("tools", END)
    calls = [
        {"name": "calculator", "args": {"expression": "17*23"}, "id": "call_1"},
        {"name": "calculator", "args": {"expression": "1/0"}, "id": "call_2"},
    ]
    out = await builder.compile().ainvoke({"messages": [AIMessage(content="", tool_calls=calls)]})
    replies = [m for m in out["messages"] if isinstance(m, ToolMessage)]
    assert [(m.tool_call_id, m.status) for m in replies] == [
        ("call_1", "success"),
        ("call_2", "error"),
    ]
    assert replies[0].content == "391"
    assert "division by zero" in str(replies[1].content)


def test_package_all_matches_its_exports() -> None:
    assert len(tools.__all__) == len(set(tools.__all__))
    for name in tools.__all__:
        assert hasattr(tools, name), name
    public = {
        name
        for name, value in vars(tools).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    }
    assert public == set(tools.__all__)


def test_pick_by_name_and_by_tag():
    from backends.errors import GraphConfigError
    from tools.selection import pick

    assert list(pick(["datetime", "calculator"])) == ["calculator", "datetime"]
    assert set(pick(tags=["math"])) == {"calculator", "unit_convert"}
    assert set(pick(tags=["network"])) == {"fetch_url", "web_search"}
    assert set(pick(tags=["safe", "offline"])) >= {"calculator", "datetime", "unit_convert"}
    assert pick(["web_search"], tags=["safe"]) == {}
    with pytest.raises(GraphConfigError) as caught:
        pick(["calculator", "shell"])
    assert caught.value.key == "tools" and "shell" in str(caught.value)


def test_every_tool_is_tagged_with_its_risk_and_network_use():
    for name, tool in TOOLS.items():
        info = tool_info(tool)
        assert info.risk in tool.tags, name
        assert ("network" if info.network else "offline") in tool.tags, name
