"""Helpers for the CI-step tests: a TestRail simulator on loopback and a config pointing at it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from adapters.testrail.simulator import TestRailSimulator
from bridge.cli import main

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "junit"


def run_cli(args: list[str]) -> int:
    """The CLI in-process; returns its exit code."""
    with pytest.raises(SystemExit) as exc:
        main(args)
    return int(exc.value.code or 0)


def write_config(tmp_path: Path, systems: dict[str, dict[str, Any]]) -> Path:
    lines = [f'[store]\nurl = "sqlite:///{tmp_path / "store.db"}"\n']
    for name, table in systems.items():
        lines.append(f"[systems.{name}]")
        for key, value in table.items():
            lines.append(f"{key} = {json.dumps(value)}")
        lines.append("")
    path = tmp_path / "config.toml"
    path.write_text("\n".join(lines), "utf-8")
    return path


@pytest.fixture
def testrail(tmp_path: Path) -> Iterator[tuple[TestRailSimulator, Path]]:
    sim = TestRailSimulator(seed=7)
    with sim.serve() as server:
        config = write_config(tmp_path, {"tr": {"kind": "testrail", "url": server.url, **sim.credentials()}})
        yield sim, config
