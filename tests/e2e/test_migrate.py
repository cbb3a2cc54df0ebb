"""``migrate`` into a target that already holds some of the records: matched records that differ are conflicts
(or the source's with ``--overwrite``), the report counts what matched, differed and was created, and the dry
run lists exactly what the migration then does."""

from __future__ import annotations

from pathlib import Path

import pytest
from e2e_harness import assert_counts_agree, assert_plan_was_done, world
from test_cli_commands import run, write_config
from test_sync_rules import cases, new_case, put

from bridge.commands import migration_job, run_job


def seed(w) -> None:  # type: ignore[no-untyped-def]
    for title in ("Same A", "Same B", "Only source 1", "Only source 2"):
        put(w, "tr", new_case(title))
    put(w, "tr", new_case("Differs", steps=1))
    for title in ("Same A", "Same B"):
        put(w, "tp", new_case(title))
    put(w, "tp", new_case("Differs", steps=3))


def test_matched_records_that_differ_are_conflicts_not_overwritten(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with world(tmp_path, names=("tr", "tp")) as w:
        seed(w)
        cfg_path = write_config(w, tmp_path / "bridge.toml", {"name": "other", "left": "tp", "right": "tp"})
        cfg_path.write_text(cfg_path.read_text().split("[[jobs]]")[0])  # no job: the migration makes its own
        cfg = str(cfg_path)
        code, out = run(capsys, "migrate", "--config", cfg, "--from", "tr", "--to", "tp", "--dry-run")
        assert code == 0 and "would migrate tr -> tp: cases: 3 matched (1 differed" in out
        assert "would log conflict (first-sight steps)" in out
        code, out = run(capsys, "migrate", "--config", cfg, "--from", "tr", "--to", "tp")
        assert code == 0, out
        assert (
            "migrated tr -> tp: cases: 3 matched (1 differed: left as they are, each difference a conflict), "
            "2 created" in out
        )
        assert len(cases(w, "tp")["Differs"].steps) == 3  # the target's record is not overwritten
        assert [(c.kind, c.field) for c in w.store.conflicts(job="migrate-tr-tp")] == [("first-sight", "steps")]
        assert len(cases(w, "tp")) == 5


def test_overwrite_takes_the_source_values_and_keeps_the_loser_in_the_log(tmp_path: Path) -> None:
    with world(tmp_path, names=("tr", "tp")) as w:
        seed(w)
        cfg = w.config()
        job = migration_job(cfg, "tr", "tp")
        planned = run_job(cfg, job, w.store, dry_run=True, kind="migrate", overwrite=True)
        done = run_job(cfg, job, w.store, dry_run=False, kind="migrate", overwrite=True)
        assert done.status == "ok", done.errors
        assert_plan_was_done(planned, done)
        assert_counts_agree(w.store, done)
        assert len(cases(w, "tp")["Differs"].steps) == 1
        logged = w.store.conflicts(job=job.name, open_only=False)
        assert [(c.kind, c.resolution, len(c.right_value)) for c in logged] == [("first-sight", "overwrite", 3)]
        assert sum(c.get("differed", 0) for c in done.counts.values()) == 1


def test_each_created_case_is_checked_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The Writer's check of a create is the one the adapter creates from: TestPlanIt works a case's
    template values out once, not once for the check and again for the create."""
    import adapters.testplanit.adapter as module

    worked_out: list[str] = []
    wanted_values = module.fields.wanted_values

    def counted(fmap, case, *args):  # type: ignore[no-untyped-def]
        worked_out.append(case.title)
        return wanted_values(fmap, case, *args)

    monkeypatch.setattr(module.fields, "wanted_values", counted)
    with world(tmp_path, names=("tr", "tp")) as w:
        for title in ("One", "Two", "Three"):
            put(w, "tr", new_case(title))
        cfg = w.config()
        done = run_job(cfg, migration_job(cfg, "tr", "tp"), w.store, dry_run=False, kind="migrate")
        assert done.status == "ok", done.errors
        assert sorted(cases(w, "tp")) == ["One", "Three", "Two"]
    assert sorted(worked_out) == ["One", "Three", "Two"]
