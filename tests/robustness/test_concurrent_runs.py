"""Two `testplan-bridge sync` processes of one job started together, twenty times, under CPU load.

Once: one died with a raw sqlite3.IntegrityError, or both aborted, the target got duplicate cases, and every
later sync crashed on the store's unique links. Now the job's run lock lets one run and turns the other away
(exit 4, naming the holder) or queues it (``--wait``: it runs after, with nothing left to do). Each round
starts from a fresh store and an empty target, so every round races on the store's creation and on every
create. After each round: no duplicate on the target, no traceback, and a third run that finds nothing to do
(the store needs no repair).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from adapters.testplanit.simulator import TestPlanItSimulator
from adapters.testrail.simulator import TestRailSimulator
from bridge.commands import run_job
from bridge.config import load_config
from bridge.model import Case, Step
from bridge.runlock import RunLock
from mappings.store import Store

from .harness import REPO, Outcome, adapter, case_titles, cli, system_table, tp_to_tr_config, write_config

ROUNDS = 20
BURN = "import time\nend = time.monotonic() + 600\nwhile time.monotonic() < end:\n    pass\n"


@contextmanager
def cpu_load(processes: int = 1) -> Iterator[None]:
    """Busy loops competing with the two runs for the CPU, for as long as the block runs."""
    burners = [subprocess.Popen([sys.executable, "-c", BURN]) for _ in range(processes)]
    try:
        yield
    finally:
        for burner in burners:
            burner.kill()
            burner.wait(10)


def sync_together(config: Path, *extra: str) -> list[Outcome]:
    command = [sys.executable, "-m", "bridge", "sync", "--config", str(config), *extra]
    env = {**os.environ, "COLUMNS": "200"}
    procs = [
        subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        for _ in range(2)
    ]
    return [Outcome(p.wait(240), p.stdout.read() if p.stdout else "") for p in procs]


def next_run_has_nothing_to_do(config: Path) -> bool:
    """A third run, in this process (a CLI start costs more than the run): ok, and nothing created."""
    cfg = load_config(config)
    store = Store(cfg.store.url)
    try:
        report = run_job(cfg, cfg.job("qa"), store, dry_run=False)
    finally:
        store.close()
    return report.status == "ok" and report.total("created") == 0 and not report.errors


def test_two_syncs_of_one_job_never_duplicate_nor_break_the_store(tmp_path: Path) -> None:
    stats: Counter[str] = Counter()
    with cpu_load():
        for round_ in range(ROUNDS):
            source, target = TestPlanItSimulator(seed=round_, cases=6), TestRailSimulator()
            with source.serve() as src, target.serve() as dst:
                config = tp_to_tr_config(
                    tmp_path / f"round-{round_}.toml",
                    tmp_path / f"round-{round_}" / "store.db",  # a fresh store: its creation races too
                    (src.url, source),
                    (dst.url, target),
                )
                wait = round_ % 2 == 1  # every other round queues instead of giving up
                outcomes = sync_together(config, *(["--wait"] if wait else []))
                for outcome in outcomes:
                    assert "Traceback" not in outcome.out and "unexpected error" not in outcome.out, str(outcome)
                codes = sorted(o.code for o in outcomes)
                if wait:
                    assert codes == [0, 0], [str(o) for o in outcomes]
                else:
                    assert codes in ([0, 4], [0, 0]), [str(o) for o in outcomes]  # [0, 0]: one ended first
                    refused = [o for o in outcomes if o.code == 4]
                    assert all("job qa is running in process" in o.out and "--wait" in o.out for o in refused)
                    stats["refused"] += len(refused)
                titles = case_titles("testrail", dst.url, target)
                assert titles and len(titles) == len(set(titles)), sorted(titles)  # 0 duplicates

                assert next_run_has_nothing_to_do(config)  # the store needs no repair
                assert case_titles("testrail", dst.url, target) == titles
                stats["rounds"] += 1
    assert stats["rounds"] == ROUNDS
    assert stats["refused"] >= 1  # the race did happen: at least once the second run met the first


JUNIT = Path(__file__).resolve().parents[1] / "fixtures" / "junit" / "pytest.xml"


def test_a_ci_push_while_the_linking_job_runs_posts_and_leaves_propagation_to_that_job(tmp_path: Path) -> None:
    """The push's own results are posted; copying them through the job waits for the job's run (exit 0, not 4)."""
    source, target = TestRailSimulator(), TestPlanItSimulator()
    with source.serve() as src, target.serve() as dst:
        config = write_config(
            tmp_path / "bridge.toml",
            f"sqlite:///{tmp_path}/store.db",
            {"tr": system_table("testrail", src.url, source), "tp": system_table("testplanit", dst.url, target)},
            [{"name": "job", "left": "tr", "right": "tp"}],
        )
        tr = adapter("testrail", src.url, source)
        for name in ("test_login_ok", "test_login_wrong_password"):
            tr.create_case(
                Case(title=name, folder=("Login",), steps=[Step(action="run", expected="passes")],
                     automation_key=f"tests.test_login.{name}"),
                marker=f"user-{name}",
            )  # fmt: skip
        tr.close()
        cfg = load_config(config)
        store = Store(cfg.store.url)
        assert run_job(cfg, cfg.job("job"), store, dry_run=False).status == "ok"  # the cases are linked
        push = ["ci", "push", "--config", str(config), "--to", "tr", "--junit", str(JUNIT)]
        push += ["--plan", "CI 1", "--report-json", str(tmp_path / "report.json")]

        held = RunLock(store, "job")  # the daemon is running the job
        assert held.acquire()
        try:
            outcome = cli(*push)
        finally:
            held.release()
        assert outcome.code == 0, str(outcome)
        report = json.loads((tmp_path / "report.json").read_text())
        assert report["posted"] == 2 and report["propagated"] == {}
        # the job's next run copies them
        assert run_job(cfg, cfg.job("job"), store, dry_run=False).total("created") >= 2
        store.close()


def test_one_job_running_elsewhere_holds_up_none_of_the_others(tmp_path: Path) -> None:
    """`sync` of every job while the daemon runs one of them: the others run; exit 4 says one did not."""
    source, first, second = TestPlanItSimulator(seed=3, cases=3), TestRailSimulator(), TestRailSimulator()
    with source.serve() as src, first.serve() as one, second.serve() as two:
        config = write_config(
            tmp_path / "bridge.toml",
            f"sqlite:///{tmp_path}/store.db",
            {
                "tp": system_table("testplanit", src.url, source),
                "tr1": system_table("testrail", one.url, first),
                "tr2": system_table("testrail", two.url, second),
            },
            [{"name": "busy-job", "left": "tp", "right": "tr1"}, {"name": "free-job", "left": "tp", "right": "tr2"}],
        )
        store = Store(f"sqlite:///{tmp_path}/store.db")
        held = RunLock(store, "busy-job")
        assert held.acquire()
        try:
            outcome = cli("sync", "--config", str(config))
        finally:
            held.release()
            store.close()
        assert outcome.code == 4, str(outcome)
        assert "error: job busy-job is running in process" in outcome.out and "job free-job: tp <-> tr2" in outcome.out
        assert case_titles("testrail", two.url, second) and not case_titles("testrail", one.url, first)
