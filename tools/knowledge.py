"""``knowledge_search``: BM25 search over a folder of Markdown and text notes.

Files are cut into passages by ``tools.passages``; ``bm25s`` indexes the
passages on the first search. Every search re-lists the folder and compares
each file's path, size, mtime and inode with those the index was built from,
rebuilding when any differ. Listing, reading, indexing and scoring run in a
worker thread (``asyncio.to_thread``), one build at a time. Hidden entries and
symbolic links are skipped, so the search never reads outside the folder. Ties
in score go by file path, then position, so answers are deterministic.
"""

import asyncio
import os
import re
import stat
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from langchain_core.tools import StructuredTool
from pydantic import Field

from tools.base import ToolArgs, make_tool
from tools.passages import Passage, chunk_text
from tools.shared_folder import shared_root

__all__ = ["KnowledgeArgs", "make_knowledge_search"]

SUFFIXES = (".md", ".markdown", ".txt")
MAX_FILES = 2_000
MAX_FILE_BYTES = 1_000_000
# Bounds the work of one search: a thread cannot be cancelled on timeout.
MAX_SCANNED = 50_000

_WORD = re.compile(r"\w+")
# O_NONBLOCK: a FIFO renamed to notes.md must not hang the worker thread.
_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)

Fingerprint = tuple[tuple[str, int, int, int], ...]


def _tokens(text: str, stopwords: frozenset[str]) -> list[str]:
    words = (word for word in _WORD.findall(text.lower()) if word not in stopwords)
    # A crude plural fold ("dogs" -> "dog") on both sides is enough for notes.
    return [w[:-1] if len(w) > 3 and w[-1] == "s" and w[-2] not in "siu" else w for w in words]


@dataclass(frozen=True)
class _Index:
    fingerprint: Fingerprint
    passages: Sequence[Passage]
    scorer: Any  # bm25s.BM25, or None when no passage has a searchable word
    stopwords: frozenset[str]
    skipped: int


class _Knowledge:
    def __init__(self, real: Path, chunk_chars: int) -> None:
        self.real, self.chunk_chars = real, chunk_chars
        self._index: _Index | None = None
        self._lock = threading.Lock()  # a thread lock: the work runs in worker threads

    def search(self, query: str, top_k: int) -> str:
        with self._lock:
            files = self._scan()
            fingerprint = tuple(
                (rel, info.st_size, info.st_mtime_ns, info.st_ino) for rel, info in files
            )
            if self._index is None or self._index.fingerprint != fingerprint:
                self._index = self._build(fingerprint)
            index = self._index
        return _answer(index, query, top_k)

    def _scan(self) -> list[tuple[str, os.stat_result]]:
        files: list[tuple[str, os.stat_result]] = []
        folders, scanned = [PurePosixPath()], 0
        while folders and scanned < MAX_SCANNED and len(files) < MAX_FILES:
            folder = folders.pop()
            try:
                with os.scandir(self.real.joinpath(*folder.parts)) as listing:
                    entries = list(listing)
            except OSError:  # an unreadable subfolder: search the rest
                continue
            scanned += len(entries)
            for entry in entries:
                if entry.name.startswith("."):
                    continue
                # follow_symlinks=False: links, to files or folders, are neither.
                if entry.is_dir(follow_symlinks=False):
                    folders.append(folder / entry.name)
                elif entry.is_file(follow_symlinks=False) and entry.name.lower().endswith(SUFFIXES):
                    try:
                        files.append((str(folder / entry.name), entry.stat(follow_symlinks=False)))
                    except OSError:
                        continue
        return sorted(files)[:MAX_FILES]

    def _build(self, fingerprint: Fingerprint) -> _Index:
        import bm25s  # slow to import (numpy): only on the first search, in this thread
        from bm25s.stopwords import STOPWORDS_EN

        stopwords = frozenset(STOPWORDS_EN)
        passages: list[Passage] = []
        skipped = 0
        for rel, *_ in fingerprint:
            text = _read_text(self.real / rel)
            if text is None:
                skipped += 1
                continue
            passages.extend(chunk_text(text, rel, chunk_chars=self.chunk_chars))
        corpus = [_tokens(f"{p.heading}\n{p.text}", stopwords) for p in passages]
        scorer = None
        if any(corpus):  # bm25s divides by the mean passage length
            scorer = bm25s.BM25()
            scorer.index(corpus, show_progress=False)
        return _Index(fingerprint, passages, scorer, stopwords, skipped)


def _read_text(path: Path) -> str | None:
    """Return a regular UTF-8 file's text, or None for anything else."""
    try:
        fd = os.open(path, _OPEN_FLAGS)
    except OSError:
        return None
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_FILE_BYTES:
            return None
        data = handle.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES or b"\x00" in data:
        return None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None


def _answer(index: _Index, query: str, top_k: int) -> str:
    skipped = f" ({index.skipped} unreadable or binary files skipped)" if index.skipped else ""
    if not index.passages:
        return f"no passages matched {query!r}: the knowledge folder has no notes{skipped}"
    tokens = _tokens(query, index.stopwords)
    if not tokens:
        return f"no passages matched {query!r}: it has no searchable words; use keywords"
    if index.scorer is None:
        return f"no passages matched {query!r}: the notes hold no searchable words{skipped}"
    scores = index.scorer.get_scores(tokens)
    ranked = sorted(
        (-round(float(score), 6), passage.path, passage.position, passage)
        for score, passage in zip(scores, index.passages, strict=True)
        if score > 0
    )
    if not ranked:
        files = len(index.fingerprint)
        return f"no passages matched {query!r} in {files} files{skipped}; try other keywords"
    results = []
    for rank, (negative, _, _, passage) in enumerate(ranked[:top_k], start=1):
        section = f', section "{passage.heading}"' if passage.heading else ""
        lines = f"lines {passage.first_line}-{passage.last_line}"
        results.append(
            f"[{rank}] {passage.path}, {lines}{section} (score {-negative:.2f})\n{passage.text}"
        )
    return "\n\n".join(results)


class KnowledgeArgs(ToolArgs):
    """Arguments of the knowledge_search tool."""

    query: str = Field(
        min_length=1, max_length=300, description="Keywords to look for, e.g. sourdough starter."
    )
    top_k: int = Field(default=3, ge=1, le=10, description="How many passages to return.")


def make_knowledge_search(folder: Path, *, chunk_chars: int = 800) -> StructuredTool:
    """Build ``knowledge_search`` over the ``.md`` and ``.txt`` files under ``folder``.

    Call it at startup rather than inside a running event loop: it resolves
    ``folder`` on disk once. The index itself is built on the first search.

    Args:
        folder: The notes folder; subfolders are searched, links and hidden
            entries are not.
        chunk_chars: Longest passage, in characters.

    Raises:
        GraphConfigError: ``folder`` does not exist, is not a folder, or is ``/``.
        ValueError: ``chunk_chars`` is below 100.
    """
    if chunk_chars < 100:
        raise ValueError(f"chunk_chars must be at least 100, got {chunk_chars}")
    knowledge = _Knowledge(shared_root(folder), chunk_chars)

    # The default repeats KnowledgeArgs' because LangChain passes only the keys the model sent.
    async def knowledge_search(query: str, top_k: int = 3) -> str:
        return await asyncio.to_thread(knowledge.search, query, top_k)

    return make_tool(
        knowledge_search,
        name="knowledge_search",
        description="Search the user's notes (Markdown and text files) for passages about a topic.",
        args_schema=KnowledgeArgs,
        risk="safe",
        topics=["knowledge"],
        network=False,
        timeout_s=30.0,
    )
