from __future__ import annotations

from collections.abc import Iterator

import pytest

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


@pytest.fixture
def sim() -> TestRailSimulator:
    return TestRailSimulator(seed=7)


@pytest.fixture
def server(sim: TestRailSimulator) -> Iterator[LoopbackServer]:
    with sim.serve() as srv:
        yield srv


@pytest.fixture
def adapter(sim: TestRailSimulator, server: LoopbackServer) -> Iterator[TestRailAdapter]:
    with make_adapter(sim, server) as a:
        assert isinstance(a, TestRailAdapter)
        yield a
