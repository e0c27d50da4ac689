"""Passages: a note's text cut along blank lines and Markdown headings, for search.

A file is cut into passages of about ``chunk_chars`` characters along blank
lines; a Markdown heading always starts a passage, which keeps its heading path
("Setup > Install") and line range. Inside a fenced code block a ``#`` line is
code, not a heading, and so is every line of a ``.txt`` file.
"""

import re
from collections.abc import Iterator
from dataclasses import dataclass

__all__ = ["Passage", "chunk_text"]

_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
_FENCE = ("```", "~~~")


@dataclass(frozen=True)
class Passage:
    """A piece of one file, as indexed and as shown to the model."""

    path: str  # relative to the folder, with '/'
    position: int  # index of the passage within its file
    first_line: int
    last_line: int
    heading: str  # "Setup > Install", or "" before the first heading
    text: str


class _Packer:
    """Packs blocks of lines into passages of at most ``limit`` characters."""

    def __init__(self, path: str, limit: int) -> None:
        self.path, self.limit = path, limit
        self.passages: list[Passage] = []
        self.heading = ""
        self._parts: list[str] = []
        self._first = self._last = self._size = 0

    def add(self, first: int, last: int, text: str) -> None:
        if self._parts and self._size + len(text) > self.limit:
            self.flush()
        if not self._parts:
            self._first = first
        self._parts.append(text)
        self._size += len(text) + 2  # parts are joined by a blank line
        self._last = last

    def flush(self) -> None:
        if self._parts:
            text = "\n\n".join(self._parts)
            self.passages.append(
                Passage(self.path, len(self.passages), self._first, self._last, self.heading, text)
            )
        self._parts, self._size = [], 0


def _pieces(block: list[tuple[int, str]], limit: int) -> Iterator[tuple[int, int, str]]:
    """Split a block of numbered lines into pieces of at most ``limit`` characters."""
    lines: list[tuple[int, str]] = []
    for number, line in block:
        for start in range(0, max(len(line), 1), limit):  # a very long line is cut
            piece = line[start : start + limit]
            if lines and sum(len(text) + 1 for _, text in lines) + len(piece) > limit:
                yield lines[0][0], lines[-1][0], "\n".join(text for _, text in lines)
                lines = []
            lines.append((number, piece))
    if lines:
        yield lines[0][0], lines[-1][0], "\n".join(text for _, text in lines)


def chunk_text(text: str, path: str, *, chunk_chars: int = 800) -> list[Passage]:
    """Cut a file's text into passages along blank lines and Markdown headings.

    Args:
        text: The file's content.
        path: The file's path relative to the folder; a ``.txt`` file's lines
            starting with ``#`` are text, not headings.
        chunk_chars: Longest passage, in characters.
    """
    markdown = not path.lower().endswith(".txt")
    packer = _Packer(path, chunk_chars)
    headings: list[tuple[int, str]] = []
    block: list[tuple[int, str]] = []
    fenced = False
    for number, line in enumerate(text.splitlines(), start=1):
        if markdown and line.lstrip().startswith(_FENCE):
            fenced = not fenced
        heading = _HEADING.match(line) if markdown and not fenced else None
        if block and (heading or not line.strip()):
            for piece in _pieces(block, chunk_chars):
                packer.add(*piece)
            block = []
        if heading:
            packer.flush()
            level = len(heading[1])
            headings = [(lvl, title) for lvl, title in headings if lvl < level]
            headings.append((level, heading[2]))
            packer.heading = " > ".join(title for _, title in headings)
            packer.add(number, number, line.strip()[:chunk_chars])
        elif line.strip():
            block.append((number, line.rstrip()))
    for piece in _pieces(block, chunk_chars):
        packer.add(*piece)
    packer.flush()
    return packer.passages
