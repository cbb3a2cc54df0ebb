"""Normalized content: the same content written differently hashes equal; different content does not.

These properties are what stop the sync from seeing its own writes (or a server's re-formatting) as
changes. Every case below goes through the real converters and model validators.
"""

from __future__ import annotations

import hashlib
import random
from datetime import UTC, datetime

import pytest

from bridge.model import Case, Folder, Plan, PlanRun, Priority, Result, Status, Step
from bridge.text import (
    canonical_to_html,
    content_hash,
    html_to_canonical,
    normalize_whitespace,
    parse_inline,
    stable_json,
)

# ------------------------------------------------------------------------------ equal content, any format

SAME_TEXT = [
    # (description of the source, value as the source stores it) -> all must give the same canonical text
    ("html", "<p>Open the <strong>cart</strong> page.</p><p>Check the <em>total</em>.</p>"),
    ("html with b/i tags", "<p>Open the <b>cart</b> page.</p>\n<p>Check the <i>total</i>.</p>"),
    ("html in divs, nbsp", "<div>Open the&nbsp;<b>cart</b>  page.</div><div>Check the <i>total</i>.</div>"),
    ("canonical", "Open the **cart** page.\n\nCheck the *total*."),
    ("CRLF and trailing blanks", "Open the **cart** page.  \r\n\r\n\r\n\tCheck the *total*.\r\n"),
    ("old Mac CR, zero-width space", "Open the **cart**\u200b page.\r\rCheck the  *total*."),
]


@pytest.mark.parametrize(("source", "value"), SAME_TEXT, ids=[s for s, _ in SAME_TEXT])
def test_differently_formatted_text_reads_as_the_same_canonical_text(source: str, value: str) -> None:
    assert html_to_canonical(value) == "Open the **cart** page.\n\nCheck the *total*."


def _case_from_html() -> Case:
    return Case(
        folder="Checkout / Payments",
        title="  Pay   with card ",
        description=html_to_canonical("<p>Pay with a <b>valid</b> card.</p><ul><li>Visa</li><li>Mastercard</li></ul>"),
        preconditions=html_to_canonical("<p>Logged in<br>Cart not empty</p>"),
        steps=[
            Step(action=html_to_canonical("<p>Open <code>/cart</code></p>"), expected=html_to_canonical("Cart shown")),
            Step(action=html_to_canonical("<p>Click <a href='https://shop.example/pay?x=1&amp;y=2'>Pay</a></p>")),
        ],
        priority=Priority.HIGH,
        tags=["smoke", "payments", "smoke"],
        requirements="REQ-2, REQ-1",
        automation_key=" tests.pay.card ",
        custom={"component": "billing"},
        updated_at=datetime(2024, 1, 1, tzinfo=UTC),
        id="C101",
    )


def _case_from_plain() -> Case:
    return Case(
        folder=("Checkout", "Payments"),
        title="Pay with card",
        description="Pay with a **valid** card.\r\n\r\n- Visa\r\n- Mastercard\r\n",
        preconditions="Logged in\nCart not empty",
        steps=[
            Step(action="Open `/cart`", expected="Cart shown "),
            Step(action="Click [Pay](https://shop.example/pay?x=1&y=2)", expected=None),  # type: ignore[arg-type]
        ],
        priority="high",
        tags=" payments , smoke",
        requirements=["REQ-1", "REQ-2", ""],
        automation_key="tests.pay.card",
        custom={"component": "billing"},
        updated_at=datetime(2025, 6, 1, tzinfo=UTC),  # identity, not content
        id="9f0c",
        marker="tpb:1234",
    )


def test_same_case_from_html_and_plain_sources_hashes_equal_per_field_and_overall() -> None:
    a, b = _case_from_html(), _case_from_plain()
    assert a.field_hashes() == b.field_hashes()
    assert a.content_hash() == b.content_hash()
    assert a.content() == b.content()
    assert set(a.field_hashes()) == set(Case.content_fields())
    assert "id" not in a.content() and "updated_at" not in a.content() and "marker" not in a.content()


DIFFERENT = [
    ("title", {"title": "Pay with cash"}),
    ("one word of the description", {"description": "Pay with a **valid** card.\n\n- Visa\n- Maestro"}),
    ("bold lost", {"description": "Pay with a valid card.\n\n- Visa\n- Mastercard"}),
    (
        "step order",
        {
            "steps": [
                Step(action="Click [Pay](https://shop.example/pay?x=1&y=2)"),
                Step(action="Open `/cart`", expected="Cart shown"),
            ]
        },
    ),  # noqa: E501
    (
        "link target",
        {
            "steps": [
                Step(action="Open `/cart`", expected="Cart shown"),
                Step(action="Click [Pay](https://shop.example/pay?x=2&y=2)"),
            ]
        },
    ),  # noqa: E501
    ("priority", {"priority": Priority.MEDIUM}),
    ("a tag more", {"tags": ["payments", "smoke", "card"]}),
    ("folder", {"folder": ("Checkout",)}),
    ("custom field", {"custom": {"component": "web"}}),
    ("line break vs paragraph", {"preconditions": "Logged in\n\nCart not empty"}),
]


@pytest.mark.parametrize(("what", "change"), DIFFERENT, ids=[w for w, _ in DIFFERENT])
def test_different_content_hashes_differently(what: str, change: dict[str, object]) -> None:
    base = _case_from_plain()
    changed = base.model_copy(update=change)
    changed = Case.model_validate(changed.model_dump())  # through the validators, as an adapter builds it
    assert changed.content_hash() != base.content_hash()
    differing = {k for k, v in changed.field_hashes().items() if base.field_hashes()[k] != v}
    assert differing == set(change)


def test_folder_plan_and_result_normalize_too() -> None:
    assert Folder(path=" Checkout /  Payments/").path == ("Checkout", "Payments")
    p1 = Plan(name="Release  1.2 ", description="<ignored as text>", runs=[PlanRun(name="all", case_ids=["3", "1"])])
    p2 = Plan(name="Release 1.2", description="<ignored as text>", runs=[PlanRun(name="all", case_ids=["1", "3", "1"])])
    assert p1.field_hashes() == p2.field_hashes()
    assert p1.case_ids() == {"1", "3"}
    r1 = Result(case_id="1", status=Status.PASSED, comment="ok\r\n", defects="BUG-2,BUG-1")
    r2 = Result(case_id="1", status="passed", comment=" ok", defects=["BUG-1", "BUG-2"])
    assert r1.content_hash() == r2.content_hash()
    assert Result(case_id="1", status="failed").content_hash() != r2.content_hash()


def test_titles_and_names_are_one_line_and_custom_text_is_folded() -> None:
    a = Case(title="Pay with\r\ncard", custom={"build": " 1.2\t", "areas": [" web ", "api"], "count": 3})
    b = Case(title="Pay with card", custom={"build": "1.2", "areas": ["web", "api"], "count": 3})
    assert a.title == "Pay with card" and a.content_hash() == b.content_hash()
    reordered = Case(title="Pay with card", custom={"build": "1.2", "areas": ["api", "web"], "count": 3})
    assert reordered.field_hashes()["custom"] != b.field_hashes()["custom"]  # list order is kept
    assert Plan(name="Release\n\n1.2").name == "Release 1.2"
    assert Case(title="a", description="line one\nline two").description == "line one\nline two"


def test_content_hash_is_independent_of_key_order() -> None:
    assert content_hash({"a": 1, "b": [1, 2]}) == content_hash({"b": [1, 2], "a": 1})
    assert content_hash({"a": 1}) != content_hash({"a": "1"})


# ------------------------------------------------------------------------------ canonical round trips

ROUND_TRIPS = [
    "- one\n- two\n- three",
    "1. first\n2. second\n3. third",
    "Some **bold**, *italic* and `code`.",
    "See [the docs](https://example.com/a?b=1&c=2) now",
    "Paragraph one.\n\nParagraph two, line one\nline two",
    "Intro\n\n- a\n- **b**\n\n1. x\n2. [y](http://y.example)\n\nEnd",
    "a < b & c > d, \"quoted\" and 'single'",
    "**bold with *stars* inside**",
    "`a<b` and x > y",
    "if a<b and c>d then <i and j>",
    "Ünïcödé — 中文 ✓",
    # plain text that only looks like markup must stay literal
    "2 * 3 * 4 = 24",
    "Select *.txt and *.csv files",
    "x*y*z and snake_case_name",
    "** not bold **",
    "* not italic *",
    "` not code `",
    "2. numbered from two\n3. is not a list",
    "1. one\n3. gap",
    "1. mixed\n- list",
    "Price: [see note] (below)",
]


@pytest.mark.parametrize("text", ROUND_TRIPS)
def test_canonical_text_round_trips_through_html(text: str) -> None:
    assert html_to_canonical(text) == text, "the example must itself be canonical"
    html = canonical_to_html(text)
    assert html_to_canonical(html) == text
    # and idempotent: converting again changes nothing
    assert canonical_to_html(html_to_canonical(html)) == html
    assert html_to_canonical(html_to_canonical(html)) == text


def test_escaped_markup_in_html_text_survives_the_round_trip() -> None:
    canonical = html_to_canonical("<p>Type <code>&lt;br&gt;</code> or &lt;p&gt; here</p>")
    assert canonical == "Type `<br>` or <p> here"
    assert html_to_canonical(canonical_to_html(canonical)) == canonical


def test_lists_and_marks_render_as_html_elements() -> None:
    html = canonical_to_html("Intro **b** *i* `c` [l](http://u.example)\n\n- a\n- b\n\n1. x\n2. y")
    assert html == (
        '<p>Intro <strong>b</strong> <em>i</em> <code>c</code> <a href="http://u.example">l</a></p>'
        "<ul><li>a</li><li>b</li></ul><ol><li>x</li><li>y</li></ol>"
    )
    # literal stars stay literal text in HTML
    assert canonical_to_html("2 * 3 * 4") == "<p>2 * 3 * 4</p>"


def test_parse_inline_agrees_with_the_html_rendering() -> None:
    assert parse_inline("a **b** *c* `d` [e](http://f)") == [
        ("a ", frozenset(), None),
        ("b", frozenset({"bold"}), None),
        (" ", frozenset(), None),
        ("c", frozenset({"italic"}), None),
        (" ", frozenset(), None),
        ("d", frozenset({"code"}), None),
        (" ", frozenset(), None),
        ("e", frozenset(), "http://f"),
    ]
    assert parse_inline("2 * 3 * 4") == [("2 * 3 * 4", frozenset(), None)]


_TOKENS = [
    "a", "word", " ", "  ", "\n", "*", "**", "`", "[", "]", "(", ")", "http://x.example/p", "- ", "1. ", "2. ",
    "&lt;", "&amp;", "_", "<p>", "</p>", "<br>", "<b>", "</b>", "<em>", "</em>", "<code>", "</code>",
    "<ul><li>", "</li><li>", "</li></ul>", "<ol><li>", "</li></ol>", '<a href="http://e.example/?a=1&amp;b">',
    "</a>", "<div>", "</div>", "\u00a0", "\t", "\r\n",
    "<u>", "</u>", "<s>", "</s>", "<del>", "</del>", "<strong><em>", "</em></strong>", "~~", "++", "***",
]  # fmt: skip


def test_round_trip_holds_for_generated_markup() -> None:
    """A seeded sweep over snippets mixing markup and markup-like plain text (deterministic)."""
    rng = random.Random(20240601)
    for _ in range(3000):
        source = "".join(rng.choice(_TOKENS) for _ in range(rng.randint(1, 12)))
        canonical = html_to_canonical(source)
        assert html_to_canonical(canonical_to_html(canonical)) == canonical, source


def test_normalize_whitespace() -> None:
    assert normalize_whitespace(None) == ""
    assert normalize_whitespace("  a\u00a0\u00a0b \t\r\n\r\n\r\n\r\nc  ") == "a b\n\nc"
    assert normalize_whitespace("\u200bx\ufeff") == "x"
    assert normalize_whitespace(normalize_whitespace(" a \n\n\n b ")) == normalize_whitespace(" a \n\n\n b ")


@pytest.mark.parametrize(
    ("value", "stored"),
    [
        (None, "74234e98afe7498fb5daf1f36ac2d78a"),
        ("", "12ae32cb1ec02d01eda3581b127c1fee"),
        ([], "4f53cda18c2baa0c0354bb5f9a3ecbe5"),
        ({}, "44136fa355b3678a1146ad16f7e8649e"),
        ("medium", "60d4c90eee5e731df8d3ef2891de541d"),
    ],
)
def test_field_hashes_are_the_ones_stores_hold(value: object, stored: str) -> None:
    """Stores hold these hashes: a changed hash would make every linked field look changed."""
    assert content_hash(value) == stored


def test_each_record_type_has_its_own_content_fields() -> None:
    """Content fields are worked out once per class: each class keeps its own, identity fields left out."""
    plan = Plan(name="p", id="1", runs=[PlanRun(name="r")])
    result = Result(case_id="c", status=Status.PASSED, id="2")
    for record in (_case_from_plain(), plan, result, Folder(path=("a",), id="3")):
        kind = type(record)
        fields = kind.content_fields()
        assert fields == tuple(n for n in kind.model_fields if n not in kind.IDENTITY_FIELDS)
        assert kind.content_fields() is fields  # (remembered)
        assert list(record.content()) == list(fields)
        assert record.content() == record.model_dump(mode="json", exclude=set(kind.IDENTITY_FIELDS))


@pytest.mark.parametrize(
    ("value", "digest"),
    [
        ("Pay with card", "241f140175af95f22bab8be5bb1cfedd"),
        (["Login", "Details é"], "8a7838388a61f62988f27faae145ee35"),
        ([{"action": 'Open "x"', "expected": "Shown\n\u2028ok"}], "70c4ca1170cd4cd493ffab68b85ebd42"),
        (30, "624b60c58c9d8bfb6ff1886c2fd605d2"),
        (-7, "a770d3270c9dcdedf12ed9fd70444f7c"),
        (True, "b5bea41b6c623f7c09f1bf24dcae58eb"),
        (1.5, "9f29a130438b81170b92a42650f9a942"),
        (["a", 1], "135f17a475a61afdeeaf3759ad2e45ad"),
        ({"b": "x", "a": "y"}, "7951deff61d4304af5863a13c2ef570f"),
    ],
)
def test_content_hashes_stay_what_links_stored(value: object, digest: str) -> None:
    """Hashes the store holds (computed before content_hash had its shortcuts for common values)."""
    assert content_hash(value) == digest


def test_content_hash_shortcuts_hash_the_stable_json() -> None:
    """The shortcuts for strings, ints and lists of strings or steps give sha256 of stable_json, like any value."""
    rng = random.Random(5)
    alphabet = ["a", "Z", " ", '"', "\\", "/", "\n", "\t", "\x00", "\x1f", "\x7f", "é", "\u2028", "\ufeff", "😀", "<"]

    def text() -> str:
        return "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12)))

    def value(depth: int = 0) -> object:
        pick = rng.randrange(9 if depth < 2 else 6)
        if pick == 0:
            return text()
        if pick == 1:
            return rng.choice([0, 1, -1, 2**70, -(2**65), rng.randint(-1000, 1000)])
        if pick == 2:
            return rng.choice([True, False, None, 0.5, -1e300, Priority.HIGH])
        if pick in (3, 4):
            return [text() for _ in range(rng.randint(0, 4))]
        if pick == 5:
            return [{text(): text() for _ in range(rng.randint(0, 3))} for _ in range(rng.randint(1, 3))]
        if pick == 6:
            return [value(depth + 1) for _ in range(rng.randint(0, 3))]
        if pick == 7:
            return {text(): value(depth + 1) for _ in range(rng.randint(0, 3))}
        return [{"action": text(), "expected": rng.choice([text(), None, 3])}]

    for _ in range(4000):
        v = value()
        assert content_hash(v) == hashlib.sha256(stable_json(v).encode("utf-8")).hexdigest()[:32], v


def test_folder_paths_are_folded_part_by_part() -> None:
    assert Folder(path=" a / /b  c/").path == ("a", "b c")
    assert Folder(path=["x", 3, "", " \u00a0"]).path == ("x", "3")
    assert Case(title="t", folder=("Login ", "\u00a0", "Two\u2003words")).folder == ("Login", "Two words")
