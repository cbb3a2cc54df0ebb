"""Benchmark: upload one JUnit file of 2,000 tests to the TestRail simulator with trcli and with ci push.

Both start from the same simulated project (2,000 cases, each with the automation id of one test), both run
as a separate process as in a CI job (trcli from its own virtualenv, see tests/testrail/trcli_env.py), and
both match every test by automation id. Printed for each: requests the simulator saw, wall time, and the
ratio. Target: fewer requests than trcli and no slower.

    /tmp/venv/bin/python benchmarks/bench_ci_vs_trcli.py [--tests 2000] [--latency 0.0]

``--latency`` adds seconds to every simulated request (a real TestRail is tens of milliseconds away, which
is where request counts turn into minutes).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "testrail"))

from trcli_env import run_trcli  # noqa: E402

from adapters.simulation import Faults  # noqa: E402
from adapters.testrail.simulator import TestRailSimulator  # noqa: E402


def junit_file(path: Path, tests: int) -> None:
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', '<testsuites name="bench">']
    lines.append(f'<testsuite name="bench suite" tests="{tests}">')
    for i in range(tests):
        outcome = '<failure message="assert 1 == 2">Traceback ...</failure>' if i % 10 == 0 else ""
        skipped = "<skipped/>" if i % 25 == 1 else ""
        lines.append(
            f'<testcase classname="bench.Suite{i % 20}" name="test_{i}" time="0.{i % 9}">{outcome}{skipped}</testcase>'
        )
    lines.append("</testsuite></testsuites>")
    path.write_text("\n".join(lines), "utf-8")


def project(tests: int, latency: float) -> TestRailSimulator:
    sim = TestRailSimulator(seed=5, cases=tests, sections=20, faults=Faults(latency=latency))
    for n, case in enumerate(sorted(sim.cases)):
        sim.cases[case]["custom_automation_id"] = f"bench.Suite{n % 20}.test_{n}"
    return sim


def trcli_upload(junit: Path, tests: int, latency: float, workdir: Path) -> tuple[int, float, Counter[str]]:
    sim = project(tests, latency)
    c = sim.credentials()
    with sim.serve() as server:
        started = time.perf_counter()
        proc = run_trcli(
            [
                "-y",
                "-h",
                server.url,
                "--project",
                c["project"],
                "-u",
                c["user"],
                "-k",
                c["api_key"],
                "parse_junit",
                "-f",
                str(junit),
                "--title",
                "Bench run",
            ],
            cwd=workdir,
            timeout=1800,
        )
        seconds = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"trcli failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    return len(sim.log), seconds, _routes(sim)


def bridge_upload(junit: Path, tests: int, latency: float, workdir: Path) -> tuple[int, float, Counter[str], dict]:  # type: ignore[type-arg]
    sim = project(tests, latency)
    c = sim.credentials()
    config = workdir / "bridge.toml"
    with sim.serve() as server:
        config.write_text(
            "[systems.tr]\n"
            + f'kind = "testrail"\nurl = "{server.url}"\n'
            + "".join(f"{k} = {json.dumps(v)}\n" for k, v in c.items())
        )
        exe = shutil.which("testplan-bridge", path=str(Path(sys.executable).parent)) or "testplan-bridge"
        report = workdir / "report.json"
        started = time.perf_counter()
        proc = subprocess.run(
            [
                exe,
                "ci",
                "push",
                "--config",
                str(config),
                "--to",
                "tr",
                "--junit",
                str(junit),
                "--plan",
                "Bench run",
                "--report-json",
                str(report),
            ],
            capture_output=True,
            text=True,
            timeout=1800,
            cwd=workdir,
        )
        seconds = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"ci push failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    return len(sim.log), seconds, _routes(sim), json.loads(report.read_text())


def _routes(sim: TestRailSimulator) -> Counter[str]:
    """Requests per API method (the route lives in the query string: ``/api/v2/<method>/...``)."""
    out: Counter[str] = Counter()
    for e in sim.log.entries:
        method = e.query.split("/api/v2/")[-1].split("/")[0].split("&")[0]
        out[f"{e.method} {method}"] += 1
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tests", type=int, default=2000)
    parser.add_argument("--latency", type=float, default=0.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        junit = work / "junit.xml"
        junit_file(junit, args.tests)
        t_req, t_sec, t_routes = trcli_upload(junit, args.tests, args.latency, work)
        b_req, b_sec, b_routes, report = bridge_upload(junit, args.tests, args.latency, work)
    assert report["posted"] == args.tests and not report["unmatched"], report
    print(f"JUnit file: {args.tests} tests, simulated latency {args.latency * 1000:.0f} ms per request")
    print(f"{'':14}{'requests':>10}{'seconds':>10}")
    print(f"{'trcli':14}{t_req:>10}{t_sec:>10.2f}")
    print(f"{'ci push':14}{b_req:>10}{b_sec:>10.2f}")
    print(f"ratio ci push / trcli: requests {b_req / t_req:.2f}, time {b_sec / t_sec:.2f}")
    print("trcli:   " + ", ".join(f"{k} {n}" for k, n in t_routes.most_common()))
    print("ci push: " + ", ".join(f"{k} {n}" for k, n in b_routes.most_common()))
    ok = b_req < t_req and b_sec <= t_sec * 1.05
    print("target met" if ok else "TARGET MISSED: fewer requests and no slower than trcli")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
