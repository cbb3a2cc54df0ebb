"""Canonical text: one form for the rich text every system stores differently.

TestRail and CodeArts keep HTML or Markdown-ish text, TestPlanIt keeps TipTap JSON. To compare them we
bring all of them to one small, stable, Markdown-like form:

- paragraphs separated by one blank line; line breaks inside a paragraph kept as ``\\n``
- bullet list items as ``- item``; ordered list items as ``1. item`` (numbered from 1)
- ``**bold**``, ``*italic*``, `` `code` ``, ``[text](url)``
- white space folded: no trailing spaces, no tabs, no runs of blank lines, no leading/trailing blank lines

The functions are pure and idempotent: ``canonical(canonical(x)) == canonical(x)``, which is what keeps the
sync from seeing its own writes as changes (echoes).
"""

from __future__ import annotations

import functools
import hashlib
import html as html_lib
import json
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bs4 import BeautifulSoup, Tag

# bs4 is imported where HTML is first parsed, not here: every command imports this module and bs4 with
# soupsieve costs a tenth of a second at start-up, which a CI step that never reads HTML should not pay.

_WS = re.compile(r"[ \t\f\v\u00a0\u2000-\u200a\u202f\u205f\u3000]+")
_BLANKS = re.compile(r"\n{3,}")
_TAGS = r"(?:p|br|div|ul|ol|li|b|strong|i|em|code|pre|a|span|h[1-6]|table|tr|td|th)"
# A whole tag: a closing tag, or an opening one whose attributes (if any) have quoted values, as every
# editor writes them. Plain text such as "if a<b and c > d" must not be parsed as markup.
_HTML_HINT = re.compile(
    rf"</{_TAGS}\s*>|<{_TAGS}(?:\s+[\w:-]+\s*=\s*(?:\"[^\"]*\"|'[^']*'))*\s*/?>",
    re.I,
)
_ZERO_WIDTH = re.compile(r"[\u200b\u200c\u200d\ufeff]")
# Anything normalize_whitespace would change: a white space character other than space and newline (the same
# set str.strip removes), a zero-width character, two spaces, a space at a line's edge, three newlines, white
# space at either end. Most field values have none of it and are returned as they are, unsplit.
_UNCLEAN = re.compile(r"[^\S \n]|[\u200b\u200c\u200d\ufeff]|  | \n|\n |\n\n\n|\A[ \n]|[ \n]\Z")


def normalize_whitespace(text: str | None) -> str:
    """Fold white space the way every system's editor does, without touching the words.

    CRLF and CR become LF, zero-width characters vanish, runs of spaces/tabs/nbsp become one space,
    each line is stripped at its end, and runs of blank lines become one blank line.
    """
    if not text:
        return ""
    if not _UNCLEAN.search(text):
        return text
    return _normalize_all(text)


def _normalize_all(text: str) -> str:
    """normalize_whitespace without its shortcut for text that is already clean."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _ZERO_WIDTH.sub("", text)
    # indentation is not meaningful in any of the systems' renderers, and the canonical form is flat
    lines = [_WS.sub(" ", line).strip() for line in text.split("\n")]
    out = "\n".join(lines)
    out = _BLANKS.sub("\n\n", out)
    return out.strip("\n").strip()


def looks_like_html(text: str) -> bool:
    """True when the text carries HTML markup we know how to read (not just a stray '<')."""
    return bool(_HTML_HINT.search(text))


def _memo_short(convert: Callable[[str | None], str]) -> Callable[[str | None], str]:
    """Remember the conversions of short values (a pure function): step texts, preconditions and expected
    results repeat across a project's cases ("Result is shown", templates), and each conversion builds a
    parse tree. Bounded: 8,192 values of at most 2,000 characters, a few MB."""
    cached = functools.lru_cache(maxsize=8192)(convert)

    @functools.wraps(convert)
    def convert_short(markup: str | None) -> str:
        return cached(markup) if markup is None or len(markup) <= 2000 else convert(markup)

    return convert_short


@_memo_short
def html_to_canonical(markup: str | None) -> str:
    """Convert HTML (as TestRail, CodeArts and most web editors store it) to canonical text.

    Plain text passes through :func:`normalize_whitespace` only, so ``a < b`` is not mangled.
    """
    if not markup:
        return ""
    if not looks_like_html(markup):
        return normalize_whitespace(html_lib.unescape(markup) if "&" in markup else markup)
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(markup, "html.parser")
    blocks = _blocks(soup)
    return normalize_whitespace("\n\n".join(b for b in blocks if b.strip()))


def _blocks(node: Tag | BeautifulSoup) -> list[str]:
    """Split a node into block-level paragraphs of canonical text."""
    from bs4 import NavigableString, Tag

    blocks: list[str] = []
    inline: list[str] = []

    def flush() -> None:
        text = "".join(inline).strip()
        if text:
            blocks.append(text)
        inline.clear()

    for child in node.children:
        if isinstance(child, NavigableString):
            if child.__class__.__name__ == "Comment":
                continue
            inline.append(_collapse(str(child)))
            continue
        if not isinstance(child, Tag):
            continue
        name = child.name.lower()
        if name in ("p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "section", "article"):
            flush()
            blocks.extend(_blocks(child))
        elif name in ("ul", "ol"):
            flush()
            blocks.append(_list(child, ordered=(name == "ol")))
        elif name == "pre":
            flush()
            blocks.append("`" + child.get_text().strip() + "`")
        elif name == "table":
            flush()
            for row in child.find_all("tr"):
                cells = [_inline(c).strip() for c in row.find_all(["td", "th"])]
                blocks.append(" | ".join(cells))
        else:
            inline.append(_inline_tag(child))
    flush()
    return blocks


def _list(node: Tag, *, ordered: bool) -> str:
    items = []
    for i, li in enumerate(node.find_all("li", recursive=False), start=1):
        text = " ".join(b for b in _blocks(li) if b)
        items.append(f"{i}. {text}" if ordered else f"- {text}")
    return "\n".join(items)


def _collapse(text: str) -> str:
    return re.sub(r"\s+", " ", text)


def _inline(node: Tag) -> str:
    from bs4 import NavigableString, Tag

    return "".join(
        _collapse(str(c)) if isinstance(c, NavigableString) else _inline_tag(c)
        for c in node.children
        if isinstance(c, (NavigableString, Tag)) and c.__class__.__name__ != "Comment"
    )


def _inline_tag(tag: Tag) -> str:
    name = tag.name.lower()
    if name == "br":
        return "\n"
    inner = _inline(tag)
    if not inner.strip():
        return inner
    if name in ("b", "strong"):
        return f"**{inner.strip()}**"
    if name in ("i", "em"):
        return f"*{inner.strip()}*"
    if name == "code":
        return f"`{inner.strip()}`"
    if name == "a" and tag.get("href"):
        return f"[{inner.strip()}]({tag['href']})"
    return inner


# A mark is only read as a mark when converting it to HTML and back gives the same text: its content must
# not start or end with white space (the HTML side strips it) and must not be empty. Italic also needs a
# non-word character (or the line's edge) on both sides, so that "2*3*4" or "*.txt and *.csv" in plain
# text stay literal instead of turning into emphasis.
_INLINE_MD = re.compile(
    r"(\*\*(?P<b>\S(?:.*?\S)?)\*\*"
    r"|`(?P<c>[^`\s](?:[^`]*[^`\s])?)`"
    r"|\[(?P<lt>[^\]\s](?:[^\]]*[^\]\s])?)\]\((?P<lu>[^)\s]+)\)"
    r"|(?<!\w)\*(?P<i>[^*\s](?:[^*]*[^*\s])?)\*(?!\w))"
)
_BULLET = re.compile(r"^- (.*)$")
_NUMBERED = re.compile(r"^(\d+)\. (.*)$")


def canonical_to_html(text: str | None) -> str:
    """Render canonical text as simple HTML; ``html_to_canonical`` of the result gives the text back."""
    text = normalize_whitespace(text)
    if not text:
        return ""
    parts: list[str] = []
    for block in text.split("\n\n"):
        lines = block.split("\n")
        if all(_BULLET.match(line) for line in lines):
            items = "".join(f"<li>{inline_to_html(_BULLET.match(line).group(1))}</li>" for line in lines)  # type: ignore[union-attr]
            parts.append(f"<ul>{items}</ul>")
        elif _is_numbered_list(lines):
            items = "".join(f"<li>{inline_to_html(_NUMBERED.match(line).group(2))}</li>" for line in lines)  # type: ignore[union-attr]
            parts.append(f"<ol>{items}</ol>")
        else:
            parts.append("<p>" + "<br>".join(inline_to_html(line) for line in lines) + "</p>")
    return "".join(parts)


def _is_numbered_list(lines: list[str]) -> bool:
    """Lines numbered 1, 2, 3...: an HTML <ol> renumbers from 1, so any other numbering stays plain text."""
    for expected, line in enumerate(lines, start=1):
        m = _NUMBERED.match(line)
        if m is None or int(m.group(1)) != expected:
            return False
    return True


def inline_to_html(text: str) -> str:
    """Escape a line of canonical text and render its inline marks as HTML."""
    out: list[str] = []
    pos = 0
    for m in _INLINE_MD.finditer(text):
        out.append(html_lib.escape(text[pos : m.start()], quote=False))
        if m.group("b") is not None:
            out.append(f"<strong>{html_lib.escape(m.group('b'), quote=False)}</strong>")
        elif m.group("c") is not None:
            out.append(f"<code>{html_lib.escape(m.group('c'), quote=False)}</code>")
        elif m.group("lt") is not None:
            url = html_lib.escape(m.group("lu"), quote=True)
            out.append(f'<a href="{url}">{html_lib.escape(m.group("lt"), quote=False)}</a>')
        else:
            out.append(f"<em>{html_lib.escape(m.group('i'), quote=False)}</em>")
        pos = m.end()
    out.append(html_lib.escape(text[pos:], quote=False))
    return "".join(out)


def parse_inline(text: str) -> list[tuple[str, frozenset[str], str | None]]:
    """Split a line of canonical text into runs of (text, marks, link url).

    Marks are ``bold``, ``italic``, ``code``. Rich-text converters (TipTap) build their nodes from this.
    """
    runs: list[tuple[str, frozenset[str], str | None]] = []
    pos = 0
    for m in _INLINE_MD.finditer(text):
        if m.start() > pos:
            runs.append((text[pos : m.start()], frozenset(), None))
        if m.group("b") is not None:
            runs.append((m.group("b"), frozenset({"bold"}), None))
        elif m.group("c") is not None:
            runs.append((m.group("c"), frozenset({"code"}), None))
        elif m.group("lt") is not None:
            runs.append((m.group("lt"), frozenset(), m.group("lu")))
        else:
            runs.append((m.group("i"), frozenset({"italic"}), None))
        pos = m.end()
    if pos < len(text):
        runs.append((text[pos:], frozenset(), None))
    return runs


def stable_json(value: Any) -> str:
    """JSON with sorted keys and no insignificant white space: the input of every content hash."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def content_hash(value: Any) -> str:
    """A short, stable hash of any JSON-able value (sha256, first 32 hex digits)."""
    return hashlib.sha256(stable_json(value).encode("utf-8")).hexdigest()[:32]
