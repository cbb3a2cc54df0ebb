"""Simulators on loopback plus a config pointing at them: the end-to-end tests' world."""

from __future__ import annotations

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
from bridge.sync.engine import SyncReport
from mappings.store import Store

KIND_OF = {"tr": "testrail", "ca": "codearts", "tp": "testplanit", "pt": "perftest"}


@dataclass
class World:
    sims: dict[str, Simulator]
    urls: dict[str, str]
    store_url: str
    jobs: list[dict[str, Any]] = field(default_factory=list)
    _store: Store | None = None

    def config(self, **job_overrides: Any) -> Config:
        systems = {}
        for name, sim in self.sims.items():
            systems[name] = {"kind": KIND_OF[name], "url": self.urls[name], **sim.credentials(), "max_retries": 2}
            if name == "pt":
                systems[name]["perftest_project_id"] = sim.perftest_project_id  # type: ignore[attr-defined]
        jobs = [{**j, **job_overrides} for j in self.jobs]
        return config_from_dict({"store": {"url": self.store_url}, "systems": systems, "jobs": jobs})

    @property
    def store(self) -> Store:
        if self._store is None:
            self._store = Store(self.store_url)
        return self._store

    def sync(self, job: str | None = None, *, dry_run: bool = False, **job_overrides: Any) -> SyncReport:
        cfg = self.config(**job_overrides)
        selected = cfg.job(job) if job else cfg.jobs[0]
        return run_job(cfg, selected, self.store, dry_run=dry_run)

    @contextmanager
    def adapter(self, name: str) -> Iterator[Adapter]:
        cfg = self.config()
        adapter = create_adapter(name, cfg.system(name))
        adapter.connect()
        try:
            yield adapter
        finally:
            adapter.close()


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
