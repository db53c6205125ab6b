"""HTML → plain text for mentions: what an agent reads and what sentiment scoring sees.

Networks hand us HTML (Hacker News comments, Mastodon statuses, feed summaries). The text
keeps what a person would read: entities decoded, paragraphs and ``<br>`` as line breaks,
links kept as their URL (a link's words are kept instead when they are an @-mention or a
#hashtag, or when they say something other than the address), scripts and styles dropped.
Standard library only, so any connector may use it.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

_BLOCK = frozenset(
    {"p", "div", "blockquote", "pre", "ul", "ol", "li", "h1", "h2", "h3", "h4", "h5", "h6", "tr"}
)
_SKIP = frozenset({"script", "style", "head", "title"})
_SPACES = re.compile(r"[ \t\r\f\v\u00a0]+")
_BLANKS = re.compile(r"\n{3,}")


def _bare(url: str) -> str:
    """'https://www.example.com/a/' → 'example.com/a' (for comparing link text with href)."""
    url = re.sub(r"^[a-z][a-z0-9+.-]*://", "", url.strip().lower())
    if url.startswith("www."):
        url = url[4:]
    return url.rstrip("/")


class _Extractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0
        self._links: list[tuple[str | None, int]] = []  # href, index of the first part

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP:
            self._skip += 1
        elif tag == "br":
            self.parts.append("\n")
        elif tag in _BLOCK:
            self.parts.append("\n\n" if tag in ("p", "blockquote", "pre") else "\n")
            if tag == "li":
                self.parts.append("- ")
        elif tag == "a":
            self._links.append((dict(attrs).get("href"), len(self.parts)))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "br":
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP:
            self._skip = max(0, self._skip - 1)
        elif tag in _BLOCK:
            self.parts.append("\n\n" if tag in ("p", "blockquote", "pre") else "\n")
        elif tag == "a" and self._links:
            href, start = self._links.pop()
            words = "".join(self.parts[start:]).strip()
            if not href or not href.startswith(("http://", "https://")):
                return
            if words.startswith(("@", "#")):
                return  # a mention or hashtag reads as its words
            bare, text = _bare(href), _bare(words.rstrip("…").rstrip("."))
            if not text or bare.startswith(text) or text.startswith(bare):
                self.parts[start:] = [href]
            else:
                self.parts.append(f" ({href})")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def html_to_text(html: str | None) -> str:
    """Readable plain text from an HTML fragment; '' for None or empty input."""
    if not html:
        return ""
    parser = _Extractor()
    parser.feed(html)
    parser.close()
    text = "".join(parser.parts)
    lines = [_SPACES.sub(" ", line).strip() for line in text.split("\n")]
    return _BLANKS.sub("\n\n", "\n".join(lines)).strip()


def one_line(html: str | None) -> str:
    """Like ``html_to_text`` but on one line (titles, headlines)."""
    return " ".join(html_to_text(html).split())
