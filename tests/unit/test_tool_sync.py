"""Every tool runs under ``invoke`` and ``ainvoke`` alike, and never blocks the event loop."""

import datetime as dt
import threading
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from blockbuster import BlockingError, blockbuster_ctx
from langchain_core.messages import AIMessage, ToolMessage
from langchain_core.tools import BaseTool
from langgraph.graph import END, START, MessagesState, StateGraph
from langgraph.prebuilt import ToolNode

import tools.search
import tools.zones
from backends.errors import ToolError
from tools import TOOLS, clock
from tools.base import ToolArgs, make_tool, run_sync
from tools.files import make_file_tools
from tools.knowledge import make_knowledge_search

INSTANT = dt.datetime(2026, 11, 24, 3, 5, tzinfo=dt.UTC)

# One call per tool; a tool added to the registry must add its call here.
CALLS: dict[str, dict[str, Any]] = {
    "calculator": {"expression": "2+3"},
    "calendar": {"operation": "weekday", "date": "2027-07-04"},
    "datetime": {"timezone": "Asia/Tokyo", "offset_days": 2},
    "unit_convert": {"value": 1.0, "from_unit": "US gallons", "to_unit": "L"},
    "web_search": {"query": "exact unit conversion"},
    "fetch_url": {"url": "http://127.0.0.1/"},  # refused by the SSRF guard, before any I/O
    "read_file": {"path": "notes.md"},
    "list_files": {},
    "knowledge_search": {"query": "sourdough starter"},
}


class OfflineDDGS:
    """Stands in for duckduckgo_search.DDGS: these tests never touch the network."""

    def __init__(self, timeout: int) -> None:
        self.timeout = timeout

    def text(self, query: str, **_: Any) -> list[dict[str, str]]:
        return [{"title": f"About {query}", "href": "https://example.org/", "body": "Text."}]


@pytest.fixture
def every_tool(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, BaseTool]:
    monkeypatch.setattr(tools.search, "DDGS", OfflineDDGS)
    monkeypatch.setattr(clock, "system_now", lambda zone: INSTANT.astimezone(zone))
    (tmp_path / "notes.md").write_text("A sourdough starter is flour and water.\n")
    built = [*make_file_tools(tmp_path), make_knowledge_search(tmp_path)]
    return {**TOOLS, **{tool.name: tool for tool in built}}


def outcome_of_sync(tool: BaseTool, args: dict[str, Any]) -> str:
    try:
        return str(tool.invoke(dict(args)))
    except ToolError as exc:
        return f"{type(exc).__name__}: {exc}"


async def outcome_of_async(tool: BaseTool, args: dict[str, Any]) -> str:
    try:
        return str(await tool.ainvoke(dict(args)))
    except ToolError as exc:
        return f"{type(exc).__name__}: {exc}"


def test_every_registered_tool_has_a_call_here() -> None:
    assert set(TOOLS) <= set(CALLS)


async def test_invoke_and_ainvoke_agree_for_every_tool(every_tool: dict[str, BaseTool]) -> None:
    assert set(every_tool) == set(CALLS)
    for name, tool in every_tool.items():
        # invoke blocks this test's loop: it runs the coroutine on the tools' own loop.
        sync = outcome_of_sync(tool, CALLS[name])
        assert sync == await outcome_of_async(tool, CALLS[name]), name
        assert "NotImplementedError" not in sync and sync.strip(), name
    assert outcome_of_sync(every_tool["calculator"], CALLS["calculator"]) == "5"
    assert "refusing to fetch" in outcome_of_sync(every_tool["fetch_url"], CALLS["fetch_url"])


def test_invoke_works_in_a_thread_with_no_event_loop(every_tool: dict[str, BaseTool]) -> None:
    results: list[str] = []
    worker = threading.Thread(target=lambda: results.append(
        every_tool["calendar"].invoke(CALLS["calendar"])))
    worker.start()
    worker.join()
    assert results == ["2027-07-04 (Sunday)"]
    assert TOOLS["calculator"].invoke({"expression": "2+3"}) == "5"


def test_a_sync_graph_runs_every_tool_through_a_tool_node(
        every_tool: dict[str, BaseTool]) -> None:
    builder = StateGraph(MessagesState)
    builder.add_node("tools", ToolNode(list(every_tool.values()), handle_tool_errors=ToolError))
    builder.add_edge(START, "tools")
    builder.add_edge("tools", END)
    calls = [{"name": name, "args": args, "id": f"call_{name}"} for name, args in CALLS.items()]
    out = builder.compile().invoke({"messages": [AIMessage(content="", tool_calls=calls)]})
    replies = {m.tool_call_id: m for m in out["messages"] if isinstance(m, ToolMessage)}
    assert set(replies) == {f"call_{name}" for name in CALLS}
    failed = {key for key, reply in replies.items() if reply.status == "error"}
    assert failed == {"call_fetch_url"}, [replies[key].content for key in failed]
    assert replies["call_calendar"].content == "2027-07-04 (Sunday)"
    assert replies["call_unit_convert"].content == "1 US gal = 3.785411784 L"


async def test_a_sync_body_called_on_the_tools_own_loop_is_refused() -> None:
    async def inner() -> str:
        return "x"

    async def calls_invoke_from_the_loop() -> str:
        return str(tool.invoke({}))

    tool = make_tool(inner, name="inner", description="Inner.", args_schema=ToolArgs,
                     risk="safe", network=False, timeout_s=1.0)
    with pytest.raises(RuntimeError, match="own loop"):
        run_sync(calls_invoke_from_the_loop())
    assert tool.invoke({}) == "x"


def cold_caches() -> None:
    tools.zones._zone_keys.cache_clear()
    ZoneInfo.clear_cache()


async def test_offline_tools_do_not_block_the_loop_even_with_cold_caches(
        every_tool: dict[str, BaseTool]) -> None:
    offline = ["calculator", "calendar", "datetime", "unit_convert", "read_file", "list_files",
               "knowledge_search", "web_search"]
    with blockbuster_ctx():  # what `langgraph dev` runs: blocking calls in the loop raise
        for name in offline:
            cold_caches()
            await every_tool[name].ainvoke(dict(CALLS[name]))
        cold_caches()
        await every_tool["calendar"].ainvoke({"operation": "days_until", "date": "12-25",
                                              "timezone": "Pacific/Auckland"})
        with pytest.raises(BlockingError):  # the detector is live
            Path(".").stat()
