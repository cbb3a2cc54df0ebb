"""Helpers shared by the TestPlanIt tests (a unique module name: test directories share sys.path)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from adapters.simulation import LoopbackServer
from adapters.testplanit.adapter import TestPlanItAdapter
from adapters.testplanit.settings import TestPlanItSettings
from adapters.testplanit.simulator import TestPlanItSimulator
from mappings.valuemaps import load_value_maps

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "testplanit"


def load_fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text("utf-8"))


def make_adapter(sim: TestPlanItSimulator, server: LoopbackServer, **overrides: Any) -> TestPlanItAdapter:
    values = {"url": server.url, "max_retries": 2, **sim.credentials(), **overrides}
    settings = TestPlanItSettings(**values)
    return TestPlanItAdapter("tpi", settings, load_value_maps("testplanit", settings.value_maps))
