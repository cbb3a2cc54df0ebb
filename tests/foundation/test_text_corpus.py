"""Canonical text on a corpus of real-looking HTML (editor output, Word and Confluence pastes), byte for byte
as the release before the conversion's shortcuts gave it (tests/fixtures/text/html_corpus.expected.json), and
the white space shortcut against the full folding on tricky white space."""

import itertools
import json
from pathlib import Path

import pytest

from bridge import text

FIXTURES = Path(__file__).parent.parent / "fixtures" / "text"
CORPUS = json.loads((FIXTURES / "html_corpus.json").read_text("utf-8"))
EXPECTED = json.loads((FIXTURES / "html_corpus.expected.json").read_text("utf-8"))


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_html_corpus_converts_as_before(name):
    assert text.html_to_canonical(CORPUS[name]) == EXPECTED[name]
    assert text.html_to_canonical(CORPUS[name]) == EXPECTED[name]  # again: from the memo this time
    assert text.html_to_canonical(EXPECTED[name]) == EXPECTED[name]  # canonical text is a fixed point


FRAGMENTS = [
    "a",
    "b c",
    " ",
    "  ",
    "\n",
    "\n\n",
    "\n\n\n",
    "\r\n",
    "\r",
    "\t",
    "\u00a0",
    "\u200b",
    "\u3000",
    "\x1f",
    "é",
]


def test_the_clean_text_shortcut_folds_exactly_like_the_full_folding():
    checked = 0
    for n in range(1, 5):
        for parts in itertools.product(FRAGMENTS, repeat=n):
            value = "".join(parts)
            assert text.normalize_whitespace(value) == text._normalize_all(value), repr(value)
            checked += 1
    assert checked > 50_000
    for value in list(CORPUS.values()) + list(EXPECTED.values()):
        assert text.normalize_whitespace(value) == text._normalize_all(value)
    # every white space and zero-width character there is, alone, inside a word and at its edges
    odd = [chr(c) for c in range(0x110000) if chr(c).isspace() or chr(c) in "\u200b\u200c\u200d\ufeff"]
    assert len(odd) > 25
    for c in odd:
        for value in (c, f"a{c}b", f"a{c}", f"{c}b", f"a{c}{c}b"):
            assert text.normalize_whitespace(value) == text._normalize_all(value), repr(value)


SIMPLE_PIECES = [
    "<p>", "</p>", "<P>", "</P >", "<br>", "<br/>", "<br />", "<BR>", "</br>", "<p/>",
    "<strong>", "</strong>", "<b>", "</b>", "<em>", "</em>", "<i>", "</i>", "<STRONG>", "</Strong>", "<b >",
    "Step 1", "do", " ", "  ", "\n", "\t", "\u00a0", "\r\n", "x y", "*", "**", "`", "_", "[a](b)", "~~", "++",
    "a > b", "<", "a<b", "&amp;", "&nbsp;", "é", "-", "1. ", "- ",
]  # fmt: skip


def test_simple_html_reads_as_through_the_parse_tree():
    """The shortcut for simple HTML (bridge.text._simple_blocks) against BeautifulSoup's reading, on every
    sequence of up to four pieces of tags and texts: byte for byte the same, and taken for most of them."""
    import random

    rng = random.Random(17)
    fast = 0
    sequences = [p for n in range(1, 4) for p in itertools.product(SIMPLE_PIECES, repeat=n)]
    sequences += [tuple(rng.choice(SIMPLE_PIECES) for _ in range(rng.randint(4, 12))) for _ in range(20_000)]
    sequences += [(well_formed(rng, depth=3),) for _ in range(10_000)]
    for parts in sequences:
        markup = "".join(parts)
        if not text.looks_like_html(markup):
            continue
        blocks = text._simple_blocks(markup)
        if blocks is not None:
            fast += 1
            assert text.normalize_whitespace("\n\n".join(blocks)) == text._parsed_to_canonical(markup), repr(markup)
    assert fast > 15_000


def well_formed(rng, depth):
    """Simple HTML nested properly: paragraphs of text, breaks and (nested) bold and italic."""
    texts = [t for t in SIMPLE_PIECES if "<" not in t and "&" not in t]

    def inline(level):
        out = []
        for _ in range(rng.randint(0, 3)):
            pick = rng.random()
            if pick < 0.5 or level == 0:
                out.append(rng.choice(texts))
            elif pick < 0.6:
                out.append(rng.choice(["<br>", "<br/>", "<br />", "<BR>"]))
            else:
                tag = rng.choice(["strong", "b", "em", "i", "STRONG"])
                out.append(f"<{tag}>{inline(level - 1)}</{tag.lower() if rng.random() < 0.5 else tag}>")
        return "".join(out)

    parts = []
    for _ in range(rng.randint(1, 4)):
        parts.append(f"<p>{inline(depth)}</p>" if rng.random() < 0.7 else inline(depth))
        parts.append(rng.choice(["", "\n", " ", "\r\n"]))
    return "".join(parts)


def test_the_benchmark_s_step_html_takes_the_shortcut():
    for markup in (
        "<p>Step 1: do <strong>action 7</strong></p>",
        "<p>User is signed in</p>",
        "a<br>b",
        "<p><em>x</em></p>",
    ):
        assert text._simple_blocks(markup) is not None, markup
    for markup in ('<p class="x">a</p>', "<p>a &amp; b</p>", "<ul><li>a</li></ul>", "<p>a<strong>b</p></strong>"):
        assert text._simple_blocks(markup) is None, markup
