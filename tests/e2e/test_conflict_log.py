"""The conflict log's lifecycle through the real engine, simulators and store: one entry per record, field and
kind, kept in place while it holds, closed once resolved (by a person through the CLI, or by itself)."""

from __future__ import annotations

from pathlib import Path

import pytest
from e2e_harness import World, world
from test_cli_commands import run, write_config
from test_sync_rules import cases, edit, new_case, put

from bridge.model import Status, Step

JOB = {"name": "job", "left": "tp", "right": "ca"}
#: these tests walk through CodeArts limits of the custom test service (25-character folder labels, 500-character
#: steps, 24 labels): the native library does not have them
CUSTOM = {"ca": {"mode": "custom-service"}}


def snapshot(w: World) -> list[tuple[int | None, str, str | None, str | None]]:
    return [(c.id, c.kind, c.field, c.resolution) for c in w.store.conflicts(job="job", open_only=False)]


def open_kinds(w: World) -> list[tuple[str, str | None]]:
    return sorted((c.kind, c.field) for c in w.store.conflicts(job="job"))


def entry(w: World, kind: str, field: str | None = None) -> int:
    found = [c for c in w.store.conflicts(job="job") if c.kind == kind and (field is None or c.field == field)]
    assert len(found) == 1, found
    assert found[0].id is not None
    return found[0].id


def seed_every_kind(w: World) -> dict[str, str]:
    ids = {
        "tags": put(w, "tp", new_case("Thirty labels", tags=[f"tag{i}" for i in range(30)])),
        "folder": put(w, "tp", new_case("Deep folder", folder=("Checkout", "Search details"))),
        "alpha": put(w, "tp", new_case("Alpha")),
        "twin1": put(w, "tp", new_case("Twin")),
        "twin2": put(w, "tp", new_case("Twin")),
        "ca_twin": put(w, "ca", new_case("Twin")),
    }
    put(w, "tp", new_case("Differs", steps=1))
    put(w, "ca", new_case("Differs", steps=3))
    assert w.sync().status == "ok"
    alpha_ca = w.store.find_link("job", "case", left_id=ids["alpha"]).right_id
    edit(w, "tp", ids["alpha"], title="Alpha L")
    edit(w, "ca", alpha_ca, title="Alpha R")
    assert w.sync().status == "ok"
    assert open_kinds(w) == [
        ("ambiguous-match", None),
        ("cannot-represent", "folder"),
        ("cannot-represent", "tags"),
        ("edit", "title"),
        ("first-sight", "steps"),
    ]
    return ids


def test_ten_unchanged_syncs_leave_the_conflict_log_as_it_is(tmp_path: Path) -> None:
    with world(tmp_path, names=("tp", "ca"), jobs=[JOB], settings=CUSTOM) as w:
        seed_every_kind(w)
        before = snapshot(w)
        for _ in range(10):
            report = w.sync()
            assert report.status == "ok" and (report.conflicts_opened, report.conflicts_closed) == (0, 0)
            assert report.conflicts_open == {"case": 5}
        assert snapshot(w) == before


def test_every_kind_resolved_and_synced_stays_closed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with world(tmp_path, names=("tp", "ca"), jobs=[JOB], settings=CUSTOM) as w:
        ids = seed_every_kind(w)
        cfg = str(write_config(w, tmp_path / "bridge.toml", JOB))

        def resolve(conflict_id: int, take: str) -> tuple[int, str]:
            return run(capsys, "conflicts", "resolve", str(conflict_id), "--take", take, "--config", cfg)

        assert resolve(entry(w, "edit"), "left")[0] == 0
        assert resolve(entry(w, "first-sight"), "right")[0] == 0
        # a value the side cannot hold: the holder accepts the loss ...
        code, out = resolve(entry(w, "cannot-represent", "tags"), "right")
        assert code == 2 and "take left to accept" in out
        code, out = resolve(entry(w, "cannot-represent", "tags"), "left")
        assert code == 0 and "does without" in out
        # ... or a value the side can hold is given, checked before it is stored
        folder = entry(w, "cannot-represent", "folder")
        code, out = resolve(folder, 'value={"a": 1}')
        assert code == 2 and "no folder path" in out
        code, out = resolve(folder, "value=Checkout/Search details again")
        assert code == 2 and "cannot hold that value either" in out
        assert resolve(folder, "value=Checkout/Search")[0] == 0
        # an ambiguous match: a person names the pair
        twins = entry(w, "ambiguous-match")
        code, out = resolve(twins, "left")
        assert code == 2 and "name the two records to link" in out
        ca_twin = ids["ca_twin"]
        assert resolve(twins, f'value={{"left": "{ids["twin1"]}", "right": "{ca_twin}"}}')[0] == 0
        assert w.store.conflicts(job="job") == []

        for _ in range(3):
            report = w.sync()
            assert report.status == "ok" and report.conflicts_opened == 0, w.store.conflicts(job="job")
        assert w.store.conflicts(job="job") == []
        on_tp, on_ca = cases(w, "tp"), cases(w, "ca")
        assert "Alpha L" in on_tp and "Alpha L" in on_ca
        assert len(on_tp["Differs"].steps) == len(on_ca["Differs"].steps) == 3
        assert on_ca["Thirty labels"].tags == [] and len(on_tp["Thirty labels"].tags) == 30
        assert on_ca["Deep folder"].folder == ("Checkout", "Search")
        assert on_tp["Deep folder"].folder == ("Checkout", "Search details")
        assert w.store.find_link("job", "case", left_id=ids["twin1"]).right_id == ca_twin
        assert w.store.find_link("job", "case", left_id=ids["twin2"]) is not None  # the other twin is copied

        # a decision about a value holds for that value: a new one the side cannot hold is a new entry
        edit(w, "tp", ids["tags"], tags=[f"other{i}" for i in range(30)])
        report = w.sync()
        assert report.conflicts_opened == 1 and open_kinds(w) == [("cannot-represent", "tags")]


def test_an_entry_closes_by_itself_when_the_value_fits_again(tmp_path: Path) -> None:
    with world(tmp_path, names=("tp", "ca"), jobs=[JOB], settings=CUSTOM) as w:
        tp_id = put(w, "tp", new_case("Shrinks"))
        w.sync()
        edit(w, "tp", tp_id, tags=[f"tag{i}" for i in range(30)])
        report = w.sync()
        assert report.conflicts_opened == 1 and open_kinds(w) == [("cannot-represent", "tags")]
        edit(w, "tp", tp_id, tags=["smoke"])
        report = w.sync()
        assert report.conflicts_closed == 1 and w.store.conflicts(job="job") == []
        assert cases(w, "ca")["Shrinks"].tags == ["smoke"]
        assert [c.resolution for c in w.store.conflicts(job="job", open_only=False)] == ["auto"]


def test_result_statuses_a_side_cannot_hold_are_accepted_or_replaced(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from bridge.model import Plan, PlanRun, Result

    job = {"name": "job", "left": "tr", "right": "ca"}
    with world(tmp_path, names=("tr", "ca"), jobs=[job], settings=CUSTOM) as w:
        ids = [put(w, "tr", new_case(f"Result case {i}", steps=1)) for i in range(2)]
        with w.adapter("tr") as a:
            plan = a.create_plan(Plan(name="Sprint", runs=[PlanRun(name="Sprint", case_ids=ids)]), marker="u-p")
            a.add_results(
                [
                    Result(case_id=ids[0], plan_id=plan.id, run_id=plan.runs[0].id, status=Status.BLOCKED),
                    Result(case_id=ids[1], plan_id=plan.id, run_id=plan.runs[0].id, status=Status.RETEST),
                ]
            )
        w.sync()
        unfit = sorted((c.entity, c.field) for c in w.store.conflicts(job="job"))
        assert unfit == [("result", "status"), ("result", "status")]
        cfg = str(write_config(w, tmp_path / "bridge.toml", job))
        first, second = (c.id for c in w.store.conflicts(job="job"))
        code, out = run(capsys, "conflicts", "resolve", str(first), "--take", "left", "--config", cfg)
        assert code == 0
        code, out = run(capsys, "conflicts", "resolve", str(second), "--take", "value=retest", "--config", cfg)
        assert code == 2 and "cannot hold that value either" in out
        code, out = run(capsys, "conflicts", "resolve", str(second), "--take", "value=failed", "--config", cfg)
        assert code == 0, out
        for _ in range(2):
            report = w.sync()
            assert report.status == "ok" and w.store.conflicts(job="job") == []
        plan_ca = w.store.find_link("job", "plan", left_id=plan.id).right_id
        with w.adapter("ca") as b:
            assert [r.status for r in b.iter_results(plan_id=plan_ca)] == [Status.FAILED]


def test_a_step_too_long_for_one_side_is_one_entry_named_by_its_path(tmp_path: Path) -> None:
    with world(tmp_path, names=("tp", "ca"), jobs=[JOB], settings=CUSTOM) as w:
        case = new_case("Long step", steps=2)
        case.steps[1] = Step(action="x" * 600, expected="ok")
        put(w, "tp", case)
        for _ in range(3):
            w.sync()
        assert open_kinds(w) == [("cannot-represent", "steps[2].action")]
        assert len(w.store.conflicts(job="job", open_only=False)) == 1
