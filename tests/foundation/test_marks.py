"""Inline marks in every combination: canonical text <-> HTML (TestRail, CodeArts) <-> TipTap (TestPlanIt).

The editors combine bold, italic, underline, strike, code and links freely (TipTap stores one text node with
several marks, HTML nests elements). Each combination must survive canonical -> HTML -> canonical and
canonical -> TipTap -> canonical unchanged (the sync's echo guard), and the marks must still be there.
"""

from __future__ import annotations

import itertools
import json
import random
import time

import pytest

from adapters.testplanit import richtext
from bridge.marks import MARKS, Run, parse_inline, render_html, render_inline
from bridge.text import canonical_to_html, html_to_canonical

URL = "https://docs.example/a?b=1&c=2"
ALL = (*MARKS, "link")
PAIRS = list(itertools.combinations(ALL, 2))
TRIPLES = [
    ("bold", "italic", "underline"),
    ("bold", "italic", "code"),
    ("italic", "strike", "link"),
    ("bold", "code", "link"),
    ("underline", "strike", "code"),
    ("bold", "italic", "link"),
]


def _run(text: str, marks: tuple[str, ...]) -> Run:
    return (text, frozenset(m for m in marks if m != "link"), URL if "link" in marks else None)


def _tiptap_text(text: str, marks: tuple[str, ...]) -> dict[str, object]:
    node_marks = [{"type": "link", "attrs": {"href": URL}} if m == "link" else {"type": m} for m in marks]
    return {"type": "text", "text": text, "marks": node_marks}


def _doc(*nodes: dict[str, object]) -> dict[str, object]:
    return {"type": "doc", "content": [{"type": "paragraph", "content": list(nodes)}]}


def _marks_of(doc: dict[str, object]) -> list[tuple[str, frozenset[str]]]:
    """(text, marks with the link's href) of every text node of a one-paragraph TipTap document."""
    out = []
    for node in doc["content"][0]["content"]:  # type: ignore[index]
        names = set()
        for m in node.get("marks", []):
            names.add(f"link:{m['attrs']['href']}" if m["type"] == "link" else m["type"])
        out.append((node["text"], frozenset(names)))
    return out


def _signature(runs: list[Run]) -> list[tuple[str, frozenset[str], str | None]]:
    """Marks per character, spaces left out (a mark's edge spaces are written outside it)."""
    return [(ch, marks, url) for text, marks, url in runs for ch in text if ch != " "]


def _assert_stable(canonical: str) -> None:
    assert html_to_canonical(canonical_to_html(canonical)) == canonical
    assert richtext.to_canonical(richtext.from_canonical(canonical)) == canonical
    assert richtext.to_canonical(richtext.to_json_string(canonical)) == canonical


# -------------------------------------------------------------------------- one text node, several marks


@pytest.mark.parametrize("marks", PAIRS + TRIPLES, ids="+".join)
def test_one_text_node_with_several_marks_round_trips(marks: tuple[str, ...]) -> None:
    before, after = {"type": "text", "text": "Before "}, {"type": "text", "text": " after"}
    doc = _doc(before, _tiptap_text("both marks", marks), after)
    canonical = richtext.to_canonical(doc)
    _assert_stable(canonical)
    # the marks survive into HTML and back into TipTap: same text, same marks
    assert parse_inline(html_to_canonical(canonical_to_html(canonical))) == [
        ("Before ", frozenset(), None),
        _run("both marks", marks),
        (" after", frozenset(), None),
    ]
    assert _marks_of(richtext.from_canonical(canonical)) == _marks_of(doc)


def test_bold_italic_is_one_mark_pair_not_stray_stars() -> None:
    """The bug the issue reports: ``***x***`` was written to TestRail as ``<strong>*x</strong>*``."""
    doc = _doc(_tiptap_text("x", ("bold", "italic")))
    assert richtext.to_canonical(doc) == "***x***"
    assert canonical_to_html("***x***") == "<p><strong><em>x</em></strong></p>"
    assert html_to_canonical("<p><em><strong>x</strong></em></p>") == "***x***"


def test_code_inside_a_link() -> None:
    canonical = f"run [`make test`]({URL}) first"
    href = URL.replace("&", "&amp;")
    assert canonical_to_html(canonical) == f'<p>run <a href="{href}"><code>make test</code></a> first</p>'
    assert html_to_canonical(canonical_to_html(canonical)) == canonical
    doc = richtext.from_canonical(canonical)
    assert _marks_of(doc)[1] == ("make test", frozenset({"code", f"link:{URL}"}))
    assert richtext.to_canonical(doc) == canonical


@pytest.mark.parametrize(
    ("html", "canonical"),
    [
        ("<p><b><i>x</i></b></p>", "***x***"),
        ("<p><u>under</u> and <ins>ins</ins></p>", "++under++ and ++ins++"),
        ("<p><s>s</s> <strike>strike</strike> <del>del</del></p>", "~~s~~ ~~strike~~ ~~del~~"),
        ("<p><del><strong>gone</strong></del></p>", "**~~gone~~**"),  # one order, whatever the nesting
        ("<p><strong>a <em>b</em> c</strong></p>", "**a *b* c**"),
        ("<p><em>a <strong>b</strong></em></p>", "*a **b***"),
        ("<p><strong> spaced </strong>out</p>", "**spaced** out"),  # edge spaces go outside the mark
        ('<p><a href="http://x.example"><strong>bold</strong> link</a></p>', "[**bold** link](http://x.example)"),
        ("<p><code><b>x</b></code></p>", "**`x`**"),  # code is always innermost
        ("<p><strong>a<br>b</strong></p>", "**a**\n**b**"),
    ],
)
def test_html_marks_read_as_canonical(html: str, canonical: str) -> None:
    assert html_to_canonical(html) == canonical
    _assert_stable(canonical)


# ------------------------------------------------------------------- marks that overlap only partly


@pytest.mark.parametrize("marks", PAIRS, ids="+".join)
def test_overlapping_marks_round_trip(marks: tuple[str, str]) -> None:
    first, second = marks
    runs = [
        _run("one ", (first,)),
        _run("two", (first, second)),
        _run(" three", (second,)),
        (", four", frozenset(), None),
    ]
    canonical = render_inline(runs)
    _assert_stable(canonical)
    assert _signature(parse_inline(canonical)) == _signature(runs)
    # and the HTML has the same structure: reading it back gives the same marks per character
    assert _signature(parse_inline(html_to_canonical(render_html(runs)))) == _signature(runs)


B, It, S, U, C = (frozenset({m}) for m in ("bold", "italic", "strike", "underline", "code"))


@pytest.mark.parametrize(
    ("text", "runs"),
    [
        # a lone "*" must not close the italic at the first star of a "**" opener
        ("*~~**x** y:~~*", [("x", It | S | B, None), (" y:", It | S, None)]),
        # nor a "**" closer be split into "*" (closing italic) and a stray "*"
        ("***a** b* **c**", [("a", B | It, None), (" b", It, None), (" ", frozenset(), None), ("c", B, None)]),
        # "**" inside an open bold is its closer, not text: italic around bold at both ends
        ("***a:** b **c***", [("a:", It | B, None), (" b ", It, None), ("c", It | B, None)]),
        ("[***a** `b` **++c++***](http://u)", [("a", It | B, "http://u"), (" ", It, "http://u"),
                                                ("b", It | C, "http://u"), (" ", It, "http://u"),
                                                ("c", It | B | U, "http://u")]),
    ],
)  # fmt: skip
def test_delimiter_runs_are_read_as_written(text: str, runs: list[Run]) -> None:
    assert parse_inline(text) == runs
    assert render_inline(runs) == text
    _assert_stable(text)


def test_random_mark_combinations_survive() -> None:
    """A seeded sweep: runs of words with random marks. Always stable; marks kept when they sit at word
    edges. Canonical text has no escapes, so a mark starting inside a word (``a*b*``) or a marked text holding
    its own delimiter (underlined ``C++``) is read as plain text: stable, but the mark is lost."""
    rng = random.Random(13)
    words = ["a", "word", "x1", "é", "two words", "1.5", "snake_case", "(p)", "a, b"]
    for _ in range(800):
        runs: list[Run] = []
        for _ in range(rng.randint(1, 5)):
            chosen = tuple(m for m in ALL if rng.random() < 0.35)
            runs.append(_run(rng.choice(words) + rng.choice([" ", ", ", ": "]), chosen))
        canonical = render_inline(runs).strip()
        _assert_stable(canonical)
        assert _signature(parse_inline(canonical)) == _signature(runs), (runs, canonical)
    for _ in range(800):  # marks glued to words or holding delimiters: stable even where a mark is lost
        glued = [*words, "C++", "a*b", "~~", "`q`", "[x]"]
        runs = [_run(rng.choice(glued), tuple(m for m in ALL if rng.random() < 0.35)) for _ in range(4)]
        _assert_stable(render_inline(runs).strip())


# ------------------------------------------------------------------------------ plain text stays plain


@pytest.mark.parametrize(
    "text",
    [
        "C++ and C++",
        "i++ then ++j",
        "~~ approx 5 ~~",
        "a ~~ b",
        "2*3*4 and x++y++z",
        "**a****b**",  # two bold marks back to back: an editor would have merged them, so it is text
        "~~**x**~~",  # marks in the order the renderer does not use: kept as written
        "*",
        "***",
        "[a](b c)",
    ],
)
def test_text_that_only_looks_like_marks_is_kept_as_written(text: str) -> None:
    assert parse_inline(text) == [(text, frozenset(), None)]
    _assert_stable(text)


def test_a_line_of_delimiters_is_read_quickly() -> None:
    for line in ("*~~**++" * 60, "***x** " * 100, "*" * 400, "[a](b) **x** " * 200):
        started = time.perf_counter()
        runs = parse_inline(line)
        assert time.perf_counter() - started < 1.0, line[:40]
        assert render_inline(runs) == line


def test_tiptap_json_string_carries_every_mark() -> None:
    stored = json.loads(richtext.to_json_string("++u++ ~~s~~ `c` **b** *i*"))
    assert [m["type"] for node in stored["content"][0]["content"] for m in node.get("marks", [])] == [
        "underline",
        "strike",
        "code",
        "bold",
        "italic",
    ]


def test_random_tiptap_documents_are_stable() -> None:
    """What the editor may store (marks in any order, marks we do not model, breaks inside marked text, empty
    text nodes): read once, written back and read again gives the same canonical text."""
    rng = random.Random(7)
    texts = ["word", " ", "two words", "*", "a*b", "~~", "++", "`", "[x](y)", "C++", "é", ":", " end "]
    kinds = ["bold", "italic", "underline", "strike", "code", "link", "highlight", "textStyle"]
    for _ in range(1500):
        nodes: list[dict[str, object]] = []
        for _ in range(rng.randint(1, 6)):
            if rng.random() < 0.1:
                nodes.append({"type": "hardBreak"})
                continue
            hrefs = [URL, "http://o.example/(x)", "http://o.example/a b"]
            marks = [
                {"type": k, "attrs": {"href": rng.choice(hrefs)}} if k == "link" else {"type": k}
                for k in rng.sample(kinds, rng.randint(0, 3))
            ]
            nodes.append({"type": "text", "text": rng.choice(texts), "marks": marks})
        canonical = richtext.to_canonical(_doc(*nodes))
        _assert_stable(canonical)
