"""Helpers shared by the TestRail tests (a module of its own: ``conftest`` is not importable by name when
several test folders have one)."""

from __future__ import annotations

from adapters.registry import create_adapter
from adapters.simulation import LoopbackServer
from adapters.testrail.adapter import TestRailAdapter
from adapters.testrail.settings import TestRailSettings
from adapters.testrail.simulator import TestRailSimulator


def make_adapter(sim: TestRailSimulator, server: LoopbackServer, **extra: object) -> TestRailAdapter:
    settings = TestRailSettings(url=server.url, **{**sim.credentials(), **extra})  # type: ignore[arg-type]
    adapter = create_adapter("tr", settings)
    assert isinstance(adapter, TestRailAdapter)
    return adapter
