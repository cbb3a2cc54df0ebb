"""Pure conversions: TipTap JSON <-> canonical text, error trimming, native rows -> normalized records."""

from __future__ import annotations

import json
import random

import pytest

from adapters.testplanit import convert, richtext
from adapters.testplanit.client import trim_message
from bridge.text import normalize_whitespace

CANONICAL = [
    "",
    "plain",
    "**bold** and *italic* and `code`",
    "line one\nline two",
    "para one\n\npara two",
    "- a\n- **b**",
    "1. first\n2. second",
    "see [the docs](https://example.com/x?y=1) now",
    "a < b & c > d",
    "Intro\n\n- item\n\n1. step",
]


@pytest.mark.parametrize("text", CANONICAL)
def test_canonical_round_trip(text: str) -> None:
    doc = richtext.from_canonical(text)
    assert richtext.to_canonical(doc) == text
    assert richtext.to_canonical(json.dumps(doc)) == text  # as the UI stores it: a JSON string


def test_reads_what_the_ui_writes() -> None:
    doc = {
        "type": "doc",
        "content": [
            {"type": "heading", "attrs": {"level": 2}, "content": [{"type": "text", "text": "Title"}]},
            {
                "type": "paragraph",
                "content": [
                    {"type": "text", "text": "Click "},
                    {"type": "text", "text": "Save", "marks": [{"type": "bold"}, {"type": "italic"}]},
                    {"type": "hardBreak"},
                    {"type": "text", "text": "then wait", "marks": [{"type": "underline"}]},
                ],
            },
            {"type": "codeBlock", "content": [{"type": "text", "text": "make test"}]},
            {"type": "blockquote", "content": [{"type": "paragraph", "content": [{"type": "text", "text": "quoted"}]}]},
            {
                "type": "bulletList",
                "content": [
                    {"type": "listItem", "content": [{"type": "paragraph", "content": [{"type": "text", "text": "x"}]}]}
                ],
            },
            {"type": "paragraph"},
        ],
    }
    text = richtext.to_canonical(doc)
    for word in ("Title", "Save", "then wait", "make test", "quoted", "- x"):
        assert word in text
    assert text == normalize_whitespace(text)


def test_one_plain_line_reads_and_writes_as_the_general_path_does() -> None:
    """The shortcuts for a plain line (most steps) give what the block-by-block reading would."""
    assert richtext.from_canonical("Open the page") == {
        "type": "doc",
        "content": [{"type": "paragraph", "content": [{"type": "text", "text": "Open the page"}]}],
    }
    # lines that look plain but are lists or marks are not shortcut
    assert richtext.from_canonical("- item")["content"][0]["type"] == "bulletList"
    assert richtext.from_canonical("1. step")["content"][0]["type"] == "orderedList"
    assert richtext.from_canonical("a **b**")["content"][0]["content"][1]["marks"] == [{"type": "bold"}]

    def one(node: dict[str, object]) -> dict[str, object]:
        return {"type": "doc", "content": [{"type": "paragraph", "content": [node]}]}

    assert richtext.to_canonical(one({"type": "text", "text": "  a  \u00a0 b "})) == "a b"
    assert richtext.to_canonical(json.dumps(one({"type": "text", "text": " \n "}))) == ""
    assert richtext.to_canonical(one({"type": "text", "text": "x", "marks": [{"type": "bold"}]})) == "**x**"
    assert richtext.to_canonical(one({"type": "text", "text": "x", "marks": []})) == "x"
    heading = {"type": "doc", "content": [{"type": "heading", "content": [{"type": "text", "text": "x"}]}]}
    assert richtext.to_canonical(heading) == "x"
    assert richtext.to_json_string("Open the page") == json.dumps(richtext.from_canonical("Open the page"))


def test_non_json_strings_pass_through() -> None:
    assert richtext.to_canonical("just text") == "just text"
    assert richtext.to_canonical("{not json") == "{not json"
    assert richtext.to_canonical(None) == ""


def test_trim_prisma_message() -> None:
    message = (
        "\nInvalid `prisma.repositoryCases.findMany()` invocation:\n\n{\n  where: {\n    updatedAt: {}\n  }\n}\n\n"
        "Unknown argument `updatedAt`. Did you mean `createdAt`? Available options are marked with ?."
    )
    assert trim_message(message) == (
        "repositoryCases.findMany: Unknown argument updatedAt. Did you mean createdAt? "
        "Available options are marked with ?."
    )
    assert trim_message("entity not found for model repositoryCases") == "entity not found for model repositoryCases"


def test_case_from_native_filters_marker_and_deleted_steps() -> None:
    row = {
        "id": 5,
        "name": "T",
        "folderId": 3,
        "className": None,
        "estimate": None,
        "createdAt": "2026-01-01T00:00:00.000Z",
        "steps": [
            {
                "id": 2,
                "order": 1,
                "isDeleted": False,
                "step": json.dumps(richtext.from_canonical("second")),
                "expectedResult": None,
            },
            {"id": 1, "order": 0, "isDeleted": False, "step": richtext.from_canonical("first"), "expectedResult": None},
            {"id": 3, "order": 2, "isDeleted": True, "step": "gone", "expectedResult": None},
        ],
        "tags": [{"name": "tpb:abc"}, {"name": "smoke"}],
        "issues": [{"name": "REQ-1", "isDeleted": False}],
    }
    paths = convert.folder_paths(
        [
            {"id": 1, "name": "Payments", "parentId": None},
            {"id": 2, "name": "A", "parentId": 1},
            {"id": 3, "name": "B", "parentId": 2},
        ]
    )
    case = convert.case_from_native(row, paths)
    assert case.folder == ("Payments", "A", "B") and case.marker == "abc" and case.tags == ["smoke"]
    assert [s.action for s in case.steps] == ["first", "second"]
    assert case.requirements == ["REQ-1"]


def test_folder_paths_start_at_each_top_level_folder() -> None:
    """No root folder: every top-level folder (parentId null) starts a path, deleted ones still name paths."""
    rows = [
        {"id": 1, "name": "Auth", "parentId": None},
        {"id": 2, "name": "Billing", "parentId": None},
        {"id": 3, "name": "Login", "parentId": 1},
        {"id": 4, "name": "Old", "parentId": 2, "isDeleted": True},
        {"id": 5, "name": "Refunds", "parentId": 4},
    ]
    paths = convert.folder_paths(rows)
    assert paths == {
        1: ("Auth",),
        2: ("Billing",),
        3: ("Auth", "Login"),
        4: ("Billing", "Old"),
        5: ("Billing", "Old", "Refunds"),
    }
    assert {f.path for f in convert.folders_from_native(rows)} == {
        ("Auth",),
        ("Billing",),
        ("Auth", "Login"),
        ("Billing", "Old", "Refunds"),
    }


def _random_docs(seed: int, count: int) -> list[dict[str, object]]:
    """Documents as the editor may store them: paragraphs, lists and code blocks of text nodes with any marks
    (modelled or not), hard breaks, odd white space and empty nodes."""
    rng = random.Random(seed)
    texts = ["word", " ", "two  words", "*", "a*b", "~~", "`", "C++", "é", "\u00a0x ", "Result is shown", ""]
    kinds = ["bold", "italic", "underline", "strike", "code", "link", "highlight"]

    def inline() -> list[dict[str, object]]:
        nodes: list[dict[str, object]] = []
        for _ in range(rng.randint(0, 4)):
            if rng.random() < 0.1:
                nodes.append({"type": "hardBreak"})
                continue
            marks = [
                {"type": k, "attrs": {"href": "https://x.example/a"}} if k == "link" else {"type": k}
                for k in rng.sample(kinds, rng.choice([0, 0, 1, 2]))
            ]
            nodes.append({"type": "text", "text": rng.choice(texts), **({"marks": marks} if marks else {})})
        return nodes

    def block() -> dict[str, object]:
        kind = rng.choice(["paragraph", "paragraph", "paragraph", "bulletList", "orderedList", "codeBlock"])
        if kind in ("bulletList", "orderedList"):
            items = [{"type": "listItem", "content": [{"type": "paragraph", "content": inline()}]}]
            return {"type": kind, "content": items * rng.randint(1, 2)}
        return {"type": kind, "content": inline()}

    return [{"type": "doc", "content": [block() for _ in range(rng.choice([1, 1, 1, 2, 3]))]} for _ in range(count)]


def test_remembered_readings_are_the_full_readings() -> None:
    """A JSON string read from memory gives what reading it afresh gives (and what reading the object gives)."""
    for doc in _random_docs(11, 1500):
        stored = json.dumps(doc)
        fresh = richtext._to_canonical(stored)
        assert richtext.to_canonical(stored) == fresh  # first reading: remembered
        assert richtext.to_canonical(stored) == fresh  # second: from memory
        assert richtext.to_canonical(doc) == fresh


def test_short_json_strings_are_read_once() -> None:
    stored = json.dumps(richtext.from_canonical("Step 1: do **action 42** (remembered)"))
    richtext.to_canonical(stored)
    hits = richtext._short_to_canonical.cache_info().hits
    assert richtext.to_canonical(stored) == "Step 1: do **action 42** (remembered)"
    assert richtext._short_to_canonical.cache_info().hits == hits + 1
    long_text = "x" * 2100  # a long document is read each time: not kept in memory
    before = richtext._short_to_canonical.cache_info()
    assert richtext.to_canonical(json.dumps(richtext.from_canonical(long_text))) == long_text
    assert richtext._short_to_canonical.cache_info() == before
