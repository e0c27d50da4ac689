"""web_search with injected fake backends: no network, no DuckDuckGo."""

import asyncio
import threading
import warnings
from typing import Any

import pytest
from duckduckgo_search.exceptions import (
    ConversationLimitException,
    DuckDuckGoSearchException,
    RatelimitException,
    TimeoutException,
)

from backends.errors import ToolError
from tools import search as search_module
from tools import tool_info
from tools.runner import run_tool
from tools.search import ddgs_backend, format_results, make_web_search, translate, web_search

RESULTS = [
    {"title": "Python  docs", "href": "https://docs.python.org/3/", "body": "The official\ndocs."},
    {"title": "PEP 8", "href": "https://peps.python.org/pep-0008/", "body": "Style guide."},
    {"title": "", "href": "https://example.org/", "body": ""},
]


class FakeBackend:
    def __init__(self, results: list[dict[str, str]] | None = None) -> None:
        self.results = RESULTS if results is None else results
        self.calls: list[tuple[str, str, str | None, int]] = []
        self.threads: list[threading.Thread] = []

    def __call__(
        self, query: str, region: str, timelimit: str | None, max_results: int
    ) -> list[dict[str, str]]:
        self.calls.append((query, region, timelimit, max_results))
        self.threads.append(threading.current_thread())
        return self.results


def raising(exc: BaseException) -> FakeBackend:
    class Raising(FakeBackend):
        def __call__(self, *args: Any) -> list[dict[str, str]]:
            raise exc

    return Raising()


async def test_results_are_a_numbered_list_of_title_url_snippet() -> None:
    backend = FakeBackend()
    text = await make_web_search(backend).ainvoke({"query": "python style"})
    assert text == (
        "1. Python docs\n   https://docs.python.org/3/\n   The official docs.\n"
        "2. PEP 8\n   https://peps.python.org/pep-0008/\n   Style guide.\n"
        "3. (no title)\n   https://example.org/"
    )
    assert backend.calls == [("python style", "wt-wt", None, 5)]
    assert backend.threads[0] is not threading.main_thread()  # never on the event loop's thread


async def test_arguments_reach_the_backend_and_results_are_capped() -> None:
    backend = FakeBackend([{"title": f"t{i}", "href": f"https://e.org/{i}"} for i in range(9)])
    tool = make_web_search(backend)
    text = await tool.ainvoke({"query": "q", "max_results": 2, "region": "de-de", "timelimit": "w"})
    assert text == "1. t0\n   https://e.org/0\n2. t1\n   https://e.org/1"
    assert backend.calls == [("q", "de-de", "w", 2)]


def test_long_fields_are_bounded() -> None:
    text = format_results([{"title": "T" * 500, "href": "https://e.org/", "body": "b " * 500}], 5)
    title, url, snippet = text.split("\n")
    assert len(title) == len("1. ") + 150 and title.endswith("...")
    assert len(snippet) == len("   ") + 300 and snippet.endswith("b...")
    assert url == "   https://e.org/"


async def test_no_results_says_so() -> None:
    text = await make_web_search(FakeBackend([])).ainvoke({"query": "zzqx"})
    assert text == "no results for 'zzqx'"


@pytest.mark.parametrize(
    ("exc", "message"),
    [
        (RatelimitException("https://duckduckgo.com 202 Ratelimit"), "web search is rate-limited"),
        # DDGS.text wraps each engine's failure as DuckDuckGoSearchException(err).
        (DuckDuckGoSearchException(RatelimitException("429")), "web search is rate-limited"),
        (TimeoutException("read timed out"), "web search timed out; try later"),
        (DuckDuckGoSearchException(TimeoutException("x")), "web search timed out"),
        (DuckDuckGoSearchException("error sending request"), "web search unavailable: offline?"),
        (ConversationLimitException("limit"), "web search unavailable: offline?"),
        (ConnectionError("Network is unreachable"), "web search unavailable: offline?"),
        (OSError(101, "Network is unreachable"), "web search unavailable: offline?"),
    ],
)
async def test_backend_failures_become_clear_tool_errors(exc: Exception, message: str) -> None:
    with pytest.raises(ToolError) as caught:
        await make_web_search(raising(exc)).ainvoke({"query": "q"})
    assert str(caught.value).startswith(message)
    assert caught.value.tool == "web_search"
    assert caught.value.__cause__ is exc


def test_translate_leaves_other_errors_alone() -> None:
    assert translate(ValueError("a bug")) is None
    assert translate(DuckDuckGoSearchException("x")) is not None


async def test_a_bug_in_the_backend_is_not_disguised() -> None:
    with pytest.raises(KeyError):
        await make_web_search(raising(KeyError("title"))).ainvoke({"query": "q"})


async def test_slow_backend_times_out_on_time() -> None:
    release = threading.Event()

    def stuck(query: str, region: str, timelimit: str | None, max_results: int) -> list[Any]:
        release.wait(120)  # set when the test ends: only the tool's own limit can end the call
        return []

    try:
        async with asyncio.timeout(60):
            with pytest.raises(ToolError, match=r"web search timed out after 0\.1s"):
                await make_web_search(stuck, timeout_s=0.1).ainvoke({"query": "q"})
    finally:
        release.set()  # lets the worker thread end before the loop shuts its executor


async def test_slow_backend_through_the_runner_gets_the_tools_own_message() -> None:
    release = threading.Event()

    def stuck(query: str, region: str, timelimit: str | None, max_results: int) -> list[Any]:
        release.wait(120)  # set when the test ends: only the tool's own limit can end the call
        return []

    tool = make_web_search(stuck, timeout_s=0.1)
    try:
        async with asyncio.timeout(60):
            result = await run_tool("web_search", {"query": "q"}, tools={"web_search": tool})
    finally:
        release.set()
    assert result["status"] == "error"
    assert result["output"] == "web search timed out after 0.1s; try again later"


@pytest.mark.parametrize(
    ("args", "words"),
    [
        ({"query": "q", "region": "US"}, ["region", "should match pattern"]),
        ({"query": "q", "region": "usa-en"}, ["region", "should match pattern"]),
        ({"query": "q", "region": "us_en"}, ["region"]),
        ({"query": "q", "timelimit": "h"}, ["timelimit", "'d', 'w', 'm' or 'y'"]),
        ({"query": "q", "timelimit": "day"}, ["timelimit"]),
        ({"query": ""}, ["query", "at least 1 character"]),
        ({"query": "   "}, ["query", "should match pattern"]),
        ({"query": "q" * 301}, ["query", "at most 300"]),
        ({"query": "q", "max_results": 0}, ["max_results", "greater than or equal to 1"]),
        ({"query": "q", "max_results": 21}, ["max_results", "less than or equal to 20"]),
        ({"query": "q", "max_results": "5"}, ["max_results", "valid integer"]),
        ({}, ["query", "Field required"]),
        ({"q": "python"}, ["q", "Extra inputs"]),
    ],
)
async def test_runner_reports_invalid_arguments_the_model_can_fix(
    args: dict[str, object], words: list[str]
) -> None:
    backend = FakeBackend()
    result = await run_tool(
        "web_search", dict(args), tools={"web_search": make_web_search(backend)}
    )
    assert result["status"] == "error"
    for word in words:
        assert word in result["output"]
    assert "Expected: web_search(query: string" in result["output"]
    assert backend.calls == []


async def test_runner_runs_a_valid_search() -> None:
    tools = {"web_search": make_web_search(FakeBackend())}
    result = await run_tool("web_search", {"query": "python", "timelimit": "m"}, tools=tools)
    assert result["status"] == "ok"
    assert result["output"].startswith("1. Python docs\n")


def test_default_tool_metadata() -> None:
    info = tool_info(web_search)
    assert (info.risk, info.network, info.timeout_s) == ("network", True, 15.0)
    assert web_search.name == "web_search"


def test_ddgs_backend_passes_arguments_and_contains_its_warnings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    made: list[dict[str, Any]] = []

    class FakeDDGS:
        # Mimics duckduckgo_search 8.1: a rename warning and a process-wide filter change.
        def __init__(self, timeout: int | None = 10) -> None:
            warnings.simplefilter("always")
            warnings.warn("duckduckgo_search was renamed to ddgs", RuntimeWarning, stacklevel=2)
            made.append({"timeout": timeout})

        def text(self, keywords: str, **kwargs: Any) -> list[dict[str, str]]:
            made.append({"keywords": keywords, **kwargs})
            return RESULTS

    monkeypatch.setattr(search_module, "DDGS", FakeDDGS)
    filters_before = list(warnings.filters)
    assert ddgs_backend(2.5)("q", "fr-fr", "d", 3) == RESULTS
    assert list(warnings.filters) == filters_before
    assert made == [
        {"timeout": 3},
        {"keywords": "q", "region": "fr-fr", "timelimit": "d", "max_results": 3},
    ]
