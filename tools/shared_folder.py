"""The one folder the user shares with the tools, and the check every path into it passes.

The model names files by paths relative to that root, and every path passes
two checks. Before any I/O it is refused when it is absolute, starts with
``~``, contains ``..``, a backslash or a NUL, or names a hidden entry (a name
starting with ``.``, unless the folder is shared with ``include_hidden``).
Then it is resolved, symbolic links included, and must still lie inside the
resolved root, so a link anywhere along the path cannot lead out.

Messages name paths as the model wrote them, never the root's location on disk.
"""

import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from backends.errors import GraphConfigError, ToolArgumentError

__all__ = ["SEE_LIST", "SharedFolder", "shared_root"]

_DRIVE = re.compile(r"^[A-Za-z]:")
_EXAMPLE = "give a path relative to the shared folder, e.g. notes/todo.md"
# The way out of most path mistakes, so several messages end with it.
SEE_LIST = "use list_files to see what exists"


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


@dataclass(frozen=True)
class SharedFolder:
    """A shared folder, resolved, and what the file tools may do in it.

    Attributes:
        real: The folder, resolved by ``shared_root``.
        max_bytes: Largest file ``read_file`` opens.
        include_hidden: Whether names starting with ``.`` are shared too.
    """

    real: Path
    max_bytes: int
    include_hidden: bool

    def hidden(self, relative: PurePosixPath) -> bool:
        """Tell whether ``relative`` names, or passes through, an entry that is not shared."""
        return not self.include_hidden and any(part.startswith(".") for part in relative.parts)

    def inside(self, path: str, tool: str) -> PurePosixPath:
        """Check ``path`` and return it resolved, relative to the root."""
        problem = _syntax_problem(path)
        if problem:
            raise ToolArgumentError(f"path {path!r} {problem}: {_EXAMPLE}", tool=tool)
        hidden = f"{path!r} is hidden (a name starts with '.'): hidden files are not shared"
        relative = PurePosixPath(path)
        if self.hidden(relative):
            raise ToolArgumentError(hidden, tool=tool)
        try:
            resolved = self.real.joinpath(*relative.parts).resolve()
        except (OSError, RuntimeError) as exc:  # RuntimeError: a link loop before Python 3.13
            raise ToolArgumentError(f"cannot resolve {path!r}; {SEE_LIST}", tool=tool) from exc
        if not resolved.is_relative_to(self.real):
            raise ToolArgumentError(
                f"{path!r} goes through a link out of the shared folder; {SEE_LIST}", tool=tool
            )
        inside = PurePosixPath(resolved.relative_to(self.real).as_posix())
        if self.hidden(inside):  # a visible link to a hidden file
            raise ToolArgumentError(hidden, tool=tool)
        return inside
