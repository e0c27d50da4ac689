"""Readable text of an HTML page: the title, and the body without scripts or styles.

Block tags become line breaks and list items start with "- ", so the text keeps
the page's shape; whitespace inside a line is folded as a browser would.
"""

import re
from html.parser import HTMLParser

__all__ = ["html_to_text"]


def html_to_text(html: str) -> tuple[str, str]:
    """Return the title and readable text of an HTML page, without scripts or styles."""
    parser = _TextExtractor()
    parser.feed(html)
    parser.close()
    return parser.title(), parser.text()


class _TextExtractor(HTMLParser):
    _SKIP = frozenset({"script", "style", "noscript", "template", "svg"})
    _BLOCKS = frozenset(
        "address article aside blockquote br dd div dl dt figcaption figure footer form "
        "h1 h2 h3 h4 h5 h6 header hr li main nav ol p pre section table td th tr ul".split()
    )

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self._skipping: dict[str, int] = {}
        self._in_title = False
        self._title: list[str] = []
        self._parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._SKIP:
            self._skipping[tag] = self._skipping.get(tag, 0) + 1
        elif tag == "title":
            self._in_title = not self._title
        elif tag in self._BLOCKS:
            self._parts.append("\n- " if tag == "li" else "\n")

    def handle_endtag(self, tag: str) -> None:
        if self._skipping.get(tag):
            self._skipping[tag] -= 1
        elif tag == "title":
            self._in_title = False
        elif tag in self._BLOCKS:
            self._parts.append("\n")

    def handle_data(self, data: str) -> None:
        if any(self._skipping.values()):
            return
        # Source line breaks are just spaces in HTML; block tags make the lines.
        (self._title if self._in_title else self._parts).append(re.sub(r"\s+", " ", data))

    def title(self) -> str:
        return " ".join("".join(self._title).split())

    def text(self) -> str:
        lines = (" ".join(line.split()) for line in "".join(self._parts).split("\n"))
        return "\n".join(line for line in lines if line and line != "-")
