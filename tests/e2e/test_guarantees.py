"""The guarantees at their boundaries, through the simulators' faults real servers produce.

- Deletion confirmed by a direct lookup: a listing that leaves out a record that exists (a skipped page, a
  permission filter) deletes nothing; a record really deleted is.
- The mass-deletion guard: at its minimum (3 vanished records), its default threshold (25%, a share equal to
  it does not trip), for cases and for plans.
- A create whose answer is lost (applied, then the connection dropped or a 500) is never made twice.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from e2e_harness import World, world
from test_sync_rules import PAIRS, cases, edit, new_case, put, writes

from bridge.model import Plan, PlanRun, Priority

#: the request each system lists its cases / plans with (the adapters' own paging reads)
CASE_LISTING = {"tr": "get_cases", "ca": "testcases/batch-query", "tp": "repositoryCases/findMany"}
PLAN_LISTING = {"tr": "get_plans", "ca": "/plans", "tp": "testRuns/findMany"}


@pytest.fixture(params=PAIRS, ids=["-".join(p) for p in PAIRS])
def pair(request: pytest.FixtureRequest, tmp_path: Path):
    left, right = request.param
    with world(tmp_path, names=(left, right), jobs=[{"name": "job", "left": left, "right": right}]) as w:
        yield w, left, right


def deleted_entries(w: World) -> list[str]:
    return [c.kind for c in w.store.conflicts(job="job", open_only=False) if c.kind in ("deleted", "delete-vs-modify")]


@pytest.mark.parametrize("hidden_on", ["left", "right"])
def test_a_record_a_listing_leaves_out_is_looked_up_and_kept(pair, hidden_on):
    w, left, right = pair
    lid = put(w, left, new_case("Left out"))
    put(w, left, new_case("Listed"))
    w.sync()
    link = w.store.find_link("job", "case", left_id=lid)
    system = left if hidden_on == "left" else right
    faults = w.sims[system].faults
    hidden = link.left_id if hidden_on == "left" else link.right_id
    faults.unlisted, faults.listing_where = {hidden}, CASE_LISTING[system]
    assert "Left out" not in cases(w, system)  # the fault is real: the listing lacks it
    report = w.sync(deletions="propagate")
    assert report.status == "ok", report.errors
    faults.unlisted = set()
    assert sorted(cases(w, left)) == sorted(cases(w, right)) == ["Left out", "Listed"]
    assert w.store.find_link("job", "case", left_id=lid).state == "active" and deleted_entries(w) == []
    # and a record really deleted is deleted on the other side
    with w.adapter(system) as a:
        a.delete_case(hidden)
    report = w.sync(deletions="propagate")
    assert report.status == "ok", report.errors
    assert sorted(cases(w, left)) == sorted(cases(w, right)) == ["Listed"]
    assert w.store.find_link("job", "case", left_id=lid) is None


# --------------------------------------------------------------------------------- mass-deletion guard
GUARD = [
    # (linked, deleted, threshold or None for the default, trips)
    (4, 3, None, True),  # 3 is the minimum: 75% > 25%
    (3, 2, None, False),  # under the minimum, whatever the share (67%)
    (5, 3, None, True),  # 60%: over the default 25% (and under 75%)
    (12, 3, None, False),  # exactly 25%: not more than the threshold
    (12, 4, None, True),  # 33%
    (5, 3, 0.6, False),  # exactly a configured threshold
    (5, 4, 0.6, True),
]


@pytest.mark.parametrize(("linked", "deleted", "threshold", "trips"), GUARD)
def test_mass_deletion_guard_boundaries_for_cases(tmp_path, linked, deleted, threshold, trips):
    left, right = "tr", "tp"
    with world(tmp_path, names=(left, right), jobs=[{"name": "job", "left": left, "right": right}]) as w:
        ids = [put(w, left, new_case(f"Guarded {i}")) for i in range(linked)]
        w.sync()
        with w.adapter(left) as a:
            for cid in ids[:deleted]:
                a.delete_case(cid)
        overrides = {} if threshold is None else {"mass_delete_threshold": threshold}
        report = w.sync(deletions="propagate", **overrides)
        if trips:
            assert report.status == "aborted" and "vanished" in report.errors[0], report.errors
            assert len(cases(w, right)) == linked  # nothing deleted
        else:
            assert report.status == "ok", report.errors
            assert len(cases(w, right)) == linked - deleted


@pytest.mark.parametrize(("linked", "deleted", "trips"), [(4, 3, True), (3, 2, False)])
def test_mass_deletion_guard_covers_plans(tmp_path, linked, deleted, trips):
    left, right = "tr", "tp"
    with world(tmp_path, names=(left, right), jobs=[{"name": "job", "left": left, "right": right}]) as w:
        cid = put(w, left, new_case("Planned case"))
        with w.adapter(left) as a:
            plans = [Plan(name=f"Plan {i}", runs=[PlanRun(name=f"Plan {i}", case_ids=[cid])]) for i in range(linked)]
            ids = [str(a.create_plan(p, marker=f"p{i}").id) for i, p in enumerate(plans)]
        w.sync()
        assert len(w.store.links("job", "plan")) == linked
        with w.adapter(left) as a:
            for pid in ids[:deleted]:
                a.delete_plan(pid)
        report = w.sync(deletions="propagate")
        with w.adapter(right) as b:
            left_on_right = len(list(b.iter_plans()))
        if trips:
            assert report.status == "aborted" and "vanished" in report.errors[0], report.errors
            assert left_on_right == linked
        else:
            assert report.status == "ok", report.errors
            assert left_on_right == linked - deleted


# ------------------------------------------------------------------------------------- lost answers
@pytest.mark.parametrize("lost", ["drop", "error"])
def test_a_create_whose_answer_is_lost_is_not_made_twice(pair, lost):
    w, left, right = pair
    put(w, left, new_case("First"))
    w.sync()  # folders, the bridge's own service: what the next create needs exists on the target
    put(w, left, new_case("Second"))
    faults = w.sims[right].faults
    faults.lose_next_writes, faults.lost_answer = 1, lost
    report = w.sync(plan_first=False)
    assert faults.lose_next_writes == 0  # the fault fired
    if report.errors and lost == "drop":
        # the create may have landed: the intent stays open for the next run to look for its marker
        assert len(w.store.open_intents("job", "case")) == 1
    faults.lose_next_writes = 0
    w.sync()
    assert sorted(cases(w, right)) == sorted(cases(w, left)) == ["First", "Second"]
    assert len([lk for lk in w.store.links("job", "case") if lk.state == "active"]) == 2
    assert w.store.open_intents("job") == []


# ------------------------------------------------------------------------------------------ slow pages
def test_a_listing_too_slow_to_read_deletes_nothing(tmp_path):
    """A page that does not come within the timeout fails the read (after its retries); the run must not take
    the records it could not read for deleted ones."""
    left, right = "tr", "tp"
    with world(tmp_path, names=(left, right), jobs=[{"name": "job", "left": left, "right": right}]) as w:
        for i in range(3):
            put(w, left, new_case(f"Slow {i}"))
        w.sync()
        faults = w.sims[left].faults
        faults.listing_latency, faults.listing_where = 1.5, CASE_LISTING[left]
        w.settings.setdefault(left, {})["timeout"] = 0.5
        report = w.sync(deletions="propagate", plan_first=False)
        assert report.status != "ok" and report.errors
        assert any("get_cases" in e or "did not answer" in e or "timed out" in e.lower() for e in report.errors), (
            report.errors
        )
        faults.listing_latency = 0.0
        assert sorted(cases(w, right)) == [f"Slow {i}" for i in range(3)]
        assert len([lk for lk in w.store.links("job", "case") if lk.state == "active"]) == 3
        assert deleted_entries(w) == []
        assert w.sync(deletions="propagate").status == "ok"
        assert sorted(cases(w, right)) == [f"Slow {i}" for i in range(3)]


# ----------------------------------------------------------------------------------------------- echoes
@pytest.mark.parametrize("pair", [("ca", "tr"), ("tr", "ca")], ids="-".join)
def test_an_update_the_target_stores_differently_does_not_echo_back(tmp_path, pair):
    """CodeArts has a "lowest" priority, TestRail does not (it stores "low"): after the update, the side that
    stored it differently is not seen as changed, so nothing is written back, either way round."""
    left, right = pair
    lossless, lossy = ("ca", "tr")
    with world(tmp_path, names=pair, jobs=[{"name": "job", "left": left, "right": right}]) as w:
        cid = put(w, lossless, new_case("Echo"))
        w.sync()
        edit(w, lossless, cid, priority=Priority.LOWEST)
        w.sync()
        assert (
            cases(w, lossy)["Echo"].priority == Priority.LOW and cases(w, lossless)["Echo"].priority == Priority.LOWEST
        )
        before = {s: writes(w, s) for s in pair}
        report = w.sync()
        assert report.status == "ok", report.errors
        assert {s: writes(w, s) for s in pair} == before and report.total("updated") == 0
        assert cases(w, lossless)["Echo"].priority == Priority.LOWEST
