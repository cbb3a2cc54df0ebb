"""Simulators on loopback plus a config pointing at them: the end-to-end tests' world."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from adapters.base import Adapter
from adapters.registry import create_adapter, simulator_class
from adapters.simulation import Simulator
from bridge.commands import run_job
from bridge.config import Config, config_from_dict
from bridge.sync.report import SyncReport
from mappings.store import Store

KIND_OF = {"tr": "testrail", "ca": "codearts", "tp": "testplanit", "pt": "perftest"}


@dataclass
class World:
    sims: dict[str, Simulator]
    urls: dict[str, str]
    store_url: str
    jobs: list[dict[str, Any]] = field(default_factory=list)
    #: per system, config keys added to its table (``{"tr": {"timeout": 0.5}}``)
    system_extra: dict[str, dict[str, Any]] = field(default_factory=dict)
    _store: Store | None = None

    def config(self, **job_overrides: Any) -> Config:
        systems = {}
        for name, sim in self.sims.items():
            systems[name] = {"kind": KIND_OF[name], "url": self.urls[name], **sim.credentials(), "max_retries": 2}
            systems[name].update(self.system_extra.get(name, {}))
            if name == "pt":
                systems[name]["perftest_project_id"] = sim.perftest_project_id  # type: ignore[attr-defined]
        jobs = [{**j, **job_overrides} for j in self.jobs]
        return config_from_dict({"store": {"url": self.store_url}, "systems": systems, "jobs": jobs})

    @property
    def store(self) -> Store:
        if self._store is None:
            self._store = Store(self.store_url)
        return self._store

    def sync(
        self, job: str | None = None, *, dry_run: bool = False, plan_first: bool = True, **job_overrides: Any
    ) -> SyncReport:
        """One run of the job. A real run is preceded by a dry run whose plan must be what the real run then
        does, and its summary must count the conflicts the store lists (``plan_first=False`` for a test whose
        own assertions count requests the dry run would add)."""
        cfg = self.config(**job_overrides)
        selected = cfg.job(job) if job else cfg.jobs[0]
        if dry_run:
            return run_job(cfg, selected, self.store, dry_run=True)
        planned = run_job(cfg, selected, self.store, dry_run=True) if plan_first else None
        report = run_job(cfg, selected, self.store, dry_run=False)
        assert_counts_agree(self.store, report)
        if planned is not None and planned.status == report.status == "ok":
            assert_plan_was_done(planned, report)
        return report

    @contextmanager
    def adapter(self, name: str) -> Iterator[Adapter]:
        cfg = self.config()
        adapter = create_adapter(name, cfg.system(name))
        adapter.connect()
        try:
            yield adapter
        finally:
            adapter.close()


def action_keys(report: SyncReport) -> list[tuple[Any, ...]]:
    return sorted((a.key() for a in report.actions), key=repr)


def assert_plan_was_done(planned: SyncReport, done: SyncReport) -> None:
    """A dry run's plan is what the run after it did, action for action (with the same old -> new values)."""
    assert planned.dry_run and not done.dry_run
    want, got = action_keys(planned), action_keys(done)
    assert want == got, (
        f"dry run planned {len(want)} actions, the run did {len(got)}:\n"
        f"planned only: {[k for k in want if k not in got]}\ndone only: {[k for k in got if k not in want]}"
    )
    assert planned.conflicts_open == done.conflicts_open
    assert (planned.conflicts_opened, planned.conflicts_closed) == (done.conflicts_opened, done.conflicts_closed)


def assert_counts_agree(store: Store, report: SyncReport) -> None:
    """A summary counts exactly the open conflicts ``conflicts list --job`` lists (and ``status`` counts), and
    notes are never among them."""
    listed = store.conflicts(job=report.job)
    assert report.conflicts_open == dict(Counter(c.entity for c in listed)), (report.conflicts_open, listed)
    assert sum(store.conflict_counts(report.job).get(report.job, {}).values()) == len(listed)
    assert not [c for c in store.conflicts(job=report.job, open_only=False) if c.kind == "lossy-write"]


@contextmanager
def world(
    tmp_path: Path,
    names: tuple[str, ...] = ("tr", "ca", "tp"),
    seeds: dict[str, int | None] | None = None,
    jobs: list[dict[str, Any]] | None = None,
) -> Iterator[World]:
    seeds = seeds or {}
    with ExitStack() as stack:
        sims: dict[str, Simulator] = {}
        urls: dict[str, str] = {}
        for name in names:
            sim = simulator_class(KIND_OF[name])(seed=seeds.get(name))
            server = stack.enter_context(sim.serve())
            sims[name], urls[name] = sim, server.url
        w = World(sims, urls, f"sqlite:///{tmp_path}/store.db", jobs or [])
        try:
            yield w
        finally:
            if w._store is not None:
                w._store.close()
