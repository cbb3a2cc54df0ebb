"""TestPlanIt benchmark: read 10,000 cases with steps, create 1,000 cases with steps (simulator on loopback).

Prints requests, seconds and peak memory for each scenario. The simulator runs in a child process so that
the figures are the adapter's own: peak memory is this process's peak RSS (tracemalloc would also slow the
requests down several times over). A full read costs one
request per page of 500 cases (steps, tags and template field values come along through ``include``) plus the
folder tree; a create costs one request per case (the case, its steps, tags and field values in one nested
create).

    python benchmarks/bench_testplanit.py [--read 10000] [--create 1000]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from adapters.testplanit.adapter import TestPlanItAdapter
from adapters.testplanit.settings import TestPlanItSettings
from bridge.http import counting
from bridge.model import Case, CaseType, Priority, Step
from mappings.valuemaps import load_value_maps

SERVE = """
import json, sys
from adapters.simulation import serve_forever
from adapters.testplanit.simulator import TestPlanItSimulator
serve_forever(TestPlanItSimulator(**json.loads(sys.argv[1])), 0)
"""


@contextmanager
def simulator(**options: Any) -> Iterator[dict[str, Any]]:
    """A simulator in a child process; yields its info line (url, credentials)."""
    child = subprocess.Popen([sys.executable, "-c", SERVE, json.dumps(options)], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None
        yield json.loads(child.stdout.readline())
    finally:
        child.terminate()
        child.wait(timeout=10)


def adapter_for(info: dict[str, Any]) -> TestPlanItAdapter:
    settings = TestPlanItSettings(url=info["url"], **info["credentials"])
    adapter = TestPlanItAdapter("bench", settings, load_value_maps("testplanit"))
    adapter.connect()
    return adapter


def measure(label: str, fn: Callable[[], str]) -> None:
    started = time.perf_counter()
    with counting() as delta:
        detail = fn()
    seconds = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    requests = sum(delta().values())
    print(f"{label}: {requests} requests, {seconds:.2f} s, peak RSS {peak_mb:.0f} MB ({detail})", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--read", type=int, default=10_000)
    parser.add_argument("--create", type=int, default=1_000)
    args = parser.parse_args()

    with simulator(cases=args.read, steps_per_case=3, folders=8) as info:
        adapter = adapter_for(info)

        def read() -> str:
            cases = steps = 0
            for case in adapter.iter_cases():
                cases += 1
                steps += len(case.steps)
            return f"{cases} cases, {steps} steps"

        measure(f"read {args.read} cases with steps", read)
        adapter.close()

    with simulator() as info:
        adapter = adapter_for(info)
        adapter.ensure_folder(["Bench", "Created"])

        def create() -> str:
            ids = set()
            for i in range(args.create):
                case = Case(
                    title=f"Created case {i}",
                    folder=("Bench", "Created"),
                    description=f"Case {i} checks *one* thing",
                    priority=Priority.HIGH,
                    type=CaseType.REGRESSION,
                    steps=[Step(action=f"Do **{i}**.{s}", expected=f"- ok {s}") for s in range(3)],
                    tags=["bench"],
                )
                ids.add(adapter.create_case(case, marker=f"bench-{i}").id)
            return f"{len(ids)} cases created, each read back from its create answer"

        measure(f"create {args.create} cases with steps", create)
        adapter.close()


if __name__ == "__main__":
    main()
