"""The ``web_search`` tool: a DuckDuckGo text search, returned as a numbered list.

The backend is a plain synchronous function, so tests inject a fake and the
default wraps ``duckduckgo_search.DDGS``. It runs in a worker thread under
``asyncio.timeout``, so a slow search never blocks the event loop and the model
hears "timed out" on time; the abandoned thread ends with DDGS's own timeout.
``translate`` maps duckduckgo_search's exceptions onto ``ToolError``.
"""

import asyncio
import math
import warnings
from collections.abc import Callable
from typing import Literal

from duckduckgo_search import DDGS
from duckduckgo_search.exceptions import (
    DuckDuckGoSearchException,
    RatelimitException,
    TimeoutException,
)
from langchain_core.tools import StructuredTool
from pydantic import Field

from backends.errors import ToolError
from tools.base import ToolArgs, make_tool

__all__ = [
    "SearchArgs",
    "SearchBackend",
    "ddgs_backend",
    "format_results",
    "make_web_search",
    "translate",
    "web_search",
]

# (query, region, timelimit, max_results) -> [{"title", "href", "body"}, ...]
SearchBackend = Callable[[str, str, str | None, int], list[dict[str, str]]]

_TOOL = "web_search"
_TITLE_CHARS = 150
_URL_CHARS = 300
_SNIPPET_CHARS = 300


class SearchArgs(ToolArgs):
    """Arguments of the web_search tool."""

    query: str = Field(
        min_length=1, max_length=300, pattern=r"\S", description="What to search for."
    )
    max_results: int = Field(default=5, ge=1, le=20, description="How many results to return.")
    region: str = Field(
        default="wt-wt",
        pattern=r"^[a-z]{2}-[a-z]{2}$",
        description="Region code such as us-en or de-de; wt-wt means no region.",
    )
    timelimit: Literal["d", "w", "m", "y"] | None = Field(
        default=None,
        description="Only results from the past day (d), week (w), month (m) or year (y).",
    )


def ddgs_backend(timeout_s: float = 10.0) -> SearchBackend:
    """Return a backend that searches DuckDuckGo with ``duckduckgo_search.DDGS``."""

    def search(
        query: str, region: str, timelimit: str | None, max_results: int
    ) -> list[dict[str, str]]:
        # DDGS() warns that the package was renamed and sets the process-wide
        # warning filter to "always"; record=True keeps both inside this block.
        with warnings.catch_warnings(record=True):
            ddgs = DDGS(timeout=max(1, math.ceil(timeout_s)))
        return ddgs.text(query, region=region, timelimit=timelimit, max_results=max_results)

    return search


def translate(exc: Exception) -> ToolError | None:
    """Map a search backend's exception onto a ``ToolError``; None if it is not a search failure."""
    cause = _unwrap(exc)
    if isinstance(cause, RatelimitException):
        return ToolError("web search is rate-limited; try later", tool=_TOOL)
    if isinstance(cause, TimeoutException | TimeoutError):
        return ToolError("web search timed out; try later", tool=_TOOL)
    if isinstance(cause, DuckDuckGoSearchException | OSError):
        return ToolError(
            f"web search unavailable: offline? ({_clean(str(cause), 200)})", tool=_TOOL
        )
    return None


def _unwrap(exc: BaseException) -> BaseException:
    # DDGS.text re-raises each engine's failure as DuckDuckGoSearchException(err),
    # with the original exception as its argument rather than its cause.
    for _ in range(5):
        if not (isinstance(exc, DuckDuckGoSearchException) and exc.args):
            break
        inner = exc.args[0]
        if not isinstance(inner, BaseException):
            break
        exc = inner
    return exc


def format_results(results: list[dict[str, str]], max_results: int) -> str:
    """Render search results as a numbered list of title, URL and snippet."""
    entries = []
    for number, item in enumerate(results[:max_results], start=1):
        title = _clean(item.get("title"), _TITLE_CHARS) or "(no title)"
        url = _clean(item.get("href") or item.get("url"), _URL_CHARS)
        snippet = _clean(item.get("body") or item.get("snippet"), _SNIPPET_CHARS)
        entries.append("\n".join(line for line in (f"{number}. {title}", url, snippet) if line))
    return "\n".join(entry.replace("\n", "\n   ") for entry in entries)


def _clean(value: object, limit: int) -> str:
    text = " ".join(str(value or "").split())
    return text if len(text) <= limit else text[: limit - 3].rstrip() + "..."


def make_web_search(
    backend: SearchBackend | None = None, timeout_s: float = 10.0
) -> StructuredTool:
    """Build a ``web_search`` tool.

    Args:
        backend: Synchronous search function; DuckDuckGo if None.
        timeout_s: Seconds one search may take before the tool reports a timeout.
    """
    search = backend or ddgs_backend(timeout_s)

    # Defaults repeat SearchArgs' because LangChain passes only the keys the model sent.
    async def _web_search(
        query: str, max_results: int = 5, region: str = "wt-wt", timelimit: str | None = None
    ) -> str:
        try:
            async with asyncio.timeout(timeout_s):
                results = await asyncio.to_thread(search, query, region, timelimit, max_results)
        except TimeoutError as exc:
            raise ToolError(
                f"web search timed out after {timeout_s:g}s; try again later", tool=_TOOL
            ) from exc
        except Exception as exc:
            mapped = translate(exc)
            if mapped is None:
                raise
            raise mapped from exc
        return format_results(results, max_results) or f"no results for {query!r}"

    return make_tool(
        _web_search,
        name=_TOOL,
        description="Search the web and return titles, URLs and snippets of the top results.",
        args_schema=SearchArgs,
        risk="network",
        topics=["web"],
        network=True,
        # Past the search's own deadline, so its clearer message wins.
        timeout_s=timeout_s + 5.0,
    )


web_search = make_web_search()
