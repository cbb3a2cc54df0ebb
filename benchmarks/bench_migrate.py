"""Benchmark: migrate 10,000 cases with steps from TestRail to TestPlanIt, then a no-change sync of them.

    python benchmarks/bench_migrate.py [--cases 10000] [--workers 4]

The simulators run in child processes, so the figures are the bridge's own: requests per system (counted by
the bridge's HTTP layer), wall time, CPU time and peak memory (max RSS) of this process.

The no-change sync must cost exactly one listing of each side: its requests are compared with those of a
plain listing pass (connect, folders, cases) made with the same adapters. Then the same job with
``full_read_every``: TestRail lists only the cases changed since the previous run.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "e2e"))

from sim_process import start  # noqa: E402

from adapters.registry import create_adapter  # noqa: E402
from bridge.commands import migration_job, run_job  # noqa: E402
from bridge.config import config_from_dict  # noqa: E402
from bridge.http import STATS  # noqa: E402
from bridge.logs import configure_logging  # noqa: E402
from mappings.store import Store  # noqa: E402


def requests_by_system() -> dict[str, int]:
    return {system: STATS.total(name) for system, name in (("testrail", "tr"), ("testplanit", "tp"))}


def delta(before: dict[str, int]) -> dict[str, int]:
    return {k: v - before.get(k, 0) for k, v in requests_by_system().items()}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=4)
    args = parser.parse_args()
    configure_logging("warning")
    source = start("testrail", seed=3, cases=args.cases, sections=200, steps=3)
    target = start("testplanit")
    try:
        work = Path(tempfile.mkdtemp(prefix="tpb-bench-"))
        raw = {
            "store": {"url": f"sqlite:///{work}/store.db"},
            "systems": {
                "tr": {"kind": "testrail", "url": source.url, **source.credentials},
                "tp": {"kind": "testplanit", "url": target.url, **target.credentials},
            },
            "jobs": [{"name": "tr-tp", "left": "tr", "right": "tp", "entities": ["folder", "case"]}],
        }
        cfg = config_from_dict(raw)
        store = Store(cfg.store.url)

        print(f"migration of {args.cases} cases with 3 steps each, TestRail -> TestPlanIt, {args.workers} workers")
        job = migration_job(cfg, "tr", "tp")
        before, t0, c0 = requests_by_system(), time.perf_counter(), time.process_time()
        report = run_job(cfg, job, store, dry_run=False, kind="migrate", workers=args.workers)
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"  status {report.status}, created {report.total('created')}, errors {len(report.errors)}")
        print(f"  requests {delta(before)}")
        print(f"  wall {wall:.1f} s, engine process CPU {cpu:.1f} s, peak memory {peak:.0f} MiB")

        print(f"no-change sync of the {store.link_count('tr-tp')} linked cases (folders + cases, both ways)")
        before = requests_by_system()
        for name in ("tr", "tp"):
            adapter = create_adapter(name, cfg.system(name))
            with adapter:
                list(adapter.iter_folders())
                list(adapter.iter_cases())
        listing = delta(before)
        job = cfg.job("tr-tp")
        before, t0, c0 = requests_by_system(), time.perf_counter(), time.process_time()
        report = run_job(cfg, job, store, dry_run=False, workers=args.workers)
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        measured = delta(before)
        print(f"  status {report.status}, updated {report.total('updated')}, created {report.total('created')}")
        for system in ("testrail", "testplanit"):
            verdict = "MATCH" if measured[system] == listing[system] else "MISMATCH"
            print(f"  {system}: {measured[system]} requests, one listing costs {listing[system]}: {verdict}")
        print(f"  wall {wall:.1f} s, engine process CPU {cpu:.1f} s")

        print("the same with full_read_every = 6h (TestRail lists only its changed cases)")
        incremental = config_from_dict({**raw, "jobs": [{**raw["jobs"][0], "full_read_every": "6h"}]})
        run_job(incremental, incremental.job("tr-tp"), store, dry_run=False, workers=args.workers)  # sets the mark
        before, t0, c0 = requests_by_system(), time.perf_counter(), time.process_time()
        report = run_job(incremental, incremental.job("tr-tp"), store, dry_run=False, workers=args.workers)
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        measured = delta(before)
        print(f"  status {report.status}, updated {report.total('updated')}, created {report.total('created')}")
        print(f"  requests {measured} (a full listing: {listing})")
        print(f"  wall {wall:.1f} s, engine process CPU {cpu:.1f} s")
        store.close()
    finally:
        source.stop()
        target.stop()


if __name__ == "__main__":
    main()
