"""CodeArts native case library: what a sync costs in requests (TestRail <-> CodeArts, simulators in child
processes, the real engine and store in this process).

    python benchmarks/bench_codearts.py [--cases 1000] [--changed 10] [--json]

Phases, each measured on its own (a job with ``full_read_every = "24h"``, folders and cases):

1. ``create``: TestRail's N cases in their sections reach an empty CodeArts library: one request per case
   (the create's answer is the stored record) plus one per directory, plus the reads of the empty library.
2. ``settle``: the first sync after that reads CodeArts in full (every case's detail, the list has no
   steps), which sets the read mark.
3. ``no_change``: nothing changed: list pages only (and the directory tree, the branch and the custom fields).
4. ``changed``: ``--changed`` cases edited in CodeArts: the same pages plus one detail request per changed case
   (TestRail gets one update each).
"""

from __future__ import annotations

import re
import tempfile
from collections import Counter
from typing import Any

import harness

from adapters.codearts.native_client import PAGE_SIZE
from adapters.registry import create_adapter
from bridge.commands import run_job
from bridge.config import config_from_dict
from bridge.logs import configure_logging
from mappings.store import Store


def routes(phase: harness.Phase, name: str) -> str:
    """Requests per route with the ids folded, most frequent first."""
    counts: Counter[str] = Counter()
    for route, n in phase.routes(name).items():
        counts[re.sub(r"/[0-9a-f]{16,}", "/{id}", route)] += n
    return f"    {name}: " + ", ".join(f"{route} {n}" for route, n in counts.most_common())


def outcome(report: Any) -> dict[str, Any]:
    return {"status": report.status, "created": report.total("created"), "updated": report.total("updated")}


def main() -> None:
    parser = harness.parser(__doc__)
    parser.add_argument("--cases", type=int, default=1000)
    parser.add_argument("--sections", type=int, default=20)
    parser.add_argument("--changed", type=int, default=10)
    args = parser.parse_args()
    out = harness.Output(args.json)
    configure_logging("warning")
    n = args.cases
    specs = {"testrail": {"seed": 2, "cases": n, "sections": args.sections, "steps": 2}, "codearts": {}}
    with harness.simulators(args, **specs) as sims, tempfile.TemporaryDirectory(prefix="tpb-bench-") as tmp:
        raw: dict[str, Any] = {
            "store": {"url": f"sqlite:///{tmp}/store.db"},
            # mode set: an unset mode costs one more request per run once links exist (the custom-service check)
            "systems": {
                "testrail": sims["testrail"].settings(),
                "codearts": sims["codearts"].settings(mode="native"),
            },
            "jobs": [
                {
                    "name": "ca-tr",
                    "left": "codearts",
                    "right": "testrail",
                    "entities": ["folder", "case"],
                    "full_read_every": "24h",
                }
            ],
        }
        cfg = config_from_dict(raw)
        store = Store(cfg.store.url)
        job = cfg.job("ca-tr")
        figures: dict[str, Any] = {}
        phases: dict[str, harness.Phase] = {}
        reports: dict[str, Any] = {}
        for name in ("create", "settle", "no_change", "changed"):
            if name == "changed":
                with create_adapter("codearts", cfg.system("codearts")) as ca:
                    for case in list(ca.iter_cases())[: args.changed]:
                        ca.update_case(str(case.id), case.model_copy(update={"title": case.title + " (edited)"}))
            with harness.measure(sims, store=store, profile=harness.profile_to(args, name)) as phase:
                reports[name] = run_job(cfg, job, store, dry_run=False)
            phases[name] = phase
        with create_adapter("codearts", cfg.system("codearts")) as ca:
            paths = [f.path for f in ca.iter_folders()]
            cases = sum(1 for _ in ca.iter_cases())
        store.close()

    pages = harness.pages(cases, PAGE_SIZE)
    directories = len(paths)
    # set-up: the branch list and the custom fields; the tree: one children call for the root and one per
    # directory that has children
    tree = 1 + len({p[:-1] for p in paths if len(p) > 1})
    least = {
        "create": {"codearts": 2 + 1 + 1 + n + directories},  # set-up, empty tree, empty page, creates, mkdirs
        "settle": {"codearts": 2 + tree + pages + cases},
        "no_change": {"codearts": 2 + tree + pages},
        "changed": {"codearts": 2 + tree + pages + args.changed},
    }
    out.line(f"CodeArts native library <-> TestRail, {n} cases in {directories} directories")
    for name, phase in phases.items():
        figures[name] = phase.figures(cases=n, min_requests=least[name], **outcome(reports[name]))
        out.line(harness.summary(name, figures[name]))
        out.lines([routes(phase, name) for name in phase.log if phase.log[name]])
    out.emit("codearts_native_sync", figures["no_change"], **{k: v for k, v in figures.items() if k != "no_change"})


if __name__ == "__main__":
    main()
