"""Benchmark: read 10,000 cases with steps from the TestRail simulator through the adapter.

Prints requests, seconds and peak memory. The get_cases request count must equal the page count
(10,000 / 250 = 40): a full read never fetches cases one by one.

    /tmp/venv/bin/python benchmarks/bench_testrail_read.py [--cases 10000] [--sections 200] [--steps 3]
"""

from __future__ import annotations

import argparse
import math
import resource
import time

from adapters.registry import create_adapter
from adapters.testrail.client import PAGE_SIZE
from adapters.testrail.settings import TestRailSettings
from adapters.testrail.simulator import TestRailSimulator


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--sections", type=int, default=200)
    parser.add_argument("--steps", type=int, default=3)
    args = parser.parse_args()

    sim = TestRailSimulator(seed=1, cases=args.cases, sections=args.sections, steps=args.steps)
    with sim.serve() as server:
        adapter = create_adapter("bench", TestRailSettings(url=server.url, **sim.credentials()))
        with adapter:
            sim.log.clear()
            started = time.perf_counter()
            count = steps = 0
            for case in adapter.iter_cases():
                count += 1
                steps += len(case.steps)
            seconds = time.perf_counter() - started
            # peak resident memory of the whole process (simulator included: it runs in-process)
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    requests = len(sim.log)
    case_pages = sim.log.count(contains="get_cases")
    expected = math.ceil(args.cases / PAGE_SIZE)
    print(f"cases read:      {count} ({steps} steps)")
    print(f"requests:        {requests} (get_cases: {case_pages}, expected pages: {expected})")
    print(f"seconds:         {seconds:.2f}")
    print(f"peak memory:     {peak / 1_048_576:.1f} MiB peak RSS of the process, simulator included")
    ok = count == args.cases and case_pages == expected
    print("OK" if ok else "FAIL: request count differs from the page count")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
