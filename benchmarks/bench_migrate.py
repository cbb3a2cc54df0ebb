"""Benchmark: migrate N cases with steps from TestRail to TestPlanIt, then a no-change sync of them.

    python benchmarks/bench_migrate.py [--cases 10000] [--sections 200] [--workers 4] [--json]
                                       [--rpm N] [--latency S] [--no-incremental] [--profile DIR]

The simulators run in child processes (benchmarks/harness.py), so CPU and memory are the bridge's own. Three
measured phases: the migration (``migrate`` job), a no-change two-way sync of the linked cases (it must cost
exactly one listing of each side), and the same sync with ``full_read_every`` (TestRail lists only the
cases changed since the previous run). The JSON line holds the migration's figures at the top and the two
syncs under ``no_change_sync`` and ``incremental_sync``.

``min_requests`` per system, from the data: the adapter's fixed set-up (what ``connect`` costs, measured on
its own) + listing pages (TestRail: 250 sections or cases a page; TestPlanIt: 2,000 folders, 500 cases) +
one create per folder and per case (neither API has a bulk create that takes steps) + one look-up per
top-level TestPlanIt folder before creating it (the server's unique key does not stop a second top-level
folder of the same name) + a look-up and a create per requirement (a TestPlanIt issue). A TestPlanIt listing
ends on a short page, so a full last page costs one more request.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from typing import Any

import harness

from adapters.registry import create_adapter
from bridge.commands import migration_job, run_job
from bridge.config import Config, config_from_dict
from bridge.logs import configure_logging
from mappings.store import Store

TR_PAGE, TP_FOLDER_PAGE, TP_CASE_PAGE = 250, 2000, 500


def connect_cost(cfg: Config, sims: dict[str, harness.Sim]) -> dict[str, int]:
    """Requests each adapter's ``connect`` makes (its fixed set-up, the same for any amount of data)."""
    for sim in sims.values():
        sim.take_log()
    for name in sims:
        with create_adapter(name, cfg.system(name)):
            pass
    return {name: len(sim.take_log()) for name, sim in sims.items()}


@dataclass
class Target:
    """What the migration made on the TestPlanIt side, read after the last phase."""

    folders: int
    top_level: int
    requirements: int  # distinct requirement names: each an issue created with one look-up before it


def target_shape(cfg: Config) -> Target:
    with create_adapter("testplanit", cfg.system("testplanit")) as adapter:
        paths = [f.path for f in adapter.iter_folders()]
        requirements = {r for case in adapter.iter_cases() for r in case.requirements}
    return Target(len(paths), sum(1 for p in paths if len(p) == 1), len(requirements))


def listing(fixed: dict[str, int], folders: int, cases: int, *, changed_cases: int | None = None) -> dict[str, int]:
    """One full read of each side: set-up, folder pages, case pages (TestRail: only the changed cases)."""
    tr_cases = harness.pages(cases if changed_cases is None else changed_cases, TR_PAGE)
    return {
        "testrail": fixed["testrail"] + harness.pages(folders, TR_PAGE) + tr_cases,
        "testplanit": fixed["testplanit"]
        + harness.pages(folders, TP_FOLDER_PAGE, says_when_done=False)
        + harness.pages(cases, TP_CASE_PAGE, says_when_done=False),
    }


def outcome(report: Any) -> dict[str, Any]:
    return {
        "status": report.status,
        "created": report.total("created"),
        "updated": report.total("updated"),
        "failed": report.total("errors") + len(report.errors),
    }


def main() -> None:
    parser = harness.parser(__doc__)
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--sections", type=int, default=200)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--no-incremental", action="store_true", help="skip the full_read_every phase")
    args = parser.parse_args()
    out = harness.Output(args.json)
    configure_logging("warning")
    n = args.cases
    specs = {"testrail": {"seed": 3, "cases": n, "sections": args.sections, "steps": args.steps}, "testplanit": {}}
    with harness.simulators(args, **specs) as sims, tempfile.TemporaryDirectory(prefix="tpb-bench-") as tmp:
        raw: dict[str, Any] = {
            "store": {"url": f"sqlite:///{tmp}/store.db"},
            "systems": {name: sim.settings() for name, sim in sims.items()},
            "jobs": [{"name": "tr-tp", "left": "testrail", "right": "testplanit", "entities": ["folder", "case"]}],
        }
        cfg = config_from_dict(raw)
        store = Store(cfg.store.url)
        fixed = connect_cost(cfg, sims)

        out.line(f"migration of {n} cases with {args.steps} steps, TestRail -> TestPlanIt, {args.workers} workers")
        job = migration_job(cfg, "testrail", "testplanit")
        with harness.measure(sims, store=store, profile=harness.profile_to(args, "migration")) as migrated:
            # only the outcome is kept: a run's report lists every record it created, and a next run in a
            # process of its own (the CLI, a daemon's next firing) would not start with it in memory
            report = run_job(cfg, job, store, dry_run=False, kind="migrate", workers=args.workers)
            reports = {"migration": outcome(report)}
            del report
        links = store.link_count("tr-tp")
        with harness.measure(sims, store=store, profile=harness.profile_to(args, "no_change_sync")) as synced:
            reports["sync"] = outcome(run_job(cfg, cfg.job("tr-tp"), store, dry_run=False, workers=args.workers))
        if not args.no_incremental:
            incremental = config_from_dict({**raw, "jobs": [{**raw["jobs"][0], "full_read_every": "6h"}]})
            run_job(incremental, incremental.job("tr-tp"), store, dry_run=False, workers=args.workers)  # the mark
            with harness.measure(sims, store=store, profile=harness.profile_to(args, "incremental_sync")) as changed:
                reports["incremental"] = outcome(
                    run_job(incremental, incremental.job("tr-tp"), store, dry_run=False, workers=args.workers)
                )
        store.close()
        made = target_shape(cfg)  # read last: its memory is no phase's

    minimum = listing(fixed, made.folders, n)
    # the target is empty when the migration reads it; then one create per folder and case, a look before each
    # top-level folder, and per requirement one look-up and one create of its issue
    minimum["testplanit"] = fixed["testplanit"] + 2 + made.folders + n + made.top_level + 2 * made.requirements
    migration = migrated.figures(cases=n, min_requests=minimum, **reports["migration"])
    out.line(harness.summary("  migration", migration))
    out.lines(harness.route_lines(migrated))
    out.line(f"  {reports['migration']}")

    full = listing(fixed, made.folders, n)
    out.line(f"no-change sync of the {links} linked cases (folders + cases, both ways)")
    sync = synced.figures(cases=n, min_requests=full, **reports["sync"])
    out.line(harness.summary("  no-change sync", sync))
    out.lines(harness.route_lines(synced))
    verdict = "at the minimum" if sync["requests"] == full else "ABOVE the minimum"
    out.line(f"  one listing of each side costs {full}: {verdict}; {reports['sync']}")
    extra: dict[str, Any] = {"no_change_sync": sync}
    if not args.no_incremental:
        out.line("the same with full_read_every = 6h (TestRail lists only its changed cases)")
        least = listing(fixed, made.folders, n, changed_cases=0)  # one page of changed cases: none
        extra["incremental_sync"] = changed.figures(cases=n, min_requests=least, **reports["incremental"])
        out.line(harness.summary("  incremental sync", extra["incremental_sync"]))
        out.lines(harness.route_lines(changed))
    out.emit("migrate", migration, workers=args.workers, **extra)


if __name__ == "__main__":
    main()
