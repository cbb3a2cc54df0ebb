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
