from __future__ import annotations

from collections.abc import Iterator

import pytest
from tr_helpers import make_adapter

from adapters.simulation import LoopbackServer
from adapters.testrail.adapter import TestRailAdapter
from adapters.testrail.simulator import TestRailSimulator


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
