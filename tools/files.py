"""``read_file`` and ``list_files``: read-only access to the one folder the user shares.

The model names files by paths relative to that root, and every path passes
two checks. Before any I/O it is refused when it is absolute, starts with
``~``, contains ``..``, a backslash or a NUL, or names a hidden entry (a name
starting with ``.``, unless the tools were built with ``include_hidden``).
Then it is resolved, symbolic links included, and must still lie inside the
resolved root, so a link anywhere along the path cannot lead out. On POSIX the
file is finally opened one component at a time from a descriptor of the root
with ``O_NOFOLLOW``, so a link swapped in after the check is refused too. Only
regular UTF-8 text files up to ``max_bytes`` are read: FIFOs and devices are
refused from ``lstat`` without ever being opened.

Messages name paths as the model wrote them, never the root's location on
disk. All filesystem work runs in ``asyncio.to_thread``, since the tools run
in an event loop that must not block.
"""

import asyncio
import errno
import fnmatch
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from langchain_core.tools import StructuredTool
from pydantic import Field

from backends.errors import GraphConfigError, ToolArgumentError, ToolError
from tools.base import ToolArgs, make_tool

__all__ = ["ListFilesArgs", "ReadFileArgs", "make_file_tools", "shared_root"]

MAX_PATH = 512
MAX_CHARS = 32_000
MAX_ENTRIES = 1_000
MAX_PATTERN = 100
# Bounds the work of one list_files call: a thread cannot be cancelled on timeout.
MAX_SCANNED = 20_000

# os.open descriptors are already close-on-exec (PEP 446).
_FILE_FLAGS = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
_DIR_FLAGS = _FILE_FLAGS | getattr(os, "O_DIRECTORY", 0)
_CONFINED_OPEN = os.open in os.supports_dir_fd and os.stat in os.supports_dir_fd
_DRIVE = re.compile(r"^[A-Za-z]:")
_EXAMPLE = "give a path relative to the shared folder, e.g. notes/todo.md"
_SEE_LIST = "use list_files to see what exists"


def _refuse_read(message: str) -> ToolArgumentError:
    return ToolArgumentError(message, tool="read_file")


def _syntax_problem(path: str) -> str | None:
    if "\x00" in path:
        return "contains a NUL character"
    if "\\" in path:
        return "contains '\\' (separate folders with '/')"
    if path.startswith("~"):
        return "is in a home folder, which is not shared"
    if path.startswith("/") or _DRIVE.match(path):
        return "is absolute"
    if ".." in PurePosixPath(path).parts:
        return "contains '..'"
    return None


def shared_root(root: Path) -> Path:
    """Resolve a folder the user shares with the tools, checking that it can be shared.

    Raises:
        GraphConfigError: The folder does not exist, is not a folder, or is
            the filesystem root.
    """
    try:
        real = Path(root).expanduser().resolve(strict=True)
    except (OSError, RuntimeError) as exc:  # RuntimeError: a link loop before Python 3.13
        raise GraphConfigError(
            f"shared folder {str(root)!r} does not exist: create it or configure another folder"
        ) from exc
    if not real.is_dir():
        raise GraphConfigError(f"shared folder {str(root)!r} is not a folder")
    if real == Path(real.anchor):
        raise GraphConfigError(f"refusing to share the whole filesystem ({str(root)!r})")
    return real


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


@dataclass(frozen=True)
class _Folder:
    real: Path
    max_bytes: int
    include_hidden: bool

    def _hidden(self, relative: PurePosixPath) -> bool:
        return not self.include_hidden and any(part.startswith(".") for part in relative.parts)

    def inside(self, path: str, tool: str) -> PurePosixPath:
        """Check ``path`` and return it resolved, relative to the root."""
        problem = _syntax_problem(path)
        if problem:
            raise ToolArgumentError(f"path {path!r} {problem}: {_EXAMPLE}", tool=tool)
        hidden = f"{path!r} is hidden (a name starts with '.'): hidden files are not shared"
        relative = PurePosixPath(path)
        if self._hidden(relative):
            raise ToolArgumentError(hidden, tool=tool)
        try:
            resolved = self.real.joinpath(*relative.parts).resolve()
        except (OSError, RuntimeError) as exc:  # RuntimeError: a link loop before Python 3.13
            raise ToolArgumentError(f"cannot resolve {path!r}; {_SEE_LIST}", tool=tool) from exc
        if not resolved.is_relative_to(self.real):
            raise ToolArgumentError(
                f"{path!r} goes through a link out of the shared folder; {_SEE_LIST}", tool=tool
            )
        inside = PurePosixPath(resolved.relative_to(self.real).as_posix())
        if self._hidden(inside):  # a visible link to a hidden file
            raise ToolArgumentError(hidden, tool=tool)
        return inside

    def read_text(self, path: str, max_chars: int) -> str:
        """Return the text of a file, at most ``max_chars`` characters of it."""
        data = self._read_bytes(self.inside(path, tool="read_file"), path)
        not_text = _refuse_read(
            f"{path!r} is not a text file (it holds binary data); read_file reads UTF-8 text only"
        )
        if b"\x00" in data:
            raise not_text
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise not_text from exc
        if len(text) <= max_chars:
            return text
        return f"{text[:max_chars]}\n[truncated: showed {max_chars} of {len(text)} characters]"

    def _read_bytes(self, inside: PurePosixPath, path: str) -> bytes:
        if not inside.parts:
            raise _refuse_read(f"{path!r} is a folder: use list_files to see its contents")
        try:
            with os.fdopen(self._open(inside, path), "rb") as handle:
                data = handle.read(self.max_bytes + 1)
        except (FileNotFoundError, NotADirectoryError) as exc:
            raise _refuse_read(f"no such file: {path!r}; {_SEE_LIST}") from exc
        except PermissionError as exc:
            raise ToolError(f"cannot read {path!r}: permission denied", tool="read_file") from exc
        except OSError as exc:
            if exc.errno == errno.ELOOP:  # a link appeared after the path was checked
                raise _refuse_read(f"{path!r} became a link; try again") from exc
            raise ToolError(f"cannot read {path!r}: {exc.strerror}", tool="read_file") from exc
        self._check_size(len(data), path)  # the file may have grown since lstat
        return data

    def _open(self, inside: PurePosixPath, path: str) -> int:
        if not _CONFINED_OPEN:
            target = self.real.joinpath(*inside.parts)
            self._check_regular(os.stat(target, follow_symlinks=False), path)
            return os.open(target, _FILE_FLAGS)
        folder = os.open(self.real, _DIR_FLAGS)
        try:
            for part in inside.parts[:-1]:
                folder, parent = os.open(part, _DIR_FLAGS, dir_fd=folder), folder
                os.close(parent)
            before = os.stat(inside.name, dir_fd=folder, follow_symlinks=False)
            self._check_regular(before, path)
            fd = os.open(inside.name, _FILE_FLAGS, dir_fd=folder)
        finally:
            os.close(folder)
        after = os.fstat(fd)
        if (after.st_dev, after.st_ino) != (before.st_dev, before.st_ino):
            os.close(fd)
            raise _refuse_read(f"{path!r} changed while opening; try again")
        return fd

    def _check_regular(self, info: os.stat_result, path: str) -> None:
        if stat.S_ISDIR(info.st_mode):
            raise _refuse_read(f"{path!r} is a folder: use list_files to see its contents")
        if stat.S_ISLNK(info.st_mode):
            raise _refuse_read(f"{path!r} became a link; try again")
        if not stat.S_ISREG(info.st_mode):
            raise _refuse_read(
                f"{path!r} is not a regular file (a device, pipe or socket) and cannot be read"
            )
        self._check_size(info.st_size, path)

    def _check_size(self, size: int, path: str) -> None:
        if size > self.max_bytes:
            raise _refuse_read(
                f"{path!r} is {size} bytes, over read_file's limit of {self.max_bytes} bytes: "
                "pick a smaller file or ask the user for an excerpt"
            )

    def listing(self, path: str, pattern: str, max_entries: int) -> str:
        """List entries under a folder, sorted by path, with sizes and ``/`` after folders."""
        inside = self.inside(path, tool="list_files")
        try:
            info = os.stat(self.real.joinpath(*inside.parts))
        except (FileNotFoundError, NotADirectoryError) as exc:
            raise ToolArgumentError(f"no such folder: {path!r}", tool="list_files") from exc
        if not stat.S_ISDIR(info.st_mode):
            raise ToolArgumentError(f"{path!r} is a file: use read_file", tool="list_files")
        found, complete = self._walk(inside, pattern.casefold())
        notes = [] if complete else [f"[stopped after {MAX_SCANNED} entries: list a subfolder]"]
        if not found:
            return "\n".join([f"nothing under {path!r} matches {pattern!r}", *notes])
        if len(found) > max_entries:
            notes.insert(0, f"[showing {max_entries} of {len(found)}: narrow path or pattern]")
        lines = [line for _, line in sorted(found)[:max_entries]]
        return "\n".join(lines + notes)

    def _walk(
        self, top: PurePosixPath, pattern: str
    ) -> tuple[list[tuple[tuple[str, ...], str]], bool]:
        found: list[tuple[tuple[str, ...], str]] = []
        folders, scanned = [top], 0
        while folders:
            folder = folders.pop()
            try:
                with os.scandir(self.real.joinpath(*folder.parts)) as listing:
                    entries = list(listing)
            except OSError:  # unreadable subfolder: list the rest
                continue
            for entry in entries:
                scanned += 1
                if scanned > MAX_SCANNED:
                    return found, False
                relative = folder / entry.name
                line = None if self._hidden(relative) else self._describe(entry, relative)
                if line is None:
                    continue
                if entry.is_dir(follow_symlinks=False):
                    folders.append(relative)  # links are listed, never descended into
                subject = str(relative) if "/" in pattern else entry.name
                if fnmatch.fnmatchcase(subject.casefold(), pattern):
                    found.append((relative.parts, line))
        return found, True

    def _describe(self, entry: os.DirEntry[str], relative: PurePosixPath) -> str | None:
        try:
            if entry.is_symlink():
                target = Path(entry.path).resolve(strict=True)
                inside = target.is_relative_to(self.real)
                if not inside or self._hidden(PurePosixPath(target.relative_to(self.real))):
                    return None  # never reveal where a link out of the folder goes
                info = target.stat()
            else:
                info = entry.stat(follow_symlinks=False)
        except (OSError, RuntimeError):  # broken link, link loop, vanished entry
            return None
        if stat.S_ISDIR(info.st_mode):
            return f"{relative}/"
        if stat.S_ISREG(info.st_mode):
            return f"{relative}  ({info.st_size} bytes)"
        return None


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
    folder = _Folder(shared_root(root), max_bytes, include_hidden)

    # Defaults repeat the args models' because LangChain passes only the keys the model sent.
    async def read_file(path: str, max_chars: int = 8000) -> str:
        return await asyncio.to_thread(folder.read_text, path, max_chars)

    async def list_files(path: str = ".", pattern: str = "*", max_entries: int = 200) -> str:
        return await asyncio.to_thread(folder.listing, path, pattern, max_entries)

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
