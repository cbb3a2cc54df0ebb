"""Two runs of one job at the same time: both create the same case on the target, one links it, the other dies
on the link. The store left behind (a link, an open intent, a second record carrying the same marker) made
every later sync fail with ``UNIQUE constraint failed: tpb_link``; the next run now repairs it and says so."""

from __future__ import annotations

from pathlib import Path

import pytest
from e2e_harness import World, world
from test_cli_commands import run, write_config
from test_sync_rules import cases, new_case, put

from bridge.sync.markers import marker_for

JOB = {"name": "job", "left": "tr", "right": "tp"}


def broken_by_two_runs(w: World) -> tuple[str, str, str]:
    """(source id, the linked copy, the second copy), made through the real store and simulators."""
    source = put(w, "tr", new_case("Made twice"))
    marker = marker_for("job", "case", "left", source)
    assert w.sync(plan_first=False).status == "ok"  # the first run creates and links its copy
    linked = w.store.find_link("job", "case", left_id=source).right_id
    # the second run, at the same time: its intent is committed, its create lands, then its link fails
    intent = w.store.record_intent("job", "case", "right", source, marker)
    with w.adapter("tp") as b:
        second = b.create_case(new_case("Made twice"), marker=marker).id
    assert second is not None
    assert [i.id for i in w.store.open_intents("job")] == [intent.id]
    return source, linked, second


def test_a_store_broken_by_two_concurrent_runs_heals_on_the_next_run(tmp_path: Path) -> None:
    with world(tmp_path, names=("tr", "tp"), jobs=[JOB]) as w:
        source, linked, second = broken_by_two_runs(w)
        report = w.sync()
        assert report.status == "ok", report.errors
        repaired = [n for n in report.notes if n.startswith("repaired:")]
        assert len(repaired) == 1 and f"tp:{linked}" in repaired[0] and f"tp:{second}" in repaired[0]
        assert w.store.open_intents("job") == []
        assert w.store.find_link("job", "case", left_id=source).right_id == linked
        duplicate = [c for c in w.store.conflicts(job="job") if c.kind == "duplicate"]
        assert [(c.right_id, c.right_value) for c in duplicate] == [(second, [linked, second])]
        # nothing deleted, and the second copy is not copied back to TestRail as a case of its own
        with w.adapter("tp") as b:
            assert b.get_case(second) is not None
        assert list(cases(w, "tr")) == ["Made twice"]
        again = w.sync()
        assert again.status == "ok" and again.total("created") == 0 and again.conflicts_opened == 0
        assert not [n for n in again.notes if n.startswith("repaired:")]

        # a person deletes the second copy: the entry closes by itself
        with w.adapter("tp") as b:
            b.delete_case(second)
        closed = w.sync()
        assert closed.conflicts_closed == 1 and w.store.conflicts(job="job") == []


def test_a_duplicate_kept_by_a_person_becomes_a_record_of_its_own(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with world(tmp_path, names=("tr", "tp"), jobs=[JOB]) as w:
        _source, _linked, second = broken_by_two_runs(w)
        w.sync()
        cfg = str(write_config(w, tmp_path / "bridge.toml", JOB))
        dup = next(c for c in w.store.conflicts(job="job") if c.kind == "duplicate")
        code, out = run(capsys, "conflicts", "resolve", str(dup.id), "--take", "left", "--config", cfg)
        assert code == 2 and "value=keep" in out
        code, out = run(capsys, "conflicts", "resolve", str(dup.id), "--take", "value=keep", "--config", cfg)
        assert code == 0
        report = w.sync()
        assert report.status == "ok" and report.total("created") == 1
        assert w.store.find_link("job", "case", right_id=second) is not None
        assert sorted(cases(w, "tr")) == ["Made twice"] and len(list(cases(w, "tr"))) == 1  # (titles collapse)
        with w.adapter("tr") as a:
            assert len(list(a.iter_cases())) == 2
        assert w.store.conflicts(job="job") == []


def test_two_runs_at_once_then_one_more_leave_every_case_linked_once(tmp_path: Path) -> None:
    """However the two runs interleave, neither raises, and the run after them leaves one link per case, every
    other copy logged as a duplicate, and nothing copied back.

    The job's run lock (bridge.runlock) keeps two runs apart in practice, so this test goes around it
    (``_run_job``) to hold the engine's own guarantee: adoption stays correct when runs do overlap."""
    import threading

    from bridge.commands import _run_job
    from mappings.store import Store

    with world(tmp_path, names=("tr", "tp"), jobs=[JOB]) as w:
        for i in range(12):
            put(w, "tr", new_case(f"Raced {i}"))
        cfg = w.config()
        assert w.store.link_count() == 0  # the schema exists before the two runs start (their race is not ours)
        reports = []

        def one_run() -> None:
            store = Store(w.store_url)  # each run has its own connection pool, as two processes would
            try:
                reports.append(
                    _run_job(cfg, cfg.jobs[0], store, dry_run=False, kind="sync", workers=2, overwrite=False)
                )
            finally:
                store.close()

        threads = [threading.Thread(target=one_run) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(reports) == 2  # neither run raised
        after = w.sync()
        assert after.status == "ok", after.errors
        links = [lk for lk in w.store.links("job", "case") if lk.state == "active"]
        assert len(links) == 12 and len({lk.right_id for lk in links}) == 12
        with w.adapter("tp") as b:
            on_tp = {c.id for c in b.iter_cases()}
        duplicates = {c.right_id for c in w.store.conflicts(job="job") if c.kind == "duplicate"}
        assert on_tp == {lk.right_id for lk in links} | duplicates
        with w.adapter("tr") as a:
            assert len(list(a.iter_cases())) == 12
        assert w.sync().total("created") == 0


def test_a_batch_of_creates_whose_link_collides_saves_the_others_and_keeps_the_second_copy_in_view(tmp_path: Path):
    """Another run links one of a batch's sources between its creates and its links: the batch's one insert
    fails, so the links are saved one at a time; the colliding create is reported and keeps its open intent."""
    from bridge.sync import faultpoints
    from mappings.tables import Link

    with world(tmp_path, names=("tr", "tp"), jobs=[JOB]) as w:
        ids = [put(w, "tr", new_case(f"Batch case {i}")) for i in range(3)]

        def other_run_links_the_first(point: str) -> None:
            if point == "case.link.before" and w.store.find_link("job", "case", left_id=ids[0]) is None:
                w.store.save_link(Link(job="job", entity="case", left_id=ids[0], right_id="theirs"))

        faultpoints.install(other_run_links_the_first)
        try:
            report = w.sync(plan_first=False)
        finally:
            faultpoints.install(None)
        links = {lk.left_id: lk.right_id for lk in w.store.links("job", "case")}
        assert set(links) == set(ids) and links[ids[0]] == "theirs"
        assert report.counts[("tp", "case")]["created"] == 2, report.counts
        assert any("linked by another run" in e and "second copy" in e for e in report.errors), report.errors
        assert [i.source_id for i in w.store.open_intents("job")] == [ids[0]]
        assert len(cases(w, "tp")) == 3  # the second copy is left in place, never deleted by the bridge
