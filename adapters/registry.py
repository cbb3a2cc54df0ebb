"""Where each kind's settings, adapter and simulator live (imported lazily: a kind's code loads only when used)."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from adapters.base import Adapter, PlanTasks, SystemSettings
    from adapters.simulation import Simulator
    from bridge.config import Config, Job
    from mappings.store import Store

KINDS = ("codearts", "testrail", "testplanit", "apptest", "perftest")
#: kinds whose cases and plans the sync engine can read and write
SYNCABLE_KINDS = ("codearts", "testrail", "testplanit")

SETTINGS = {
    "testrail": "adapters.testrail.settings:TestRailSettings",
    "codearts": "adapters.codearts.settings:CodeArtsSettings",
    "testplanit": "adapters.testplanit.settings:TestPlanItSettings",
    "apptest": "adapters.apptest.settings:AppTestSettings",
    "perftest": "adapters.perftest.settings:PerfTestSettings",
}
ADAPTERS = {
    "testrail": "adapters.testrail.adapter:TestRailAdapter",
    # native case library or custom test service, by the system's ``mode`` (adapters/codearts/mode.py)
    "codearts": "adapters.codearts.mode:open_codearts",
    "testplanit": "adapters.testplanit.adapter:TestPlanItAdapter",
}
#: kinds that are not synced but can still be checked online: "module:function(name, settings) -> str"
CHECKERS: dict[str, str] = {
    "apptest": "adapters.apptest.client:check",
    "perftest": "adapters.perftest.client:check",
}
#: kinds that keep one task per synced plan (the job option ``perftest``): "module:class(name, settings)"
PLAN_TASKS = {
    "perftest": "adapters.perftest.plan_tasks:PerfTestPlanTasks",
}
#: kinds whose settings depend on what the store already links: "module:function(name, settings, ids)"
SETTLERS = {
    "codearts": "adapters.codearts.mode:settle",
}
SIMULATORS = {
    "testrail": "adapters.testrail.simulator:TestRailSimulator",
    "codearts": "adapters.codearts.simulator:CodeArtsSimulator",
    "testplanit": "adapters.testplanit.simulator:TestPlanItSimulator",
    "apptest": "adapters.apptest.simulator:AppTestSimulator",
    "perftest": "adapters.perftest.simulator:PerfTestSimulator",
}


def load(path: str) -> Any:
    module, _, attr = path.partition(":")
    return getattr(importlib.import_module(module), attr)


def settings_class(kind: str) -> type[SystemSettings]:
    return load(SETTINGS[kind])  # type: ignore[no-any-return]


def simulator_class(kind: str) -> type[Simulator]:
    return load(SIMULATORS[kind])  # type: ignore[no-any-return]


def create_adapter(name: str, settings: SystemSettings, overrides: dict[str, Any] | None = None) -> Adapter:
    """The adapter for a configured system, with its value maps (defaults, system overrides, job overrides)."""
    from mappings.valuemaps import load_value_maps

    maps = load_value_maps(settings.kind, settings.value_maps, overrides or {}, source=f"systems.{name}")
    cls = load(ADAPTERS[settings.kind])
    return cls(name, settings.named(name), maps)  # type: ignore[no-any-return]


def linked_ids(store: Store, job: Job, name: str) -> list[str]:
    """The ids on system ``name`` that the job's case links hold (a few are enough)."""
    pairs = store.active_link_ids(job.name, "case")
    if job.left == name:
        return [left for left, _ in pairs[:5]]
    if job.right == name:
        return [right for _, right in pairs[:5]]
    return []


def settled_settings(name: str, settings: SystemSettings, store: Store | None, job: Job | None) -> SystemSettings:
    """``settings`` with what depends on the store decided (a CodeArts system's mode: never a silent switch
    that would duplicate the cases its links point at)."""
    ids = linked_ids(store, job, name) if store is not None and job is not None else []
    return settled_for_ids(name, settings, ids)


def settled_for_ids(name: str, settings: SystemSettings, ids: list[str]) -> SystemSettings:
    """``settings`` with what depends on the linked ``ids`` of this system decided (see SETTLERS)."""
    if settings.kind not in SETTLERS:
        return settings
    return load(SETTLERS[settings.kind])(name, settings, ids)  # type: ignore[no-any-return]


def open_adapters(
    config: Config,
    names: Iterable[str],
    job: Job | None = None,
    *,
    read_only: bool = False,
    store: Store | None = None,
) -> dict[str, Adapter]:
    """Create and connect the adapters for ``names`` (with the job's value map overrides); ``read_only`` for
    a dry run. With ``store``, settings that depend on the job's links are settled first."""
    adapters: dict[str, Adapter] = {}
    try:
        for name in names:
            overrides = (job.value_maps.get(name) if job else None) or {}
            settings = settled_settings(name, config.system(name), store, job)
            adapter = create_adapter(name, settings, overrides)
            adapter.read_only = read_only
            adapter.connect()
            adapters[name] = adapter
    except BaseException:
        for adapter in adapters.values():
            adapter.close()
        raise
    return adapters


def plan_tasks_opener(config: Config) -> Callable[[str], PlanTasks]:
    """``open(name) -> PlanTasks`` for the configured systems that keep a task per plan (the engine's hook)."""

    def open_plan_tasks(name: str) -> PlanTasks:
        settings = config.system(name)
        return load(PLAN_TASKS[settings.kind])(name, settings)  # type: ignore[no-any-return]

    return open_plan_tasks
