"""A run frees each record's objects by reference counting alone: nothing it makes per record or per request
waits for the cycle collector, which a run holds off (bridge.memory), so a listing of many pages or a
migration of many cases does not pile up garbage until it comes by (answers held in a cycle by their own
size-bounded stream once kept a listing's megabyte pages alive). Measured as the cyclic garbage a run leaves
with the automatic collector off, at two sizes: what the larger run adds per case would be the leak. The
simulators serve from this process, so their garbage counts too."""

from __future__ import annotations

import gc
from collections.abc import Callable
from pathlib import Path
from typing import Any

from e2e_harness import world
from test_sync_rules import cases as listed
from test_sync_rules import new_case, put

from bridge.commands import migration_job, run_job


def _cyclic_garbage(run: Callable[[], Any]) -> int:
    """Objects the cycle collector freed because of ``run`` (run_job collects once at its end)."""
    collected: list[int] = []

    def note(phase: str, info: dict[str, int]) -> None:
        if phase == "stop":
            collected.append(info["collected"])

    gc.collect()
    gc.disable()
    gc.callbacks.append(note)
    try:
        run()
        gc.collect()
    finally:
        gc.callbacks.remove(note)
        gc.enable()
    return sum(collected)


def _garbage_of_a_migration_and_a_sync(tmp_path: Path, cases: int) -> tuple[int, int]:
    with world(tmp_path, names=("tr", "tp")) as w:
        for i in range(cases):
            put(w, "tr", new_case(f"Case {i}", steps=3))
        cfg = w.config()
        job = migration_job(cfg, "tr", "tp")
        outcome: list[Any] = []
        migration = _cyclic_garbage(lambda: outcome.append(run_job(cfg, job, w.store, dry_run=False, kind="migrate")))
        # the same job again: every case is linked and unchanged, so it takes a no-change sync's path
        no_change = _cyclic_garbage(lambda: outcome.append(run_job(cfg, job, w.store, dry_run=False, kind="migrate")))
        assert [r.status for r in outcome] == ["ok", "ok"]
        assert len(listed(w, "tp")) == cases and outcome[1].total("created") == 0
        return migration, no_change


def test_a_run_leaves_no_garbage_per_case_for_the_cycle_collector(tmp_path: Path) -> None:
    small = _garbage_of_a_migration_and_a_sync(tmp_path / "small", 10)
    large = _garbage_of_a_migration_and_a_sync(tmp_path / "large", 70)
    per_case = [(b - a) / 60 for a, b in zip(small, large, strict=True)]
    # what a run may leave: its context, which refers to its runner and back, holds the listing (two small
    # objects a case: freed with the context when run_job collects at its end). An answer in a cycle was
    # about 40 objects a created case (the answer, its request, headers, streams and URL)
    assert per_case[0] < 5 and per_case[1] < 5, f"cyclic garbage per case: migration, sync {per_case}"
