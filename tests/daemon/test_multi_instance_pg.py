"""Three daemon processes sharing one real PostgreSQL store (started by the test) against simulators."""

from __future__ import annotations

import signal
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from daemon_helpers import daemon, simulators, write_config

from adapters.simulation import Faults, Simulator
from mappings.store import Store
from mappings.tables import as_utc
from tests.pgserver import require_pg

CASES = 20
#: how long before the final SIGTERM a firing may have been claimed and still find its instance stopping
SLACK = timedelta(seconds=5)


def until(condition: Callable[[], bool], timeout: float = 120) -> None:
    """Wait for ``condition`` (read from the store); the timeout only bounds a test that would hang."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the daemons made no progress"
        time.sleep(0.1)


def finished_runs(store: Store, job: str) -> int:
    return sum(1 for r in store.runs(job=job, limit=1000) if r.finished_at is not None)


def claimed_after(store: Store, job: str, moment: datetime) -> int:
    return sum(1 for f in store.firings(job) if as_utc(f.claimed_at) > moment)


def _titles(sim: Simulator) -> list[str]:
    return [c["title"] for c in list(sim.cases.values()) if not c.get("is_deleted")]  # type: ignore[attr-defined]


def test_three_instances_run_each_firing_once_and_survive_a_crash(tmp_path: Path) -> None:
    pg = require_pg()
    try:
        url = pg.create_db("bridge")
        spec = {
            "ca": ("codearts", {"seed": 7, "cases": CASES, "plans": 0}),
            # slow TestRail: the first sync spans several 1s firings, so the run lock must keep the other
            # instances from starting the same job while it runs (separate firings have separate claims)
            "tr": ("testrail", {"faults": Faults(latency=0.2)}),
            "ca2": ("codearts", {"seed": 8, "cases": 5, "plans": 0}),
            "tr2": ("testrail", {}),
        }
        with simulators(spec) as systems:
            toml = "".join(systems.table(n, k) for n, k in (("ca", "codearts"), ("tr", "testrail")))
            toml += "".join(systems.table(n, k) for n, k in (("ca2", "codearts"), ("tr2", "testrail")))
            jobs = [
                {"name": "one", "left": "ca", "right": "tr", "entities": ["folder", "case"], "schedule": "1s"},
                {"name": "two", "left": "ca2", "right": "tr2", "entities": ["folder", "case"], "schedule": "2s"},
            ]
            cfg = write_config(tmp_path / "bridge.toml", store_url=url, systems=toml, jobs=jobs)
            left_before = {"one": len(systems.sims["ca"].cases), "two": len(systems.sims["ca2"].cases)}  # type: ignore[attr-defined]
            store = Store(url)
            try:
                with (
                    daemon(cfg, tmp_path / "d1.log") as d1,
                    daemon(cfg, tmp_path / "d2.log") as d2,
                    daemon(cfg, tmp_path / "d3.log") as d3,
                ):
                    for d in (d1, d2, d3):
                        d.event("daemon started", timeout=30)
                    crashed = d3.event("daemon started")["instance"]
                    # what the instances have done is read from the store, not waited for by the clock
                    until(lambda: finished_runs(store, "one") >= 3 and finished_runs(store, "two") >= 2)
                    # a crash: no shutdown, no cleanup; its lock goes with its connection
                    d3.proc.send_signal(signal.SIGKILL)
                    d3.proc.wait(10)
                    crashed_at = datetime.now(UTC)
                    until(lambda: all(claimed_after(store, job, crashed_at) >= 3 for job in ("one", "two")))
                    stopping_at = datetime.now(UTC)
                    for d in (d1, d2):
                        d.signal(signal.SIGTERM)
                    assert d1.stop() == 0 and d2.stop() == 0
                    for d in (d1, d2):
                        d.event("daemon stopped")
                        assert not any(e.get("event") == "firing failed" for e in d.read_events()), d.log_text()

                for job, every, n_cases in (("one", 1, CASES), ("two", 2, 5)):
                    firings = store.firings(job)
                    keys = [f.scheduled_for for f in firings]
                    assert len(keys) == len(set(keys)) >= 4, (job, keys)
                    # identical firing times on every instance: epoch-aligned, whole seconds
                    assert all(k.microsecond == 0 and int(k.timestamp()) % every == 0 for k in keys), keys
                    runs = sorted(store.runs(job=job, limit=1000), key=lambda r: r.id or 0)
                    by_id = {f.id: f for f in firings}
                    # every run names the firing it carried out, and no firing was carried out twice
                    carried = [r.firing_id for r in runs]
                    assert None not in carried and set(carried) <= set(by_id), (job, carried)
                    assert len(carried) == len(set(carried)), (job, sorted(carried))
                    # a firing without a run: claimed by the instance that was killed, or as the others stopped
                    runless = [f for f in firings if f.id not in set(carried)]
                    assert all(f.instance == crashed or as_utc(f.claimed_at) >= stopping_at - SLACK for f in runless), (
                        job,
                        crashed,
                        [(f.instance, f.claimed_at) for f in runless],
                    )
                    # the firing names its run where its instance lived to record it (not the one SIGKILL cut)
                    for f in firings:
                        if f.run_id is not None:
                            assert next(r.firing_id for r in runs if r.id == f.run_id) == f.id
                    assert [r for r in runs if r.status == "running"] == [], runs
                    left_behind = [r for r in runs if any("stopped without finishing" in e for e in r.errors)]
                    assert all(r.instance == crashed and r.status == "aborted" for r in left_behind), left_behind
                    # "aborted" otherwise: a run stopped at a record boundary by the final SIGTERM
                    statuses = [r.status for r in runs if r not in left_behind]
                    assert set(statuses) <= {"ok", "aborted"}, [(r.status, r.errors) for r in runs]
                    assert statuses.count("aborted") <= 2 and statuses.count("ok") >= 3, statuses
                    # never two runs of a job at once, across instances, by the store's own timestamps
                    spans = sorted((as_utc(r.started_at), as_utc(r.finished_at or r.started_at)) for r in runs)
                    for (_, end), (start, _) in zip(spans, spans[1:], strict=False):
                        assert start >= end, (job, spans)
                    if job == "one":  # what makes the check above mean something: the first sync spans firings
                        assert spans[0][1] - spans[0][0] > timedelta(seconds=every), spans[0]
                    # the surviving instances took the job over after the crash
                    after = [f for f in firings if as_utc(f.scheduled_for) > crashed_at]
                    assert after and all(f.instance != crashed for f in after), (job, crashed)
                    # no duplicate records on either side
                    left, right = (
                        systems.sims["ca" if job == "one" else "ca2"],
                        systems.sims["tr" if job == "one" else "tr2"],
                    )
                    titles = _titles(right)
                    links = [lk for lk in store.links(job, "case") if lk.state == "active"]
                    assert len(titles) == len(set(titles)) == len(links) >= n_cases, (job, sorted(titles))
                    assert len({lk.left_id for lk in links}) == len(links) == len({lk.right_id for lk in links})
                    assert len(left.cases) == left_before[job]  # type: ignore[attr-defined]
                instances = {f.instance for f in store.firings()}
                assert len(instances) >= 2, instances
                busy = sum(d.count("firing skipped: the job is running elsewhere") for d in (d1, d2, d3))
                assert busy >= 1  # the slow first sync of "one" met firings on other instances
            finally:
                store.close()
    finally:
        pg.cleanup()


def test_healthz_is_503_when_the_postgresql_store_goes_away(tmp_path: Path) -> None:
    pg = require_pg()
    try:
        url = pg.create_db("bridge")
        with simulators({"ca": ("codearts", {"seed": 1, "cases": 2, "plans": 0}), "tr": ("testrail", {})}) as systems:
            toml = systems.table("ca", "codearts") + systems.table("tr", "testrail")
            job = {"name": "j", "left": "ca", "right": "tr", "entities": ["case"], "schedule": "0 0 1 1 *"}
            cfg = write_config(tmp_path / "bridge.toml", store_url=url, systems=toml, jobs=[job])
            with daemon(cfg, tmp_path / "d.log") as d:
                d.event("daemon started", timeout=30)
                ok = d.get("/healthz")
                assert ok.status_code == 200 and ok.json()["jobs"]["j"]["last_success"] is None
                pg.stop()
                down = d.get("/healthz")
                assert down.status_code == 503, down.text
                assert down.json()["store"] == "unreachable"
                assert "tpb_store_up 0" in d.get("/metrics").text
                pg.start()
                assert d.get("/healthz").status_code == 200  # the pool reconnects by itself
                assert d.stop() == 0
    finally:
        pg.cleanup()
