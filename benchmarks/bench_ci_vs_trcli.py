"""Benchmark: upload one JUnit file of N tests to the TestRail simulator with trcli and with ci push.

    python benchmarks/bench_ci_vs_trcli.py [--tests 2000] [--latency 0.05] [--mode new|existing] [--json]

Both start from the same simulated project, both run as a separate process as in a CI job (trcli from a
virtualenv of its own, see tests/testrail/trcli_env.py) against a simulator in a process of its own
(benchmarks/harness.py), and both match tests by automation id. ``--mode existing``: the project holds one
case per test, with the test's automation id. ``--mode new``: the project holds 20 unrelated cases, so every
test's case is created first (trcli does by default, ci push with ``--create-missing-cases``).

``--latency`` adds seconds to every simulated request: a real TestRail is tens of milliseconds away, which is
where request counts turn into minutes. The JSON line holds ci push's figures at the top, trcli's under
``trcli``, and ``ratio_wall`` and ``ratio_requests`` (ci push / trcli).

``min_requests``, the least the TestRail API needs for the upload: the project (1), the case pages (250 a
page), in new mode the sections (1) plus a section for the new cases (1) and one ``add_case`` per test (no
bulk case create), one run, and the results in batches of 250 (TestRail documents no maximum for
``add_results_for_cases``; 250 is our assumption, the size of a page).
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

import harness

sys.path.insert(0, str(harness.ROOT / "tests" / "testrail"))

from trcli_env import trcli_executable  # noqa: E402

SECTIONS = 20
UNRELATED_CASES = 20  # --mode new: what the project holds before the upload
PAGE = 250


def with_automation_ids(sim: Any) -> None:
    """sim_process --prepare hook (runs in the simulator's process): case n gets test n's automation id."""
    for n, case in enumerate(sorted(sim.cases)):
        sim.cases[case]["custom_automation_id"] = f"bench.Suite{n % SECTIONS}.test_{n}"


def junit_file(path: Path, tests: int) -> None:
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', '<testsuites name="bench">']
    lines.append(f'<testsuite name="bench suite" tests="{tests}">')
    for i in range(tests):
        outcome = '<failure message="assert 1 == 2">Traceback ...</failure>' if i % 10 == 0 else ""
        skipped = "<skipped/>" if i % 25 == 1 else ""
        lines.append(
            f'<testcase classname="bench.Suite{i % SECTIONS}" name="test_{i}" time="0.{i % 9}">'
            f"{outcome}{skipped}</testcase>"
        )
    lines.append("</testsuite></testsuites>")
    path.write_text("\n".join(lines), "utf-8")


def project(args: Any) -> dict[str, Any]:
    if args.mode == "existing":
        return {
            "seed": 5,
            "cases": args.tests,
            "sections": SECTIONS,
            "prepare": "bench_ci_vs_trcli:with_automation_ids",
        }
    return {"seed": 5, "cases": UNRELATED_CASES, "sections": SECTIONS}


def minimum(args: Any) -> int:
    existing = args.tests if args.mode == "existing" else UNRELATED_CASES
    creates = 0 if args.mode == "existing" else 2 + args.tests
    return 1 + harness.pages(existing, PAGE) + creates + 1 + harness.pages(args.tests, PAGE)


BRIDGE_CONFIG = (
    '[systems.tr]\nkind = "testrail"\nurl = "{url}"\nuser = "{user}"\napi_key = "{api_key}"\nproject = "{project}"\n'
)


def upload(args: Any, argv: list[str], work: Path, *, env: dict[str, str] | None = None) -> harness.Phase:
    """Run one uploader against a fresh project. ``{url}`` and the credentials' names in ``argv`` are filled
    in, and bridge.toml is written with them (ci push reads its config file)."""
    with harness.simulators(args, testrail=project(args)) as sims:
        sim = sims["testrail"]
        values = {"url": sim.url, **sim.credentials}
        (work / "bridge.toml").write_text(BRIDGE_CONFIG.format(**values))
        with harness.measure(sims) as phase:
            run = phase.run([a.format(**values) for a in argv], cwd=work, env=env)
    if run.returncode != 0:
        raise SystemExit(f"{argv[0]} failed ({run.returncode}):\n{run.stdout[-2000:]}\n{run.stderr[-2000:]}")
    return phase


def main() -> int:
    parser = harness.parser(__doc__)
    parser.add_argument("--tests", type=int, default=2000)
    parser.add_argument("--mode", choices=("new", "existing"), default="existing")
    args = parser.parse_args()
    out = harness.Output(args.json)
    trcli = str(trcli_executable())
    bridge = shutil.which("testplan-bridge", path=str(Path(sys.executable).parent)) or "testplan-bridge"
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        junit = work / "junit.xml"
        junit_file(junit, args.tests)
        t_phase = upload(
            args,
            [trcli, "-y", "-h", "{url}", "--project", "{project}", "-u", "{user}", "-k", "{api_key}"]
            + ["parse_junit", "-f", str(junit), "--title", "Bench run"],
            work,
            env={k: v for k, v in os.environ.items() if not k.startswith("VIRTUAL_ENV")},
        )
        argv = [bridge, "ci", "push", "--config", str(work / "bridge.toml"), "--to", "tr", "--junit", str(junit)]
        argv += ["--plan", "Bench run", "--report-json", str(work / "report.json")]
        b_phase = upload(args, argv + (["--create-missing-cases"] if args.mode == "new" else []), work)
        report = json.loads((work / "report.json").read_text())
    if report["posted"] != args.tests or report["unmatched"]:
        raise SystemExit(f"ci push did not post every test: {report}")

    least = {"testrail": minimum(args)}
    theirs = t_phase.figures(cases=args.tests, min_requests=least)
    ours = b_phase.figures(cases=args.tests, min_requests=least)
    ratio_wall = ours["wall_s"] / theirs["wall_s"]
    ratio_requests = ours["requests"]["testrail"] / theirs["requests"]["testrail"]
    out.line(f"JUnit file: {args.tests} tests, {args.mode} cases, simulated latency {args.latency * 1000:.0f} ms")
    out.line(harness.summary("  trcli  ", theirs, "trcli"))
    out.lines(harness.route_lines(t_phase))
    out.line(harness.summary("  ci push", ours))
    out.lines(harness.route_lines(b_phase))
    out.line(f"  ratio ci push / trcli: requests {ratio_requests:.2f}, wall {ratio_wall:.2f}")
    out.emit(
        "ci_vs_trcli",
        ours,
        mode=args.mode,
        latency_s=args.latency,
        ratio_wall=round(ratio_wall, 3),
        ratio_requests=round(ratio_requests, 3),
        trcli={k.replace("bridge_", "trcli_"): v for k, v in theirs.items()},  # trcli's own process
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
