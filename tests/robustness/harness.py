"""Simulators on loopback, configs for them, and the CLI run as a user runs it (a subprocess)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from adapters.base import Adapter
from adapters.registry import create_adapter
from adapters.simulation import Simulator
from bridge.config import config_from_dict

REPO = Path(__file__).resolve().parents[2]


@dataclass
class Outcome:
    code: int
    out: str

    def __str__(self) -> str:
        return f"exit {self.code}:\n{self.out[-4000:]}"


def cli(
    *args: str, cwd: Path | None = None, env: dict[str, str] | None = None, prefix: tuple[str, ...] = (), **popen: Any
) -> Outcome:
    """``testplan-bridge ARGS`` in a process of its own (``prefix`` runs it through another command, such as
    setpriv); stdout and stderr together."""
    proc = subprocess.run(
        [*prefix, sys.executable, "-m", "bridge", *args],
        cwd=cwd or REPO,
        env={**os.environ, "COLUMNS": "200", **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=300,
        **popen,
    )
    return Outcome(proc.returncode, proc.stdout)


def system_table(kind: str, url: str, sim: Simulator, **extra: Any) -> dict[str, Any]:
    return {"kind": kind, "url": url, **sim.credentials(), **extra}


def write_config(path: Path, store: str, systems: dict[str, dict[str, Any]], jobs: list[dict[str, Any]]) -> Path:
    lines = ["[store]", f"url = {json.dumps(store)}"]
    for name, table in systems.items():
        lines.append(f"[systems.{name}]")
        lines += [f"{k} = {json.dumps(v)}" for k, v in table.items()]
    for job in jobs:
        lines.append("[[jobs]]")
        lines += [f"{k} = {json.dumps(v)}" for k, v in job.items()]
    path.write_text("\n".join(lines) + "\n")
    return path


def tp_to_tr_config(
    path: Path,
    store: Path,
    source: tuple[str, Simulator],
    target: tuple[str, Simulator],
    target_extra: dict[str, Any] | None = None,
    **job: Any,
) -> Path:
    """A config of TestPlanIt "tp" and TestRail "tr" (each as (url, simulator)) and a job "qa" between them."""
    systems = {
        "tp": system_table("testplanit", source[0], source[1]),
        "tr": system_table("testrail", target[0], target[1], **(target_extra or {})),
    }
    return write_config(path, f"sqlite:///{store}", systems, [{"name": "qa", "left": "tp", "right": "tr", **job}])


def adapter(kind: str, url: str, sim: Simulator) -> Adapter:
    """An adapter straight at a simulator (no proxy), to read what the system really holds."""
    cfg = config_from_dict({"systems": {"direct": system_table(kind, url, sim)}})
    a = create_adapter("direct", cfg.system("direct"))
    a.connect()
    return a


def case_titles(kind: str, url: str, sim: Simulator) -> list[str]:
    a = adapter(kind, url, sim)
    try:
        return sorted(c.title for c in a.iter_cases())
    finally:
        a.close()


def assert_no_traceback(outcome: Outcome) -> None:
    assert "Traceback" not in outcome.out, str(outcome)
