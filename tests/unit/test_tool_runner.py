import asyncio
import json
import logging
from collections.abc import Awaitable, Callable

import pytest
from langchain_core.tools import BaseTool, StructuredTool

from backends.errors import ToolError
from tools import run_tool, run_tools
from tools.base import ToolArgs, make_tool


class NoArgs(ToolArgs):
    pass


class CountArgs(ToolArgs):
    n: int


def fake_tool(
    name: str,
    coroutine: Callable[..., Awaitable[str]],
    *,
    args_schema: type[ToolArgs] = NoArgs,
    timeout_s: float = 5.0,
) -> BaseTool:
    return make_tool(
        coroutine,
        name=name,
        description=f"Fake {name} tool for tests.",
        args_schema=args_schema,
        risk="safe",
        network=False,
        timeout_s=timeout_s,
    )


async def test_ok_path_returns_the_output_and_metadata() -> None:
    args = {"expression": "17*23"}
    result = await run_tool("calculator", args)
    assert result["status"] == "ok"
    assert result["output"] == "391"
    assert result["tool"] == "calculator"
    assert result["args"] == args
    assert result["args"] is not args
    assert 0 <= result["latency_ms"] < 5000
    assert json.loads(json.dumps(result)) == result


async def test_unknown_tool_lists_the_available_ones() -> None:
    result = await run_tool("weather", {"city": "Paris"})
    assert result["status"] == "error"
    assert "unknown tool 'weather'" in result["output"]
    assert "calculator, calendar, datetime" in result["output"]


async def test_tool_error_becomes_an_error_result() -> None:
    result = await run_tool("calculator", {"expression": "1/0"})
    assert result["status"] == "error"
    assert result["output"] == "division by zero in '1/0': change the expression"


@pytest.mark.parametrize(
    ("args", "words"),
    [
        ({}, ["expression", "Field required", "Expected: calculator(expression: string)"]),
        ({"expression": [1, 2]}, ["expression", "valid string", "[1, 2]"]),
        ({"expression": 17}, ["expression", "valid string"]),
        ({"expression": ""}, ["expression", "at least 1 character"]),
        ({"expression": "1" * 201}, ["expression", "at most 200"]),
        ({"expression": "1+1", "precision": 3}, ["precision", "Extra inputs"]),
    ],
)
async def test_invalid_calculator_arguments_explain_the_field(
    args: dict[str, object], words: list[str]
) -> None:
    result = await run_tool("calculator", dict(args))
    assert result["status"] == "error"
    for word in words:
        assert word in result["output"]
    assert result["output"].count("\n") <= 1


@pytest.mark.parametrize("bad", [[1, 2], "5", 5.0, True, None])
async def test_invalid_arguments_never_reach_the_tool(bad: object) -> None:
    calls: list[int] = []

    async def count(n: int) -> str:
        calls.append(n)
        return str(n)

    tools = {"count": fake_tool("count", count, args_schema=CountArgs)}
    assert (await run_tool("count", {"n": 5}, tools=tools))["output"] == "5"
    result = await run_tool("count", {"n": bad}, tools=tools)
    assert result["status"] == "error"
    assert "n: Input should be a valid integer" in result["output"]
    assert calls == [5]


async def test_slow_tool_times_out_at_its_own_limit() -> None:
    async def slow() -> str:
        await asyncio.sleep(120)  # only the tool's 0.05 s limit can end this in time
        return "too late"

    tools = {"slow": fake_tool("slow", slow, timeout_s=0.05)}
    async with asyncio.timeout(60):
        result = await run_tool("slow", {}, tools=tools)
    assert result["status"] == "error"
    assert result["output"] == "tool 'slow' timed out after 0.05s"


async def test_crashing_tool_is_reported_and_logged(caplog: pytest.LogCaptureFixture) -> None:
    async def broken() -> str:
        raise RuntimeError("disk on fire")

    with caplog.at_level(logging.ERROR, logger="tools.runner"):
        result = await run_tool("broken", {}, tools={"broken": fake_tool("broken", broken)})
    assert result["status"] == "error"
    assert "RuntimeError" in result["output"]
    assert "disk on fire" in result["output"]
    [record] = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert record.exc_info is not None
    assert record.exc_info[0] is RuntimeError


async def test_tools_own_timeout_error_is_a_crash_not_a_timeout(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def impatient() -> str:
        raise TimeoutError("upstream gave up")

    with caplog.at_level(logging.ERROR, logger="tools.runner"):
        result = await run_tool(
            "impatient", {}, tools={"impatient": fake_tool("impatient", impatient)}
        )
    assert result["status"] == "error"
    assert "TimeoutError: upstream gave up" in result["output"]
    assert any(r.exc_info for r in caplog.records)


async def test_plain_tool_error_message_is_passed_through() -> None:
    async def refuses() -> str:
        raise ToolError("quota exhausted, try tomorrow", tool="refuses")

    result = await run_tool("refuses", {}, tools={"refuses": fake_tool("refuses", refuses)})
    assert result["status"] == "error"
    assert result["output"] == "quota exhausted, try tomorrow"


async def test_tool_without_metadata_is_a_programming_error() -> None:
    async def bare() -> str:
        return "x"

    bare_tool = StructuredTool.from_function(coroutine=bare, name="bare", description="Bare.")
    with pytest.raises(ValueError, match="'bare'"):
        await run_tool("bare", {}, tools={"bare": bare_tool})


async def test_run_tools_runs_calls_concurrently_and_keeps_call_order() -> None:
    ping_started, pong_started = asyncio.Event(), asyncio.Event()

    # Each waits for the other to start: run one after the other, they deadlock.
    async def ping() -> str:
        ping_started.set()
        await pong_started.wait()
        await asyncio.sleep(0.01)  # finishes after pong, so order cannot come from completion
        return "ping"

    async def pong() -> str:
        pong_started.set()
        await ping_started.wait()
        return "pong"

    tools = {"ping": fake_tool("ping", ping), "pong": fake_tool("pong", pong)}
    async with asyncio.timeout(60):  # a deadlock, not a speed limit
        results = await run_tools([("ping", {}), ("pong", {}), ("nope", {})], tools=tools)
    assert [(r["tool"], r["status"], r["output"]) for r in results[:2]] == [
        ("ping", "ok", "ping"),
        ("pong", "ok", "pong"),
    ]
    assert results[2]["status"] == "error"


async def test_run_tools_with_the_default_registry() -> None:
    results = await run_tools(
        [("calculator", {"expression": "2**10"}), ("calculator", {"expression": "7//2"})]
    )
    assert [r["output"] for r in results] == ["1024", "3"]


async def test_a_long_output_is_cut_before_it_reaches_a_prompt_saying_so() -> None:
    from tools.runner import MAX_OUTPUT_CHARS

    async def verbose() -> str:
        return "word " * 5000

    result = await run_tool("verbose", {}, tools={"verbose": fake_tool("verbose", verbose)})
    assert result["status"] == "ok" and len(result["output"]) == MAX_OUTPUT_CHARS
    assert result["output"].startswith("[cut: the first part of 25000 characters]")


async def test_a_huge_integer_result_is_stated_with_its_digit_count() -> None:
    result = await run_tool("calculator", {"expression": "999 ** 999"})
    assert result["status"] == "ok"
    assert result["output"].startswith("an integer of 2997 digits, about 3.6806348825")
    assert len(result["output"]) < 100
