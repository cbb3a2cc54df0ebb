"""The three-way merge rules, one per test, on plain dicts (pure function: no I/O)."""

from datetime import datetime, timedelta

from bridge.sync.merge import Policy, hashes, hashes_like, merge_record

BASE = {"title": "Login", "priority": "high", "tags": ["a", "b"]}


def test_unchanged_on_both_sides_writes_nothing():
    out = merge_record(BASE, dict(BASE), dict(BASE), Policy(), left_hashes=hashes(BASE), right_hashes=hashes(BASE))
    assert not out.changed and not out.conflicts
    assert out.base == BASE


def test_change_on_one_side_propagates_to_the_other():
    left = {**BASE, "title": "Login v2"}
    out = merge_record(BASE, left, dict(BASE), Policy(), left_hashes=hashes(BASE), right_hashes=hashes(BASE))
    assert out.to_right == {"title": "Login v2"} and out.to_left == {}
    assert out.base["title"] == "Login v2"
    right = {**BASE, "priority": "low"}
    out = merge_record(BASE, dict(BASE), right, Policy(), left_hashes=hashes(BASE), right_hashes=hashes(BASE))
    assert out.to_left == {"priority": "low"} and out.to_right == {}


def test_same_change_on_both_sides_advances_the_base_without_writes():
    both = {**BASE, "title": "Same"}
    out = merge_record(BASE, both, dict(both), Policy(), left_hashes=hashes(BASE), right_hashes=hashes(BASE))
    assert not out.changed and not out.conflicts
    assert out.base["title"] == "Same"


def test_different_changes_are_a_conflict_and_manual_writes_neither_side():
    left, right = {**BASE, "title": "L"}, {**BASE, "title": "R"}
    out = merge_record(BASE, left, right, Policy("manual"), left_hashes=hashes(BASE), right_hashes=hashes(BASE))
    assert [c.field for c in out.conflicts] == ["title"]
    c = out.conflicts[0]
    assert (c.base, c.left, c.right, c.resolution) == ("Login", "L", "R", None)
    assert "title" not in out.to_left and "title" not in out.to_right
    assert "title" not in out.accept_left and "title" not in out.accept_right  # stays "changed" until resolved


def test_left_wins_and_right_wins_keep_the_losing_value_in_the_conflict():
    left, right = {**BASE, "title": "L"}, {**BASE, "title": "R"}
    out = merge_record(BASE, left, right, Policy("left-wins"), left_hashes=hashes(BASE), right_hashes=hashes(BASE))
    assert out.to_right == {"title": "L"} and out.conflicts[0].right == "R"
    assert out.conflicts[0].resolution == "policy:left-wins"
    out = merge_record(BASE, left, right, Policy("right-wins"), left_hashes=hashes(BASE), right_hashes=hashes(BASE))
    assert out.to_left == {"title": "R"} and out.conflicts[0].left == "L"


def test_newest_wins_only_outside_the_tolerance_window():
    left, right = {**BASE, "title": "L"}, {**BASE, "title": "R"}
    t = datetime(2026, 1, 1, 12, 0)
    policy = Policy("newest-wins", tolerance=timedelta(minutes=5))
    kw = {"left_hashes": hashes(BASE), "right_hashes": hashes(BASE)}
    out = merge_record(BASE, left, right, policy, left_time=t, right_time=t + timedelta(hours=1), **kw)
    assert out.to_left == {"title": "R"}
    out = merge_record(BASE, left, right, policy, left_time=t, right_time=t + timedelta(minutes=2), **kw)
    assert not out.changed and out.conflicts[0].resolution is None
    out = merge_record(BASE, left, right, policy, left_time=None, right_time=t, **kw)
    assert not out.changed  # no trustworthy timestamp: a person decides


def test_field_owner_decides_its_field_only():
    left = {**BASE, "title": "L", "priority": "low"}
    right = {**BASE, "title": "R", "priority": "critical"}
    policy = Policy("manual", owners={"priority": "right"})
    out = merge_record(BASE, left, right, policy, left_hashes=hashes(BASE), right_hashes=hashes(BASE))
    assert out.to_left == {"priority": "critical"}
    assert [c.field for c in out.conflicts if c.resolution is None] == ["title"]


def test_first_sight_differences_are_conflicts_not_newest_wins():
    left, right = {**BASE, "title": "L"}, {**BASE, "title": "R"}
    t = datetime(2026, 1, 1)
    out = merge_record(None, left, right, Policy("newest-wins"), left_time=t, right_time=t + timedelta(days=1))
    assert out.conflicts and out.conflicts[0].first_sight and not out.changed
    assert out.base["priority"] == "high"  # equal fields are agreed at once


def test_set_fields_merge_additions_and_removals_from_both_sides():
    left = {**BASE, "tags": ["a", "b", "c"]}  # added c
    right = {**BASE, "tags": ["b"]}  # removed a
    out = merge_record(BASE, left, right, Policy(), left_hashes=hashes(BASE), right_hashes=hashes(BASE))
    assert out.to_left == {"tags": ["b", "c"]} and out.to_right == {"tags": ["b", "c"]}
    assert not out.conflicts


def test_lossy_side_is_not_seen_as_changed_again():
    # right stored "low" for our "lowest": its hash was recorded after the write, so nothing happens next run
    base = {"priority": "lowest"}
    left = {"priority": "lowest"}
    right = {"priority": "low"}
    out = merge_record(base, left, right, Policy(), left_hashes=hashes(left), right_hashes=hashes(right))
    assert not out.changed and not out.conflicts


def test_one_way_job_never_writes_the_source_and_target_edits_are_not_overwritten_silently():
    policy = Policy(direction="left-to-right")
    right = {**BASE, "title": "edited on target"}
    out = merge_record(BASE, dict(BASE), right, policy, left_hashes=hashes(BASE), right_hashes=hashes(BASE))
    assert not out.changed
    assert "title" not in out.accept_right  # the target's edit stays visible as a change
    left = {**BASE, "title": "source changed"}
    out = merge_record(BASE, left, right, policy, left_hashes=hashes(BASE), right_hashes=hashes(BASE))
    assert out.to_right == {"title": "source changed"}
    assert out.conflicts[0].right == "edited on target"  # the loser is logged, never dropped silently


def test_forced_resolution_writes_both_sides():
    left, right = {**BASE, "title": "L"}, {**BASE, "title": "R"}
    out = merge_record(
        BASE, left, right, Policy(), left_hashes=hashes(BASE), right_hashes=hashes(BASE), forced={"title": "Chosen"}
    )
    assert out.to_left == {"title": "Chosen"} and out.to_right == {"title": "Chosen"} and not out.conflicts


def test_first_sight_fills_a_field_empty_on_one_side_without_a_conflict():
    out = merge_record(None, {"type": "smoke", "title": "T"}, {"type": None, "title": "T"}, Policy())
    assert out.to_right == {"type": "smoke"} and not out.conflicts


def test_hashes_like_reuses_only_hashes_of_values_that_write_the_same_json():
    # pairs that are == in Python but not the same JSON must be hashed afresh: reusing the known hash would
    # store a hash the next run's read does not give, and the pair would look changed (or hide a change)
    pairs = {
        "same_text": ("Login", "Login"),
        "other_text": ("Login", "Logout"),
        "none": (None, None),
        "steps": ([{"action": "a", "expected": "b"}], [{"action": "a", "expected": "b"}]),
        "int_vs_bool": (1, True),
        "list_int_vs_bool": ([1], [True]),
        "float_vs_int": ([{"n": 1.0}], [{"n": 1}]),
        "int_vs_float": (2, 2.0),
        "tuple_vs_list": (("a", "b"), ["a", "b"]),
    }
    content = {name: after for name, (_, after) in pairs.items()}
    known = {name: before for name, (before, _) in pairs.items()}
    assert hashes(content) != hashes(known)  # (the case is not trivial)
    assert hashes_like(content, known, hashes(known)) == hashes(content)
    # and where the values are equal text the known hash is taken as it is (the shortcut is taken)
    marked = {name: f"known:{name}" for name in known}
    taken = hashes_like(content, known, marked)
    assert {n for n, h in taken.items() if h.startswith("known:")} == {"same_text", "none", "steps"}
