"""How ``list_files`` walks the shared folder: entries sorted by path, with sizes.

Hidden entries are left out unless the folder shares them. A link is listed only
while it stays inside the folder, and never descended into, so the walk cannot
leave the folder or reveal where a link out of it goes.
"""

import fnmatch
import os
import stat
from pathlib import Path, PurePosixPath

from backends.errors import ToolArgumentError
from tools.shared_folder import SharedFolder

__all__ = ["MAX_SCANNED", "list_entries"]

# Bounds the work of one list_files call: a thread cannot be cancelled on timeout.
MAX_SCANNED = 20_000

_Found = list[tuple[tuple[str, ...], str]]


def list_entries(folder: SharedFolder, path: str, pattern: str, max_entries: int) -> str:
    """List entries under a folder, sorted by path, with sizes and ``/`` after folders."""
    inside = folder.inside(path, tool="list_files")
    try:
        info = os.stat(folder.real.joinpath(*inside.parts))
    except (FileNotFoundError, NotADirectoryError) as exc:
        raise ToolArgumentError(f"no such folder: {path!r}", tool="list_files") from exc
    if not stat.S_ISDIR(info.st_mode):
        raise ToolArgumentError(f"{path!r} is a file: use read_file", tool="list_files")
    found, complete = _walk(folder, inside, pattern.casefold())
    notes = [] if complete else [f"[stopped after {MAX_SCANNED} entries: list a subfolder]"]
    if not found:
        return "\n".join([f"nothing under {path!r} matches {pattern!r}", *notes])
    if len(found) > max_entries:
        notes.insert(0, f"[showing {max_entries} of {len(found)}: narrow path or pattern]")
    lines = [line for _, line in sorted(found)[:max_entries]]
    return "\n".join(lines + notes)


def _walk(folder: SharedFolder, top: PurePosixPath, pattern: str) -> tuple[_Found, bool]:
    found: _Found = []
    subfolders, scanned = [top], 0
    while subfolders:
        current = subfolders.pop()
        try:
            with os.scandir(folder.real.joinpath(*current.parts)) as listing:
                entries = list(listing)
        except OSError:  # unreadable subfolder: list the rest
            continue
        for entry in entries:
            scanned += 1
            if scanned > MAX_SCANNED:
                return found, False
            relative = current / entry.name
            line = None if folder.hidden(relative) else _describe(folder, entry, relative)
            if line is None:
                continue
            if entry.is_dir(follow_symlinks=False):
                subfolders.append(relative)  # links are listed, never descended into
            subject = str(relative) if "/" in pattern else entry.name
            if fnmatch.fnmatchcase(subject.casefold(), pattern):
                found.append((relative.parts, line))
    return found, True


def _describe(
    folder: SharedFolder, entry: os.DirEntry[str], relative: PurePosixPath
) -> str | None:
    try:
        if entry.is_symlink():
            target = Path(entry.path).resolve(strict=True)
            inside = target.is_relative_to(folder.real)
            if not inside or folder.hidden(PurePosixPath(target.relative_to(folder.real))):
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
