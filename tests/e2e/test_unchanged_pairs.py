"""A sync of many linked cases keeps only ids for the pairs unchanged on both sides; a pair changed on one
side is merged with the other side's case as it was listed (no second request for it). Through the
simulators on loopback and the real SQLite store."""

from __future__ import annotations

from pathlib import Path

from e2e_harness import World, world
from test_sync_rules import cases, edit, new_case, put

JOB = {"name": "job", "left": "tr", "right": "tp", "entities": ["folder", "case"]}


def single_reads(w: World) -> list[str]:
    """TestRail requests for one case (a direct look-up), not listings."""
    return [e.query for e in w.sims["tr"].log.entries if "/get_case/" in e.query]


def right_id(w: World, tr_id: str) -> str:
    link = w.store.find_link("job", "case", left_id=tr_id)
    assert link is not None
    return link.right_id


def test_changed_pairs_are_merged_from_the_listing_and_the_rest_count_as_unchanged(tmp_path: Path) -> None:
    with world(tmp_path, names=("tr", "tp"), jobs=[JOB]) as w:
        ids = [put(w, "tr", new_case(f"Case {i}")) for i in range(6)]
        assert w.sync().status == "ok" and len(cases(w, "tp")) == 6

        edit(w, "tp", right_id(w, ids[0]), title="Case 0 edited in TestPlanIt")  # the side read second
        edit(w, "tr", ids[1], preconditions="Signed in as admin")  # the side read first
        w.sims["tr"].log.clear()
        report = w.sync(plan_first=False)
        assert report.status == "ok"
        assert report.total("updated") == 2 and report.total("unchanged") == 4
        # both merges used the cases as listed: the one read of a single TestRail case is the update's own
        # (TestRail's update_case reads the case it changes); a look-up for the merge would be a second one
        assert single_reads(w) == [f"/api/v2/get_case/{ids[0]}"]
        assert "Case 0 edited in TestPlanIt" in cases(w, "tr")
        assert cases(w, "tp")["Case 1"].preconditions == "Signed in as admin"

        again = w.sync()
        assert again.total("updated") == 0 and again.total("unchanged") == 6
