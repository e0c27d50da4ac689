"""``read_file`` and ``list_files``: read-only access to the one folder the user shares.

Every path the model names is checked by ``tools.shared_folder`` before any I/O
and again once resolved, links included; ``tools.file_reading`` then opens the
file confined to the folder and reads only regular UTF-8 text, and
``tools.file_listing`` walks the folder without following a link out of it.
All filesystem work runs in ``asyncio.to_thread``, since the tools run in an
event loop that must not block.
"""

import asyncio
from pathlib import Path

from langchain_core.tools import StructuredTool
from pydantic import Field

from tools.base import ToolArgs, make_tool
from tools.file_listing import list_entries
from tools.file_reading import read_text
from tools.shared_folder import SharedFolder, shared_root

__all__ = ["ListFilesArgs", "ReadFileArgs", "make_file_tools"]

MAX_PATH = 512
MAX_CHARS = 32_000
MAX_ENTRIES = 1_000
MAX_PATTERN = 100


class ReadFileArgs(ToolArgs):
    """Arguments of the read_file tool."""

    path: str = Field(
        min_length=1,
        max_length=MAX_PATH,
        description="File path relative to the shared folder, e.g. notes/todo.md.",
    )
    max_chars: int = Field(
        default=8000, ge=1, le=MAX_CHARS, description="Return at most this many characters."
    )


class ListFilesArgs(ToolArgs):
    """Arguments of the list_files tool."""

    path: str = Field(
        default=".",
        min_length=1,
        max_length=MAX_PATH,
        description="Folder to list, relative to the shared folder; '.' is the top.",
    )
    pattern: str = Field(
        default="*",
        min_length=1,
        max_length=MAX_PATTERN,
        description="Glob matched against names (*.md), or against paths if it contains '/'.",
    )
    max_entries: int = Field(
        default=200, ge=1, le=MAX_ENTRIES, description="List at most this many entries."
    )


def make_file_tools(
    root: Path, *, max_bytes: int = 200_000, include_hidden: bool = False
) -> list[StructuredTool]:
    """Build ``read_file`` and ``list_files``, both confined to the folder ``root``.

    Call it at startup, not in a running event loop: it resolves ``root`` on disk.

    Args:
        root: The one folder the model may read; links count only while they stay inside it.
        max_bytes: Largest file ``read_file`` opens.
        include_hidden: Also share names starting with ``.`` (``.env``, ``.git``, ``.ssh``).

    Raises:
        GraphConfigError: ``root`` does not exist, is not a folder, or is ``/``.
        ValueError: ``max_bytes`` is not positive.
    """
    if max_bytes < 1:
        raise ValueError(f"max_bytes must be positive, got {max_bytes}")
    folder = SharedFolder(shared_root(root), max_bytes, include_hidden)

    # Defaults repeat the args models' because LangChain passes only the keys the model sent.
    async def read_file(path: str, max_chars: int = 8000) -> str:
        return await asyncio.to_thread(read_text, folder, path, max_chars)

    async def list_files(path: str = ".", pattern: str = "*", max_entries: int = 200) -> str:
        return await asyncio.to_thread(list_entries, folder, path, pattern, max_entries)

    return [
        make_tool(
            read_file,
            name="read_file",
            description="Read a UTF-8 text file from the user's shared folder, by relative path.",
            args_schema=ReadFileArgs,
            risk="safe",
            topics=["files"],
            network=False,
            timeout_s=10.0,
        ),
        make_tool(
            list_files,
            name="list_files",
            description="List files in the user's shared folder, recursively, with sizes; "
            "filter with a glob such as *.md.",
            args_schema=ListFilesArgs,
            risk="safe",
            topics=["files"],
            network=False,
            timeout_s=10.0,
        ),
    ]
