"""Views: which fields a job merges, and putting merged values back into records."""

from bridge.model import Case, Plan, PlanRun
from bridge.sync.views import CaseFields, apply_plan, plan_for_create, plan_view


def test_only_fields_both_sides_hold_are_merged_and_custom_fields_are_renamed():
    fields = CaseFields.for_job(
        frozenset({"title", "steps", "type"}), frozenset({"title", "steps"}), {"comp": "component"}
    )
    assert fields.common == ("title", "steps")
    left = Case(id="1", title="T", type="smoke", custom={"comp": "ui"})
    right = Case(id="9", title="T", custom={"component": "ui", "other": 1})
    assert fields.view(left, "left") == fields.view(right, "right")
    updated = fields.apply(right, {"custom.comp": "api", "title": "New"}, "right")
    assert updated.custom == {"component": "api", "other": 1} and updated.title == "New"
    created = fields.for_create(left, "left")
    assert created.custom == {"component": "ui"} and created.id is None


def test_plan_membership_is_compared_in_left_ids_and_unlinked_members_stay():
    right_to_left = {"r1": "l1", "r2": "l2"}
    left_to_right = {"l1": "r1", "l2": "r2", "l3": "r3"}
    right = Plan(id="p", name="P", runs=[PlanRun(name="P", case_ids=["r1", "r2", "rX"])])
    view = plan_view(right, "right", ("name",), right_to_left)
    assert view == {"name": "P", "cases": ["l1", "l2"]}
    updated = apply_plan(
        right,
        {"cases": ["l1", "l3"]},
        side="right",
        from_left_ids=left_to_right,
        to_left_ids={**right_to_left, "r3": "l3"},
    )
    assert updated.runs[0].case_ids == ["r1", "r3", "rX"]


def test_plan_for_create_translates_members_and_reports_unlinked_ones():
    plan = Plan(id="p", name="P", runs=[PlanRun(name="run", configuration=["Chrome"], case_ids=["1", "2"])])
    new, missing = plan_for_create(plan, from_source_ids={"1": "a"}, keep_runs=False)
    assert new.runs[0].case_ids == ["a"] and missing == ["2"] and new.id is None


def test_a_case_for_create_is_what_validating_its_fields_would_make_and_owns_its_lists():
    fields = CaseFields.for_job(None, None, {"comp": "component"})
    source = Case(
        id="1", marker="m", title="Log in", folder=("A", "B"), steps=[{"action": "Open", "expected": "Shown"}],
        tags=["smoke"], priority="high", estimate_seconds=30, custom={"comp": "ui", "other": "x"},
    )  # fmt: skip
    created = fields.for_create(source, "left")
    expected = Case.model_validate(
        {**source.model_dump(include={"title", *fields.common}), "custom": {"component": "ui"}}
    )
    assert created == expected and created.model_fields_set == expected.model_fields_set
    assert created.id is None and created.marker is None
    created.steps[0].action = "Changed"
    created.tags.append("new")
    assert source.steps[0].action == "Open" and source.tags == ["smoke"]  # (the source is left as it was)
