import asyncio
import os
import threading
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import Any

import pytest
from blockbuster import BlockingError, blockbuster_ctx
from langchain_core.tools import BaseTool

from backends.errors import GraphConfigError, ToolArgumentError, ToolError
from tools.base import tool_info
from tools.files import ListFilesArgs, ReadFileArgs, make_file_tools
from tools.runner import run_tool
from tools.shared_folder import SharedFolder as _Folder

SECRET = "root:x:0:0:secret outside the shared folder\n"


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    folder = tmp_path / "outside"
    folder.mkdir()
    (folder / "passwd").write_text(SECRET)
    return folder


@pytest.fixture
def root(tmp_path: Path, outside: Path) -> Path:
    shared = tmp_path / "shared"
    (shared / "notes" / "deep").mkdir(parents=True)
    (shared / "docs").mkdir()
    (shared / "readme.md").write_text("# Hello\n\nShared notes.\n")
    (shared / "notes" / "todo.md").write_text("- buy milk\n")
    (shared / "notes" / "ideas.txt").write_text("ideas\n")
    (shared / "notes" / "deep" / "plan.md").write_text("plan\n")
    (shared / "docs" / "guide.md").write_text("guide\n")
    (shared / ".env").write_text("API_KEY=hunter2\n")
    (shared / "link_out.txt").symlink_to(outside / "passwd")
    (shared / "dir_out").symlink_to(outside)
    (shared / "link_in.md").symlink_to(shared / "notes" / "todo.md")
    (shared / "link_hidden.txt").symlink_to(shared / ".env")
    return shared


@pytest.fixture
def tools(root: Path) -> dict[str, BaseTool]:
    return {tool.name: tool for tool in make_file_tools(root, max_bytes=1_000)}


async def read(tools: dict[str, BaseTool], path: str, **args: Any) -> str:
    result: str = await tools["read_file"].ainvoke({"path": path, **args})
    return result


async def listing(tools: dict[str, BaseTool], **args: Any) -> str:
    result: str = await tools["list_files"].ainvoke(args)
    return result


def test_factory_builds_two_safe_offline_tools(tools: dict[str, BaseTool]) -> None:
    assert sorted(tools) == ["list_files", "read_file"]
    for tool in tools.values():
        info = tool_info(tool)
        assert (info.risk, info.network) == ("safe", False)
        assert len(tool.description) <= 200
    assert tools["read_file"].args_schema is ReadFileArgs
    assert tools["list_files"].args_schema is ListFilesArgs


async def test_reads_text_files_by_relative_path(tools: dict[str, BaseTool]) -> None:
    assert await read(tools, "readme.md") == "# Hello\n\nShared notes.\n"
    assert await read(tools, "notes/todo.md") == "- buy milk\n"
    assert await read(tools, "./notes/deep/plan.md") == "plan\n"
    assert await read(tools, "link_in.md") == "- buy milk\n"  # a link that stays inside


async def test_truncates_to_max_chars_and_says_so(tools: dict[str, BaseTool]) -> None:
    text = await read(tools, "readme.md", max_chars=7)
    assert text.startswith("# Hello\n[truncated: showed 7 of 23 characters]")


ESCAPES = [
    ("../outside/passwd", "'..'"),
    ("/etc/passwd", "absolute"),
    ("a/../../outside/passwd", "'..'"),
    ("notes/../../outside/passwd", "'..'"),
    ("~/.ssh/id_rsa", "home folder"),
    ("~root/.bashrc", "home folder"),
    ("notes/todo.md\x00.png", "NUL"),
    ("C:/Windows/win.ini", "absolute"),
    ("..\\outside\\passwd", "contains '\\'"),
    ("link_out.txt", "link out of the shared folder"),
    ("dir_out/passwd", "link out of the shared folder"),
    (".env", "hidden"),
    ("notes/../.env", "'..'"),
    ("link_hidden.txt", "hidden"),
]


@pytest.mark.parametrize(("path", "reason"), ESCAPES)
async def test_refuses_paths_that_leave_the_folder(
    tools: dict[str, BaseTool], path: str, reason: str
) -> None:
    with pytest.raises(ToolArgumentError) as caught:
        await read(tools, path)
    message = str(caught.value)
    assert reason in message
    assert "secret" not in message
    assert "outside/passwd" not in message.replace(path, "")  # the link target stays hidden
    assert caught.value.tool == "read_file"


@pytest.mark.parametrize(("path", "reason"), ESCAPES)
async def test_list_files_refuses_the_same_paths(
    tools: dict[str, BaseTool], path: str, reason: str
) -> None:
    with pytest.raises(ToolArgumentError) as caught:
        await listing(tools, path=path)
    assert reason in str(caught.value)
    assert caught.value.tool == "list_files"


async def test_refuses_a_folder_in_the_middle_of_the_path_that_links_out(
    root: Path, tools: dict[str, BaseTool], outside: Path
) -> None:
    (outside / "sub").mkdir()
    (outside / "sub" / "key.txt").write_text(SECRET)
    (root / "notes" / "escape").symlink_to(outside / "sub")
    with pytest.raises(ToolArgumentError, match="link out of the shared folder"):
        await read(tools, "notes/escape/key.txt")


@pytest.mark.parametrize("path", ["link_out.txt", "dir_out/passwd"])
async def test_a_link_swapped_in_after_the_check_is_refused_at_open(
    tools: dict[str, BaseTool], monkeypatch: pytest.MonkeyPatch, path: str
) -> None:
    # Skip the resolve check, as if the link appeared between the check and the open.
    monkeypatch.setattr(_Folder, "inside", lambda self, path, tool: PurePosixPath(path))
    # O_NOFOLLOW|O_DIRECTORY on a link to a folder fails with ENOTDIR on Linux.
    with pytest.raises(ToolArgumentError, match="became a link|no such file"):
        await read(tools, path)


async def test_a_link_loop_is_refused_and_not_listed(
    root: Path, tools: dict[str, BaseTool]
) -> None:
    (root / "loop").symlink_to(root / "loop")
    with pytest.raises(ToolArgumentError, match="cannot resolve 'loop'"):
        await read(tools, "loop")
    assert "loop" not in await listing(tools)


async def test_refuses_a_fifo_without_blocking(root: Path, tools: dict[str, BaseTool]) -> None:
    os.mkfifo(root / "pipe")
    with pytest.raises(ToolArgumentError, match="not a regular file"):
        await asyncio.wait_for(read(tools, "pipe"), timeout=5)


async def test_refuses_folders(tools: dict[str, BaseTool]) -> None:
    for path in ("notes", ".", "notes/deep/"):
        with pytest.raises(ToolArgumentError, match="is a folder: use list_files"):
            await read(tools, path)


@pytest.mark.parametrize(
    "content", [b"PK\x03\x04\x00\x00binary", b"\xff\xfe\xfa not utf-8", b"ok\x00"]
)
async def test_refuses_binary_files(root: Path, tools: dict[str, BaseTool], content: bytes) -> None:
    (root / "blob.bin").write_bytes(content)
    with pytest.raises(ToolArgumentError, match="'blob.bin' is not a text file"):
        await read(tools, "blob.bin")


async def test_refuses_files_over_the_size_cap(root: Path, tools: dict[str, BaseTool]) -> None:
    (root / "exact.txt").write_text("x" * 1_000)
    (root / "big.txt").write_text("x" * 1_001)
    assert await read(tools, "exact.txt", max_chars=2_000) == "x" * 1_000
    with pytest.raises(ToolArgumentError, match="'big.txt' is 1001 bytes, over .* 1000 bytes"):
        await read(tools, "big.txt")


async def test_missing_file_names_only_the_given_path(
    root: Path, tools: dict[str, BaseTool]
) -> None:
    for path in ("nope.md", "notes/nope/deeper.md", "readme.md/child"):
        with pytest.raises(ToolArgumentError) as caught:
            await read(tools, path)
        assert str(caught.value) == f"no such file: {path!r}; use list_files to see what exists"
        assert str(root) not in str(caught.value)


async def test_unreadable_file_is_a_tool_error_without_the_root_path(
    root: Path, tools: dict[str, BaseTool], monkeypatch: pytest.MonkeyPatch
) -> None:
    (root / "locked.txt").write_text("x")
    real_open = os.open

    def denying_open(path: Any, *args: Any, **kwargs: Any) -> int:
        if str(path).endswith("locked.txt"):  # chmod 0 does not stop root, who may run tests
            raise PermissionError(13, "Permission denied", str(root / "locked.txt"))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(os, "open", denying_open)
    with pytest.raises(ToolError) as caught:
        await read(tools, "locked.txt")
    assert not isinstance(caught.value, ToolArgumentError)
    assert str(caught.value) == "cannot read 'locked.txt': permission denied"


async def test_lists_everything_sorted_with_sizes_and_folder_slashes(
    tools: dict[str, BaseTool],
) -> None:
    assert (await listing(tools)).splitlines() == [
        "docs/",
        "docs/guide.md  (6 bytes)",
        "link_in.md  (11 bytes)",
        "notes/",
        "notes/deep/",
        "notes/deep/plan.md  (5 bytes)",
        "notes/ideas.txt  (6 bytes)",
        "notes/todo.md  (11 bytes)",
        "readme.md  (23 bytes)",
    ]  # no .env, no links out, no link to a hidden file


async def test_lists_a_subfolder_with_paths_from_the_top(tools: dict[str, BaseTool]) -> None:
    assert (await listing(tools, path="notes/deep")).splitlines() == [
        "notes/deep/plan.md  (5 bytes)"
    ]


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        (
            "*.md",
            ["docs/guide.md", "link_in.md", "notes/deep/plan.md", "notes/todo.md", "readme.md"],
        ),
        ("*.TXT", ["notes/ideas.txt"]),
        ("notes/*.md", ["notes/deep/plan.md", "notes/todo.md"]),
        ("d*", ["docs/", "notes/deep/"]),
        ("*.pdf", []),
    ],
)
async def test_filters_by_pattern(
    tools: dict[str, BaseTool], pattern: str, expected: list[str]
) -> None:
    text = await listing(tools, pattern=pattern)
    if not expected:
        assert text == f"nothing under '.' matches {pattern!r}"
        return
    assert [line.split("  ")[0] for line in text.splitlines()] == expected


async def test_caps_entries_with_a_note(tools: dict[str, BaseTool]) -> None:
    lines = (await listing(tools, max_entries=3)).splitlines()
    assert lines == [
        "docs/",
        "docs/guide.md  (6 bytes)",
        "link_in.md  (11 bytes)",
        "[showing 3 of 9: narrow path or pattern]",
    ]


async def test_list_files_explains_files_and_missing_folders(tools: dict[str, BaseTool]) -> None:
    with pytest.raises(ToolArgumentError, match="'readme.md' is a file: use read_file"):
        await listing(tools, path="readme.md")
    with pytest.raises(ToolArgumentError, match="no such folder: 'gone'"):
        await listing(tools, path="gone")


async def test_hidden_files_can_be_shared_explicitly(root: Path) -> None:
    tools = {tool.name: tool for tool in make_file_tools(root, include_hidden=True)}
    assert await read(tools, ".env") == "API_KEY=hunter2\n"
    assert ".env  (16 bytes)" in await listing(tools)


async def test_file_io_runs_off_the_event_loop(
    tools: dict[str, BaseTool], monkeypatch: pytest.MonkeyPatch
) -> None:
    loop_thread = threading.get_ident()
    calls: list[int] = []

    def spy(original: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            calls.append(threading.get_ident())
            return original(*args, **kwargs)

        return wrapper

    monkeypatch.setattr(os, "open", spy(os.open))
    monkeypatch.setattr(os, "scandir", spy(os.scandir))
    await read(tools, "notes/todo.md")
    await listing(tools)
    assert calls
    assert loop_thread not in calls


async def test_tools_pass_langgraph_devs_blocking_io_detector(root: Path) -> None:
    tools = {tool.name: tool for tool in make_file_tools(root)}
    with blockbuster_ctx():  # what `langgraph dev` runs: blocking calls in the loop raise
        assert await read(tools, "notes/todo.md") == "- buy milk\n"
        assert "readme.md" in await listing(tools)
        with pytest.raises(ToolArgumentError, match="no such file"):
            await read(tools, "missing.md")
        with pytest.raises(BlockingError):  # the detector is live
            os.stat(root)


def test_missing_root_is_a_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(GraphConfigError, match="does not exist"):
        make_file_tools(tmp_path / "missing")
    (tmp_path / "file.txt").write_text("x")
    with pytest.raises(GraphConfigError, match="is not a folder"):
        make_file_tools(tmp_path / "file.txt")
    with pytest.raises(GraphConfigError, match="whole filesystem"):
        make_file_tools(Path("/"))


async def test_runner_reports_refusals_and_bad_arguments(tools: dict[str, BaseTool]) -> None:
    escaped = await run_tool("read_file", {"path": "../outside/passwd"}, tools=tools)
    assert escaped["status"] == "error"
    assert "'..'" in escaped["output"]
    for args, field in [
        ({"path": "x" * 513}, "path"),
        ({"path": ""}, "path"),
        ({"path": "a.md", "max_chars": 0}, "max_chars"),
        ({"path": "a.md", "encoding": "latin-1"}, "encoding"),
    ]:
        result = await run_tool("read_file", args, tools=tools)
        assert result["status"] == "error"
        assert field in result["output"]
    bad_cap = await run_tool("list_files", {"max_entries": 1001}, tools=tools)
    assert "max_entries" in bad_cap["output"]
