"""First-sync matching: marker, then automation key, then folder + title; ambiguity is reported."""

from bridge.model import Case, Plan
from bridge.sync.markers import marker_for
from bridge.sync.match import match_records


def case(i, title, folder=("A",), key=None, marker=None):
    return Case(id=str(i), title=title, folder=folder, automation_key=key, marker=marker)


def test_marker_then_automation_key_then_path_and_title():
    left = [case(1, "One", key="t.one"), case(2, "Two"), case(3, "Three"), case(4, "Only left")]
    right = [
        case(10, "renamed", marker=marker_for("job", "case", "left", "3")),
        case(11, "One (renamed)", key="t.one"),
        case(12, "two", folder=("a",)),
        case(13, "Only right"),
    ]
    m = match_records("job", "case", left, right)
    pairs = {(lft.id, r.id, how) for lft, r, how in m.pairs}
    assert pairs == {("3", "10", "marker"), ("1", "11", "automation key"), ("2", "12", "folder and title")}
    assert [c.id for c in m.left_only] == ["4"] and [c.id for c in m.right_only] == ["13"]


def test_ambiguous_matches_are_reported_and_neither_matched_nor_created():
    left = [case(1, "Dup"), case(2, "Dup")]
    right = [case(10, "Dup")]
    m = match_records("job", "case", left, right)
    assert not m.pairs and not m.left_only and not m.right_only
    assert m.ambiguous[0].left_ids == ["1", "2"] and m.ambiguous[0].right_ids == ["10"]


def test_plans_match_by_name():
    m = match_records("job", "plan", [Plan(id="1", name="Release 1")], [Plan(id="9", name="release 1")])
    assert [(a.id, b.id) for a, b, _ in m.pairs] == [("1", "9")]
