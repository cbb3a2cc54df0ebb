"""Benchmark: a migration into a rate-limited TestRail, the bridge paced to the limit.

    python benchmarks/bench_rate_limited.py [--cases 500] [--rpm 300] [--pace 300] [--workers 4] [--json]

TestRail Cloud limits its API to 180 or 300 requests a minute per instance and answers 429 with Retry-After
beyond it. The limit bites where the requests go, so this migrates N cases with steps from TestPlanIt INTO
TestRail: the TestRail simulator (a child process, benchmarks/harness.py) limits itself to ``--rpm``, and the
bridge paces itself with ``requests_per_minute = --pace`` on the TestRail system. Target: wall time at most
1.05 x requests / rate, and 0 failed records. Printed besides the usual figures: the wall time the rate alone
allows (``rate_bound_s`` = requests x 60 / rpm), the ratio to it (``ratio_wall_to_rate``), and the 429s.
"""

from __future__ import annotations

import sys
import tempfile

import harness

from bridge.commands import migration_job, run_job
from bridge.config import config_from_dict
from bridge.logs import configure_logging
from mappings.store import Store


def main() -> int:
    parser = harness.parser(__doc__)
    parser.add_argument("--cases", type=int, default=500)
    parser.add_argument("--pace", type=float, default=None, help="the bridge's requests_per_minute (default: --rpm)")
    parser.add_argument("--workers", type=int, default=4)
    parser.set_defaults(rpm=300)
    args = parser.parse_args()
    pace = args.pace or args.rpm
    out = harness.Output(args.json)
    configure_logging("warning")
    specs = {
        "testplanit": {"cases": args.cases, "steps_per_case": 3, "folders": 8, "rpm": None},
        "testrail": {"rpm": args.rpm},  # an empty project: every case is created
    }
    with harness.simulators(args, **specs) as sims, tempfile.TemporaryDirectory(prefix="tpb-bench-") as tmp:
        systems = {name: sim.settings() for name, sim in sims.items()}
        systems["testrail"]["requests_per_minute"] = pace
        cfg = config_from_dict({"store": {"url": f"sqlite:///{tmp}/store.db"}, "systems": systems, "jobs": []})
        store = Store(cfg.store.url)
        out.line(
            f"migration of {args.cases} cases, TestPlanIt -> TestRail limited to {args.rpm} requests/min, "
            f"the bridge paced to {pace:g}/min, {args.workers} workers"
        )
        with harness.measure(sims, store=store) as phase:
            report = run_job(
                cfg,
                migration_job(cfg, "testplanit", "testrail"),
                store,
                dry_run=False,
                kind="migrate",
                workers=args.workers,
            )
        store.close()
    requests = phase.requests()["testrail"]
    bound = requests * 60 / args.rpm
    failed = report.total("errors") + len(report.errors)
    figures = phase.figures(
        cases=args.cases,
        rpm=args.rpm,
        pace_rpm=pace,
        created=report.total("created"),
        failed=failed,
        rate_bound_s=round(bound, 2),
        ratio_wall_to_rate=round(phase.wall_s / bound, 3),
    )
    out.line(harness.summary("  migration", figures))
    out.lines(harness.route_lines(phase))
    out.line(
        f"  wall {phase.wall_s:.1f} s against {bound:.1f} s for {requests} requests at {args.rpm}/min "
        f"(ratio {figures['ratio_wall_to_rate']:.3f}); 429 answers {figures['throttled']['testrail']}; "
        f"created {figures['created']}, failed {failed}"
    )
    ok = figures["ratio_wall_to_rate"] <= 1.05 and failed == 0
    out.line("target met" if ok else "TARGET MISSED: wall <= 1.05 x requests / rate with 0 failed records")
    out.emit("rate_limited_migration", figures)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
