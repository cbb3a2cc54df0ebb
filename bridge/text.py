"""Canonical text: one form for the rich text every system stores differently.

TestRail and CodeArts keep HTML or Markdown-ish text, TestPlanIt keeps TipTap JSON. To compare them we
bring all of them to one small, stable, Markdown-like form:

- paragraphs separated by one blank line; line breaks inside a paragraph kept as ``\\n``
- bullet list items as ``- item``; ordered list items as ``1. item`` (numbered from 1)
- inline marks ``**bold**``, ``*italic*``, ``++underline++``, ``~~strike~~``, `` `code` ``, ``[text](url)``,
  combined in any way (``***bold italic***``, ``[`code in a link`](url)``): see :mod:`bridge.marks`, which
  both this HTML reader and the TipTap converter go through
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

from bridge.marks import Run, parse_inline, render_html, render_lines

if TYPE_CHECKING:
    from bs4 import BeautifulSoup, Tag

# bs4 is imported where HTML is first parsed, not here: every command imports this module and bs4 with
# soupsieve costs a tenth of a second at start-up, which a CI step that never reads HTML should not pay.

_WS = re.compile(r"[ \t\f\v\u00a0\u2000-\u200a\u202f\u205f\u3000]+")
_BLANKS = re.compile(r"\n{3,}")
_TAGS = r"(?:p|br|div|ul|ol|li|b|strong|i|em|u|ins|s|strike|del|code|pre|a|span|h[1-6]|table|tr|td|th)"
# A whole tag: a closing tag, or an opening one whose attributes (if any) have quoted values, as every
# editor writes them. Plain text such as "if a<b and c > d" must not be parsed as markup.
_HTML_HINT = re.compile(
    rf"</{_TAGS}\s*>|<{_TAGS}(?:\s+[\w:-]+\s*=\s*(?:\"[^\"]*\"|'[^']*'))*\s*/?>",
    re.I,
)
_ZERO_WIDTH = re.compile(r"[\u200b\u200c\u200d\ufeff]")
# A character normalize_whitespace would change: white space other than space and newline (what ``\s`` matches
# in a str pattern, written out as one character class: a class is searched several times faster than the
# alternation it replaces), or a zero-width character.
_ODD_SPACE = re.compile("[\t\r\x0b\x0c\x1c-\x1f\x85\xa0\u1680\u2000-\u200d\u2028\u2029\u202f\u205f\u3000\ufeff]")


def _is_clean(text: str) -> bool:
    """Whether normalize_whitespace leaves ``text`` as it is: no odd space character, no two spaces, no space at
    a line's edge, no three newlines, no space or newline at either end. Most field values are clean."""
    return not (
        _ODD_SPACE.search(text)
        or "  " in text
        or " \n" in text
        or "\n " in text
        or "\n\n\n" in text
        or text[0] in " \n"
        or text[-1] in " \n"
    )


def normalize_whitespace(text: str | None) -> str:
    """Fold white space the way every system's editor does, without touching the words.

    CRLF and CR become LF, zero-width characters vanish, runs of spaces/tabs/nbsp become one space,
    each line is stripped at its end, and runs of blank lines become one blank line.
    """
    if not text:
        return ""
    if _is_clean(text):
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
    blocks = _simple_blocks(markup)
    if blocks is not None:
        return normalize_whitespace("\n\n".join(blocks))
    return _parsed_to_canonical(markup)


def _parsed_to_canonical(markup: str) -> str:
    """html_to_canonical of HTML through BeautifulSoup's parse tree (any HTML)."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(markup, "html.parser")
    blocks = _blocks(soup)
    return normalize_whitespace("\n\n".join(b for b in blocks if b.strip()))


# The HTML most editors write for a step or a one-line field: paragraphs, line breaks, bold and italic, no
# attributes, no entities. Read without building a parse tree (and without importing bs4), as _blocks reads
# its tree; anything else (another tag, an attribute, an entity, a stray "<", tags not nested properly) is
# left to BeautifulSoup. tests/foundation/test_text_corpus.py compares both readings on generated markup.
_SIMPLE_TAG = re.compile(r"<(/?)(p|br|strong|b|em|i)\s*(/?)>", re.I)
_SIMPLE_MARKS = {"strong": "bold", "b": "bold", "em": "italic", "i": "italic"}


def _simple_blocks(markup: str) -> list[str] | None:
    """The blocks :func:`_blocks` finds in ``markup`` when it is simple HTML (see above), else None."""
    if "&" in markup:
        return None
    blocks: list[str] = []
    inline: list[Run] = []
    open_marks: list[tuple[str, str]] = []  # (tag, mark) of the inline elements open here
    in_paragraph = False
    at = 0
    for tag in _SIMPLE_TAG.finditer(markup):
        if not _simple_text(markup[at : tag.start()], open_marks, inline):
            return None
        at = tag.end()
        closing, name, selfclosing = tag.group(1), tag.group(2).lower(), tag.group(3)
        if name == "br":
            if closing:
                return None
            inline.append(("\n", frozenset(mark for _, mark in open_marks), None))
        elif selfclosing:
            return None
        elif name == "p":
            # a paragraph holds inline content only, and ends a block before and after it
            if open_marks or in_paragraph == (not closing):
                return None
            in_paragraph = not closing
            _flush(inline, blocks)
        elif not closing:
            open_marks.append((name, _SIMPLE_MARKS[name]))
        elif not open_marks or open_marks.pop()[0] != name:
            return None
    if not _simple_text(markup[at:], open_marks, inline) or open_marks or in_paragraph:
        return None
    _flush(inline, blocks)
    return blocks


def _simple_text(text: str, open_marks: list[tuple[str, str]], inline: list[Run]) -> bool:
    if "<" in text:
        return False
    if text:
        inline.append((_collapse(text), frozenset(mark for _, mark in open_marks), None))
    return True


def _flush(inline: list[Run], blocks: list[str]) -> None:
    text = render_lines(inline).strip()
    if text:
        blocks.append(text)
    inline.clear()


def _blocks(node: Tag | BeautifulSoup) -> list[str]:
    """Split a node into block-level paragraphs of canonical text."""
    from bs4 import NavigableString, Tag

    blocks: list[str] = []
    inline: list[Run] = []

    def flush() -> None:
        text = render_lines(inline).strip()
        if text:
            blocks.append(text)
        inline.clear()

    for child in node.children:
        if isinstance(child, NavigableString):
            if child.__class__.__name__ == "Comment":
                continue
            inline.append((_collapse(str(child)), _PLAIN, None))
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
                cells = [render_lines(_inline(c, _PLAIN, None)).strip() for c in row.find_all(["td", "th"])]
                blocks.append(" | ".join(cells))
        else:
            inline.extend(_inline_tag(child, _PLAIN, None))
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


_PLAIN: frozenset[str] = frozenset()
# The elements editors write for each mark (TestRail's and CodeArts' editors, pasted Word/Confluence HTML).
_MARK_TAGS = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strike",
    "strike": "strike",
    "del": "strike",
    "code": "code",
}


def _inline(node: Tag, marks: frozenset[str], link: str | None) -> list[Run]:
    """The runs of a node's inline content, inside the marks and link around it."""
    from bs4 import NavigableString, Tag

    runs: list[Run] = []
    for c in node.children:
        if isinstance(c, NavigableString):
            if c.__class__.__name__ != "Comment":
                runs.append((_collapse(str(c)), marks, link))
        elif isinstance(c, Tag):
            runs.extend(_inline_tag(c, marks, link))
    return runs


def _inline_tag(tag: Tag, marks: frozenset[str], link: str | None) -> list[Run]:
    name = tag.name.lower()
    if name == "br":
        return [("\n", marks, link)]
    mark = _MARK_TAGS.get(name)
    if mark is not None:
        return _inline(tag, marks | {mark}, link)
    href = tag.get("href") if name == "a" else None
    if isinstance(href, str) and href.strip() and link is None:
        return _inline(tag, marks, href.strip())
    return _inline(tag, marks, link)


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
    return render_html(parse_inline(text))


# built once: json.dumps with options builds an encoder per call, a sixth of the cost of hashing a short field
_STABLE = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def stable_json(value: Any) -> str:
    """JSON with sorted keys and no insignificant white space: the input of every content hash."""
    return _STABLE.encode(value)


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def _content_hash(value: Any) -> str:
    return _sha(stable_json(value))


# an empty field is most of a view's fields (no automation key, no preconditions, no requirements): its hash
# is known (None goes through the encoder's slow path)
_NONE_HASH, _EMPTY_STR_HASH, _EMPTY_LIST_HASH = _content_hash(None), _content_hash(""), _content_hash([])


def content_hash(value: Any) -> str:
    """A short, stable hash of any JSON-able value (sha256, first 32 hex digits)."""
    if value is None:
        return _NONE_HASH
    kind = value.__class__
    if kind is str:
        # what the encoder answers for a str (it hands it to this very function), without its call layers:
        # titles, texts, priority and type are most of a view's fields
        return _sha(_json_str(value)) if value else _EMPTY_STR_HASH
    if kind is list:
        if not value:
            return _EMPTY_LIST_HASH
        items = [_json_str(v) if v.__class__ is str else _text_dict(v) for v in value]
        if None not in items:  # folder, tags, requirements and steps: joined as the encoder joins them
            return _sha("[" + ",".join(items) + "]")  # type: ignore[arg-type]
    elif kind is int:
        return _sha(int.__repr__(value))  # (how the encoder writes an int; bool is not int here)
    return _content_hash(value)


_json_str = json.encoder.encode_basestring  # the C version when there is one, as the encoder itself uses


def _text_dict(value: Any) -> str | None:
    """stable_json of a dict of str to str (a step), else None."""
    if value.__class__ is not dict or not all(k.__class__ is str and v.__class__ is str for k, v in value.items()):
        return None
    return "{" + ",".join(_json_str(k) + ":" + _json_str(v) for k, v in sorted(value.items())) + "}"
