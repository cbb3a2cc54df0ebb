from __future__ import annotations

from collections.abc import Iterator

import pytest
from tpi_helpers import make_adapter

from adapters.simulation import LoopbackServer
from adapters.testplanit.adapter import TestPlanItAdapter
from adapters.testplanit.simulator import TestPlanItSimulator


@pytest.fixture
def sim() -> TestPlanItSimulator:
    return TestPlanItSimulator(seed=7)


@pytest.fixture
def server(sim: TestPlanItSimulator) -> Iterator[LoopbackServer]:
    with sim.serve() as srv:
        yield srv


@pytest.fixture
def adapter(sim: TestPlanItSimulator, server: LoopbackServer) -> Iterator[TestPlanItAdapter]:
    with make_adapter(sim, server) as a:
        yield a
