"""TestPlanIt benchmark: read N cases with steps, create M cases with steps (simulator on loopback).

    python benchmarks/bench_testplanit.py [--read 10000] [--create 1000] [--json]

The simulator runs in a child process (benchmarks/harness.py), so CPU and memory are the adapter's own
(tracemalloc would also slow the requests down several times over). A full read costs one request per page of
500 cases (steps, tags and template field values come along through ``include``; a full last page costs one
more, empty, request) plus the folder tree; a create costs one request per case (the case, its steps, tags and
field values in one nested create). The JSON line holds the read's figures at the top, the create's under
``create``.
"""

from __future__ import annotations

import harness

from adapters.testplanit.adapter import PAGE_SIZE, TestPlanItAdapter
from adapters.testplanit.settings import TestPlanItSettings
from bridge.model import Case, CaseType, Priority, Step
from mappings.valuemaps import load_value_maps


def adapter_for(sim: harness.Sim) -> TestPlanItAdapter:
    adapter = TestPlanItAdapter(
        "bench", TestPlanItSettings(url=sim.url, **sim.credentials), load_value_maps("testplanit")
    )
    adapter.connect()
    return adapter


def main() -> None:
    parser = harness.parser(__doc__)
    parser.add_argument("--read", type=int, default=10_000)
    parser.add_argument("--create", type=int, default=1_000)
    args = parser.parse_args()
    out = harness.Output(args.json)

    with harness.simulators(args, testplanit={"cases": args.read, "steps_per_case": 3, "folders": 8}) as sims:
        adapter = adapter_for(sims["testplanit"])
        with harness.measure(sims) as phase:
            cases = steps = 0
            for case in adapter.iter_cases():
                cases += 1
                steps += len(case.steps)
        adapter.close()
    least = {"testplanit": 1 + harness.pages(cases, PAGE_SIZE, says_when_done=False)}  # folders (cached) + cases
    read = phase.figures(cases=cases, min_requests=least, steps=steps)
    out.line(harness.summary(f"read {cases} cases with {steps} steps", read))
    out.lines(harness.route_lines(phase))

    with harness.simulators(args, testplanit={}) as sims:
        adapter = adapter_for(sims["testplanit"])
        adapter.ensure_folder(["Bench", "Created"])
        with harness.measure(sims) as phase:
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
        adapter.close()
    create = phase.figures(cases=len(ids), min_requests={"testplanit": args.create})
    out.line(harness.summary(f"create {len(ids)} cases with steps, each read back from its create answer", create))
    out.lines(harness.route_lines(phase))
    out.emit("testplanit", read, create=create)


if __name__ == "__main__":
    main()
