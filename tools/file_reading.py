"""How ``read_file`` reads one file of the shared folder once its path passed the check.

On POSIX the file is opened one component at a time from a descriptor of the root
with ``O_NOFOLLOW``, so a link swapped in after the path check is refused too. Only
regular UTF-8 text files up to the folder's ``max_bytes`` are read: FIFOs and
devices are refused from ``lstat`` without ever being opened.
"""

import errno
import os
import stat
from pathlib import PurePosixPath

from backends.errors import ToolArgumentError, ToolError
from tools.shared_folder import SEE_LIST, SharedFolder

__all__ = ["read_text"]

# os.open descriptors are already close-on-exec (PEP 446).
_FILE_FLAGS = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
_DIR_FLAGS = _FILE_FLAGS | getattr(os, "O_DIRECTORY", 0)
_CONFINED_OPEN = os.open in os.supports_dir_fd and os.stat in os.supports_dir_fd


def _refuse_read(message: str) -> ToolArgumentError:
    return ToolArgumentError(message, tool="read_file")


def read_text(folder: SharedFolder, path: str, max_chars: int) -> str:
    """Return the text of a file, at most ``max_chars`` characters of it."""
    data = _read_bytes(folder, folder.inside(path, tool="read_file"), path)
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


def _read_bytes(folder: SharedFolder, inside: PurePosixPath, path: str) -> bytes:
    if not inside.parts:
        raise _refuse_read(f"{path!r} is a folder: use list_files to see its contents")
    try:
        with os.fdopen(_open(folder, inside, path), "rb") as handle:
            data = handle.read(folder.max_bytes + 1)
    except (FileNotFoundError, NotADirectoryError) as exc:
        raise _refuse_read(f"no such file: {path!r}; {SEE_LIST}") from exc
    except PermissionError as exc:
        raise ToolError(f"cannot read {path!r}: permission denied", tool="read_file") from exc
    except OSError as exc:
        if exc.errno == errno.ELOOP:  # a link appeared after the path was checked
            raise _refuse_read(f"{path!r} became a link; try again") from exc
        raise ToolError(f"cannot read {path!r}: {exc.strerror}", tool="read_file") from exc
    _check_size(len(data), path, folder.max_bytes)  # the file may have grown since lstat
    return data


def _open(folder: SharedFolder, inside: PurePosixPath, path: str) -> int:
    if not _CONFINED_OPEN:
        target = folder.real.joinpath(*inside.parts)
        _check_regular(os.stat(target, follow_symlinks=False), path, folder.max_bytes)
        return os.open(target, _FILE_FLAGS)
    directory = os.open(folder.real, _DIR_FLAGS)
    try:
        for part in inside.parts[:-1]:
            directory, parent = os.open(part, _DIR_FLAGS, dir_fd=directory), directory
            os.close(parent)
        before = os.stat(inside.name, dir_fd=directory, follow_symlinks=False)
        _check_regular(before, path, folder.max_bytes)
        fd = os.open(inside.name, _FILE_FLAGS, dir_fd=directory)
    finally:
        os.close(directory)
    after = os.fstat(fd)
    if (after.st_dev, after.st_ino) != (before.st_dev, before.st_ino):
        os.close(fd)
        raise _refuse_read(f"{path!r} changed while opening; try again")
    return fd


def _check_regular(info: os.stat_result, path: str, max_bytes: int) -> None:
    if stat.S_ISDIR(info.st_mode):
        raise _refuse_read(f"{path!r} is a folder: use list_files to see its contents")
    if stat.S_ISLNK(info.st_mode):
        raise _refuse_read(f"{path!r} became a link; try again")
    if not stat.S_ISREG(info.st_mode):
        raise _refuse_read(
            f"{path!r} is not a regular file (a device, pipe or socket) and cannot be read"
        )
    _check_size(info.st_size, path, max_bytes)


def _check_size(size: int, path: str, max_bytes: int) -> None:
    if size > max_bytes:
        raise _refuse_read(
            f"{path!r} is {size} bytes, over read_file's limit of {max_bytes} bytes: "
            "pick a smaller file or ask the user for an excerpt"
        )
