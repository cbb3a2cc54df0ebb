"""Benchmark: read N cases with steps from the TestRail simulator through the adapter.

    python benchmarks/bench_testrail_read.py [--cases 10000] [--sections 200] [--steps 3] [--json]

The simulator runs in a child process (benchmarks/harness.py), so CPU and memory are the adapter's own. The
get_cases request count must equal the page count (10,000 / 250 = 40): a full read never fetches cases one by
one. ``min_requests``: the section pages + the case pages (``connect`` comes before the measured read).
"""

from __future__ import annotations

import sys

import harness

from adapters.registry import create_adapter
from adapters.testrail.client import PAGE_SIZE
from adapters.testrail.settings import TestRailSettings


def main() -> int:
    parser = harness.parser(__doc__)
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--sections", type=int, default=200)
    parser.add_argument("--steps", type=int, default=3)
    args = parser.parse_args()
    out = harness.Output(args.json)
    spec = {"seed": 1, "cases": args.cases, "sections": args.sections, "steps": args.steps}
    with harness.simulators(args, testrail=spec) as sims:
        sim = sims["testrail"]
        adapter = create_adapter("testrail", TestRailSettings(url=sim.url, **sim.credentials))
        with adapter:
            with harness.measure(sims) as phase:
                count = steps = 0
                for case in adapter.iter_cases():
                    count += 1
                    steps += len(case.steps)
    least = harness.pages(args.sections, PAGE_SIZE) + harness.pages(args.cases, PAGE_SIZE)
    figures = phase.figures(cases=count, min_requests={"testrail": least}, steps=steps)
    out.line(harness.summary(f"read {count} cases ({steps} steps)", figures))
    out.lines(harness.route_lines(phase))
    case_pages = phase.routes("testrail")["GET get_cases"]
    ok = count == args.cases and case_pages == harness.pages(args.cases, PAGE_SIZE)
    out.line("OK" if ok else "FAIL: get_cases requests differ from the page count")
    out.emit("testrail_read", figures)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
