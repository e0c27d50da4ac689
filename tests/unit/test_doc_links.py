"""Every relative link in the top-level Markdown files and docs/ resolves, anchors included.

Anchors follow GitHub's heading slugs: lowercase, punctuation dropped except `-` and
`_`, spaces turned into `-`, and `-1`, `-2`, ... appended to repeated headings.
"""

import re
from pathlib import Path
from urllib.parse import unquote

import pytest

ROOT = Path(__file__).parents[2]
DOCS = ROOT / "docs"
PAGES = sorted([*ROOT.glob("*.md"), *DOCS.rglob("*.md")])

FENCE = re.compile(r"^(```|~~~).*?^\1[ \t]*$", re.S | re.M)
INLINE_CODE = re.compile(r"`[^`\n]*`")
LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
REFERENCE = re.compile(r"^\s*\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+\"[^\"]*\")?\s*$", re.M)
HEADING = re.compile(r"^#{1,6}[ \t]+(.+?)[ \t#]*$", re.M)
EXTERNAL = re.compile(r"^[a-z][a-z0-9+.-]*:", re.I)


def prose(text: str) -> str:
    """Return the Markdown text without fenced code blocks or inline code spans."""
    return INLINE_CODE.sub("", FENCE.sub("", text))


def slug(heading: str) -> str:
    """Return GitHub's anchor for a heading's text (before de-duplication)."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)
    text = re.sub(r"[^\w\- ]", "", text.strip().lower())
    return text.replace(" ", "-")


def anchors(page: Path) -> set[str]:
    """Return every heading anchor of a Markdown page, repeats numbered as GitHub does."""
    seen: dict[str, int] = {}
    found = set()
    for heading in HEADING.findall(FENCE.sub("", page.read_text())):
        base = slug(heading)
        count = seen.get(base, 0)
        seen[base] = count + 1
        found.add(base if count == 0 else f"{base}-{count}")
    return found


def links(page: Path) -> list[str]:
    """Return the targets of the relative links and references on a page."""
    text = prose(page.read_text())
    targets = LINK.findall(text) + REFERENCE.findall(text)
    return [t for t in targets if not EXTERNAL.match(t)]


def broken(page: Path, target: str) -> str | None:
    """Return why a relative link from a page does not resolve, or None if it does."""
    path, _, anchor = target.partition("#")
    dest = (page.parent / unquote(path)).resolve() if path else page
    if not dest.exists():
        return f"{target}: no file {dest.relative_to(ROOT) if dest.is_relative_to(ROOT) else dest}"
    if anchor and (dest.suffix != ".md" or unquote(anchor).lower() not in anchors(dest)):
        return f"{target}: no heading with anchor #{anchor} in {dest.name}"
    return None


def test_the_slugs_follow_github():
    assert slug("Durable threads: SQLite or PostgreSQL") == "durable-threads-sqlite-or-postgresql"
    assert slug("The embedded engine's model") == "the-embedded-engines-model"
    assert slug("The `fetch_url` SSRF guard") == "the-fetch_url-ssrf-guard"
    assert slug("Dependencies and the lock") == "dependencies-and-the-lock"


def test_code_is_not_read_as_links_or_headings(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("# Title\n\n```sh\n# not a heading [x](nowhere.md)\n```\n"
                    "`[y](nowhere.md)` [z](#title) [w](https://example.com)\n")
    assert anchors(page) == {"title"}
    assert links(page) == ["#title"]
    assert broken(page, "#title") is None
    assert broken(page, "#nope") is not None
    assert broken(page, "nowhere.md") is not None


def test_there_are_pages_and_links():
    assert ROOT / "README.md" in PAGES
    assert any(page.parent == DOCS for page in PAGES)
    assert any(link.startswith("docs/") for link in links(ROOT / "README.md"))


@pytest.mark.parametrize("page", PAGES, ids=[str(p.relative_to(ROOT)) for p in PAGES])
def test_relative_links_resolve(page):
    problems = [why for target in links(page) if (why := broken(page, target))]
    assert not problems, f"{page.relative_to(ROOT)}:\n  " + "\n  ".join(problems)


def test_every_docs_page_is_linked_from_an_index():
    linked = set()
    for index in (ROOT / "README.md", DOCS / "README.md"):
        for target in links(index):
            path = target.partition("#")[0]
            if path:
                linked.add((index.parent / path).resolve())
    orphans = [p.relative_to(ROOT) for p in DOCS.rglob("*.md")
               if p.name != "README.md" and p.resolve() not in linked]
    assert not orphans, f"link these from README.md or docs/README.md: {orphans}"
