"""Inline marks of canonical text: runs of (text, marks, link) <-> one line of Markdown-like text.

Every editor stores formatted text as *runs*: pieces of text, each with a set of marks (TipTap JSON does it
literally; HTML does it as nested elements). Canonical text writes the marks as delimiters:

    **bold**  *italic*  ++underline++  ~~strike~~  `code`  [link text](url)

Marks combine in any way: ``***x***`` is bold and italic, ``[`x`](u)`` is code inside a link,
``**a *b* c**`` is italic inside bold.

Two functions make the round trip, and the sync's echo guard rests on them:

- :func:`render_inline` (runs -> text) writes each mark once around the longest stretch of runs it covers,
  in a fixed order when two marks cover the same stretch (link, bold, italic, underline, strike; code is
  always innermost, because code content is literal).
- :func:`parse_inline` (text -> runs) reads the delimiters back. It then checks its own answer: when
  rendering the runs does not give the very same line (text that only looks like markup, such as
  ``2*3*4``, ``C++ and C++`` or ``** not bold **``, or marks written in an order the renderer would not
  use), the whole line is one plain run. So ``render_inline(parse_inline(t)) == t`` for every line ``t``,
  which is what keeps a sync from seeing its own writes as changes.

Pure functions, no third-party imports (the HTML reader lives in :mod:`bridge.text`).
"""

from __future__ import annotations

import html
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

Run = tuple[str, frozenset[str], str | None]
"""A piece of text, its marks (see :data:`MARKS`) and the url of the link it is part of (or None)."""

MARKS = ("bold", "italic", "underline", "strike", "code")
"""Every inline mark canonical text can write (a link is the run's url, not a mark)."""

_DELIMS = {"bold": "**", "italic": "*", "underline": "++", "strike": "~~"}
# Single-character-ish delimiters that also occur in plain text ("2*3*4", "C++", "~~ approx") are only read
# as marks at word edges: not preceded by a word character when opening, not followed by one when closing.
_AT_WORD_EDGES = frozenset({"italic", "underline", "strike"})
_OPEN_ORDER = ("link", "bold", "italic", "underline", "strike")  # outermost first when extents tie
#: the characters a mark can begin with: a line without any is one plain run
SPECIAL_CHARS = r"[*`\[~+]"
_SPECIAL = re.compile(SPECIAL_CHARS)
_URL = re.compile(r"\(([^)\s]+)\)")
_NO_MARKS: frozenset[str] = frozenset()


# ------------------------------------------------------------------------------------------------ rendering


def render_inline(runs: list[Run]) -> str:
    """One line of canonical text for the runs (they must not contain a line break)."""
    if all(not marks and url is None for _, marks, url in runs):
        return "".join(text for text, _, _ in runs)
    return _render(_coalesce(runs), _NO_MARKS, None, _CANONICAL)


def render_html(runs: list[Run]) -> str:
    """The same runs as HTML elements, nested exactly as :func:`render_inline` nests the delimiters."""
    return _render(_coalesce(runs), _NO_MARKS, None, _HTML)


@dataclass(frozen=True)
class _Style:
    """How a renderer writes plain text, a mark (opening, closing) and a link (opening, closing)."""

    text: Callable[[str], str]
    marks: dict[str, tuple[str, str]]
    link: Callable[[str], tuple[str, str]]


_CANONICAL = _Style(
    text=lambda t: t,
    marks={"code": ("`", "`"), **{m: (d, d) for m, d in _DELIMS.items()}},
    link=lambda url: ("[", f"]({safe_url(url)})"),
)
_HTML_TAGS = {"bold": "strong", "italic": "em", "underline": "u", "strike": "s", "code": "code"}
_HTML = _Style(
    text=lambda t: html.escape(t, quote=False),
    marks={m: (f"<{tag}>", f"</{tag}>") for m, tag in _HTML_TAGS.items()},
    link=lambda url: (f'<a href="{html.escape(safe_url(url), quote=True)}">', "</a>"),
)


def render_lines(runs: list[Run]) -> str:
    """Canonical text for runs that may contain ``\\n`` (a line break inside a paragraph)."""
    if all(not marks and url is None for _, marks, url in runs):
        return "".join(text for text, _, _ in runs)  # plain text, the most common case: nothing to nest
    lines: list[list[Run]] = [[]]
    for text, marks, url in runs:
        pieces = text.split("\n")
        for k, piece in enumerate(pieces):
            if k:
                lines.append([])
            if piece:
                lines[-1].append((piece, marks, url))
    return "\n".join(render_inline(line) for line in lines)


def safe_url(url: str) -> str:
    """A url as canonical text can hold it: no white space, no ')' (they would end the link)."""
    return re.sub(r"\s", "%20", url.strip()).replace(")", "%29")


def _coalesce(runs: list[Run]) -> list[Run]:
    """Drop empty runs and merge neighbours with the same marks and link (editors split text freely)."""
    out: list[Run] = []
    for text, marks, url in runs:
        if not text:
            continue
        if out and out[-1][1] == marks and out[-1][2] == url:
            out[-1] = (out[-1][0] + text, marks, url)
        else:
            out.append((text, frozenset(marks), url))
    return out


def _extent(runs: list[Run], start: int, mark: str, url: str | None) -> int:
    n = 0
    for _, marks, link in runs[start:]:
        if (link == url) if mark == "link" else (mark in marks):
            n += 1
        else:
            break
    return n


def _render(runs: list[Run], opened: frozenset[str], link_open: str | None, style: _Style) -> str:
    out: list[str] = []
    i = 0
    while i < len(runs):
        text, marks, url = runs[i]
        best, best_len = None, 0
        for mark in _OPEN_ORDER:
            if mark == "link":
                wanted = url is not None and link_open is None
            else:
                wanted = mark in marks and mark not in opened
            if wanted:
                length = _extent(runs, i, mark, url)
                if length > best_len:  # strictly longer: a tie keeps the earlier (outer) mark
                    best, best_len = mark, length
        if best is None:
            if "code" in marks and "code" not in opened:
                length = 1
                while i + length < len(runs) and runs[i + length][1:] == (marks, url):
                    length += 1
                content = "".join(r[0] for r in runs[i : i + length])
                out.append(_wrap(style.text(content), *style.marks["code"]))
                i += length
            else:
                out.append(style.text(text))
                i += 1
            continue
        span = runs[i : i + best_len]
        if best == "link":
            assert url is not None
            inner = _render(span, opened, url, style)
            out.append(_wrap(inner, *style.link(url)))
        else:
            inner = _render(span, opened | {best}, link_open, style)
            out.append(_wrap(inner, *style.marks[best]))
        i += best_len
    return "".join(out)


def _wrap(inner: str, opening: str, closing: str) -> str:
    """Delimit ``inner``; white space at its edges goes outside the mark (editors do the same)."""
    body = inner.strip(" ")
    if not body:
        return inner
    lead = inner[: len(inner) - len(inner.lstrip(" "))]
    trail = inner[len(inner.rstrip(" ")) :]
    return f"{lead}{opening}{body}{closing}{trail}"


# -------------------------------------------------------------------------------------------------- parsing


def parse_inline(text: str) -> list[Run]:
    """Split a line of canonical text into runs; ``render_inline`` of the answer is ``text`` again."""
    if not text:
        return []
    if not _SPECIAL.search(text):
        return [(text, _NO_MARKS, None)]
    _budget.left = _BUDGET
    try:
        runs, _ = _parse(text, _NO_MARKS, None)
    except _OutOfBudget:
        return [(text, _NO_MARKS, None)]  # a line of nothing but delimiters: not worth guessing
    result = _coalesce(list(runs))
    if render_inline(result) != text:
        return [(text, _NO_MARKS, None)]  # only looks like markup, or marks in an order we would not write
    return result


class _OutOfBudget(Exception):
    pass


# Choosing among closers backtracks; a line made of delimiters ("*~~**++" repeated) could take seconds. Real
# text needs a few dozen tries per line; past this many the line is read as plain text (still exact). Cached
# sub-readings cost no tries, so such a line may be read with marks one time and plain another: either way
# it renders back to the same text, so the canonical form (what the sync compares) never changes.
_BUDGET = 4000
_budget = threading.local()  # tries left for the line being read in this thread


def _is_word(ch: str) -> bool:
    return ch.isalnum() or ch == "_"


@lru_cache(maxsize=4096)
def _parse(s: str, opened: frozenset[str], link: str | None) -> tuple[tuple[Run, ...], bool]:
    """Runs of ``s`` inside the given marks, and whether the reading is "dirty".

    A reading is dirty when it holds a sign of a misread delimiter: an opener that found no closer, the
    delimiter of a mark that is already open (``**`` inside bold), or a delimiter run split between a mark
    and plain text (``*a** b``). Among the possible closers of a mark the first one whose content reads
    cleanly wins, else the first one at all: so ``***x***`` is bold around italic, not bold ``*x`` and a
    stray ``*``. Whatever is chosen, :func:`parse_inline` keeps the answer only if it renders back exactly.
    """
    runs: list[Run] = []
    dirty = False
    plain_from = 0
    n = len(s)
    i = 0
    while i < n:
        special = _SPECIAL.search(s, i)  # jump to the next delimiter character: most text has few
        if special is None:
            break
        i = special.start()
        found, unclosed = _mark_at(s, i, opened, link)
        dirty = dirty or unclosed
        if found is None:
            i += 1
            continue
        end, inner = found
        # a delimiter run split between a mark and plain text ("*a** b": italic a, then a stray "*") is a
        # misreading more often than not: let the caller prefer another closer
        if s[i] in "*~+" and (end < len(s) and s[end] == s[end - 1] or i > plain_from and s[i - 1] == s[i]):
            dirty = True
        if i > plain_from:
            runs.append((s[plain_from:i], opened, link))
        runs.extend(inner)
        i = plain_from = end
    if plain_from < len(s):
        runs.append((s[plain_from:], opened, link))
    return tuple(runs), dirty


def _mark_at(
    s: str, i: int, opened: frozenset[str], link: str | None
) -> tuple[tuple[int, tuple[Run, ...]] | None, bool]:
    """The mark opening at ``s[i]``: (end, runs) or None, and whether an opener there found no closer."""
    ch = s[i]
    if ch == "`":
        if "code" in opened:
            return None, False
        j = s.find("`", i + 1)
        content = s[i + 1 : j] if j > 0 else ""
        if not content or content != content.strip():
            return None, True
        return (j + 1, ((content, opened | {"code"}, link),)), False
    if ch == "[":
        return _link_at(s, i, opened, link)
    candidates = []
    if s.startswith("**", i):
        candidates.append("bold")
    if ch == "*":
        candidates.append("italic")
    if s.startswith("++", i):
        candidates.append("underline")
    if s.startswith("~~", i):
        candidates.append("strike")
    fallback: tuple[int, tuple[Run, ...]] | None = None
    any_dirty = False
    for mark in candidates:  # "**" is bold or italic around bold: the first clean reading wins
        found, dirty = _delimited_at(s, i, mark, opened, link)
        if found is not None and not dirty:
            return found, False
        if fallback is None:
            fallback = found
        any_dirty = any_dirty or dirty
    return fallback, any_dirty


def _delimited_at(
    s: str, i: int, mark: str, opened: frozenset[str], link: str | None
) -> tuple[tuple[int, tuple[Run, ...]] | None, bool]:
    delim = _DELIMS[mark]
    start = i + len(delim)
    if mark in opened:
        return None, True  # "**" inside bold: more likely a closer than text, prefer readings without it
    if start >= len(s) or s[start] == " ":
        return None, False
    if mark in _AT_WORD_EDGES and i > 0 and _is_word(s[i - 1]):
        return None, False
    fallback: tuple[int, tuple[Run, ...]] | None = None
    j = s.find(delim, start + 1)
    while j != -1:
        after = j + len(delim)
        _budget.left -= 1
        if _budget.left < 0:
            raise _OutOfBudget
        at_edge = not (mark in _AT_WORD_EDGES and after < len(s) and _is_word(s[after]))
        if at_edge:
            inner, dirty = _parse(s[start:j], opened | {mark}, link)
            dirty = dirty or after < len(s) and s[after] == delim[0]  # splits a delimiter run: see _parse
            if _clean_edges(inner, opened | {mark}, link, delim[0]):
                if not dirty:
                    return (after, inner), False
                if fallback is None:
                    fallback = (after, inner)
        j = s.find(delim, j + 1)
    return fallback, True


def _link_at(
    s: str, i: int, opened: frozenset[str], link: str | None
) -> tuple[tuple[int, tuple[Run, ...]] | None, bool]:
    if link is not None:
        return None, False
    k = s.find("]", i + 1)
    m = _URL.match(s, k + 1) if k > i + 1 else None
    if m is None:
        return None, True
    inner, dirty = _parse(s[i + 1 : k], opened, m.group(1))
    if not _clean_edges(inner, opened, m.group(1), "["):
        return None, True
    return (m.end(), inner), dirty


def _clean_edges(inner: tuple[Run, ...], marks: frozenset[str], link: str | None, delim_char: str) -> bool:
    """A mark's content is not empty, and its plain text (runs with only the marks around it, ``marks`` and
    ``link``) does not start or end with a space or the mark's delimiter: ``** x **`` and ``***x**`` are not
    bold. A nested mark at an edge is fine: ``***x***`` is bold around italic."""
    if not inner:
        return False
    first, last = inner[0], inner[-1]
    if first[1:] == (marks, link) and first[0][:1] in (" ", delim_char):
        return False
    if last[1:] == (marks, link) and last[0][-1:] in (" ", delim_char):
        return False
    return True
