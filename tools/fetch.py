"""The ``fetch_url`` tool: read a web page as plain text, behind the SSRF guard.

``tools.page_fetcher`` checks every URL, the first and each redirect target,
and connects only to the addresses the check saw; this module turns the page
into the text the model reads. The whole fetch, redirects, DNS and the HTML
conversion included, runs under ``NetPolicy.timeout_s``.
"""

import asyncio

import httpx
from langchain_core.tools import StructuredTool
from pydantic import Field

from backends.errors import ToolError
from tools.base import ToolArgs, make_tool
from tools.html_text import html_to_text
from tools.netguard import NetPolicy, Resolver, system_resolve
from tools.page_fetcher import Page, PageFetcher, shorten

__all__ = ["FetchArgs", "fetch_url", "make_fetch_url"]

_TOOL = "fetch_url"
_HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})


class FetchArgs(ToolArgs):
    """Arguments of the fetch_url tool."""

    url: str = Field(
        min_length=1, max_length=2048, description="Absolute http:// or https:// URL to read."
    )
    max_chars: int = Field(
        default=4000, ge=100, le=20000, description="Return at most this many characters of text."
    )


def make_fetch_url(
    policy: NetPolicy,
    resolve: Resolver | None = None,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
) -> StructuredTool:
    """Build a ``fetch_url`` tool bound to ``policy``.

    Args:
        policy: Allowed hosts and size, redirect and time limits.
        resolve: Async resolver from host and port to IP strings; the system resolver if None.
        transport: httpx transport under the client; tests pass one that records requests.
    """
    pages = PageFetcher(policy, resolve or system_resolve, transport)

    # Defaults repeat FetchArgs' because LangChain passes only the keys the model sent.
    async def fetch(url: str, max_chars: int = 4000) -> str:
        return await _fetch_text(pages, url, max_chars)

    return make_tool(
        fetch,
        name=_TOOL,
        description=(
            "Read a web page (http or https URL) and return its text. "
            "Local and private network addresses are refused."
        ),
        args_schema=FetchArgs,
        risk="network",
        topics=["web"],
        network=True,
        # Past the fetch's own deadline, so its clearer message wins.
        timeout_s=policy.timeout_s + 5.0,
    )


fetch_url = make_fetch_url(NetPolicy())


async def _fetch_text(pages: PageFetcher, url: str, max_chars: int) -> str:
    timeout = pages.policy.timeout_s
    try:
        async with asyncio.timeout(timeout):
            page = await pages.get(url)
            # html.parser is pure Python: keep a 2 MB page off the event loop.
            title, text = await asyncio.to_thread(_readable, page)
    except TimeoutError as exc:
        raise ToolError(
            f"timed out after {timeout:g}s fetching {shorten(url)}: the site is slow or "
            "unreachable",
            tool=_TOOL,
        ) from exc
    return _render(page, title, text, max_chars, pages.policy.max_bytes)


def _readable(page: Page) -> tuple[str, str]:
    if page.media_type in _HTML_TYPES:
        return html_to_text(page.text)
    return "", page.text.strip()


def _render(page: Page, title: str, text: str, max_chars: int, max_bytes: int) -> str:
    content = (f"Title: {title}\n\n{text}" if title else text) or "(the page has no text)"
    notes = []
    if len(content) > max_chars:
        notes.append(
            f"[truncated: showing the first {max_chars} of {len(content)} characters; "
            "ask for a larger max_chars to see more]"
        )
        content = content[:max_chars]
    if page.capped:
        notes.append(f"[the page is larger than {max_bytes} bytes; only the start was read]")
    return "\n".join([f"URL: {page.url}", "", content, *notes])
