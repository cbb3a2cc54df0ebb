"""One daemon process on SQLite against simulators: schedules, back-off, /healthz, /metrics, SIGHUP, SIGTERM."""

from __future__ import annotations

import signal
import time
from pathlib import Path
from typing import Any

from daemon_helpers import closed_port, daemon, run_cli, simulators, write_config

from adapters.simulation import Faults, Simulator
from mappings.store import Store

GOOD = {"name": "good", "left": "ca", "right": "tr", "entities": ["folder", "case"], "schedule": "1s"}
BAD = {"name": "bad", "left": "ca", "right": "dead", "entities": ["folder", "case"], "schedule": "1s"}


def until(condition: Any, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the daemon made no progress"
        time.sleep(0.1)


def _runs(store: Store, job: str, status: str) -> int:
    return sum(1 for r in store.runs(job=job, limit=200) if r.status == status)


def _systems_toml(systems: Any, dead_port: int) -> str:
    return (
        systems.table("ca", "codearts", mode="custom-service")  # its seed: 6 cases of the bridge's service
        + systems.table("tr", "testrail")
        + f'[systems.dead]\nkind = "testrail"\nurl = "http://127.0.0.1:{dead_port}"\n'
        + 'user = "x@example.com"\napi_key = "dead-key-not-secret"\nproject = "Nope"\nmax_retries = 0\ntimeout = 2\n'
    )


def test_config_error_exits_2_and_writes_nothing(tmp_path: Path) -> None:
    db = tmp_path / "store.db"
    cfg = tmp_path / "bad.toml"
    cfg.write_text(f'[store]\nurl = "sqlite:///{db}"\n[[jobs]]\nname = "x"\nleft = "a"\nright = "b"\nschedule = "1s"\n')
    proc = run_cli(["daemon", "--config", str(cfg)], log_path=tmp_path / "log")
    assert proc.wait(30) == 2
    assert "no system named 'a'" in (tmp_path / "log").read_text()
    assert not db.exists()
    # a config whose jobs have no schedule is an error too: the daemon would do nothing
    cfg.write_text(f'[store]\nurl = "sqlite:///{db}"\n')
    proc = run_cli(["daemon", "--config", str(cfg)], log_path=tmp_path / "log2")
    assert proc.wait(30) == 2
    assert "no job has a schedule" in (tmp_path / "log2").read_text()
    assert not db.exists()


def test_failing_job_backs_off_while_others_run_and_observability(tmp_path: Path) -> None:
    db = tmp_path / "store.db"
    with simulators({"ca": ("codearts", {"seed": 3, "cases": 6, "plans": 0}), "tr": ("testrail", {})}) as systems:
        toml = _systems_toml(systems, closed_port())
        cfg = write_config(
            tmp_path / "bridge.toml", store_url=f"sqlite:///{db}", systems=toml, jobs=[GOOD, BAD], max_backoff="4s"
        )
        with daemon(cfg, tmp_path / "daemon.log") as d:
            d.event("daemon started")
            d.event("run finished", job="good", status="ok")
            # waited for by what the daemon did (three back-offs of the failing job), not by the clock
            watch = Store(f"sqlite:///{db}")
            try:
                until(lambda: _runs(watch, "bad", "failed") >= 3 and _runs(watch, "good", "ok") >= 10)
            finally:
                watch.close()

            # /healthz: store reachable, last success age per job (none yet for the failing one), and 503 with
            # the reasons: a job that fails every run is not a healthy daemon, whatever the others do
            health = d.get("/healthz")
            assert health.status_code == 503, health.text
            body = health.json()
            assert body["store"] == "reachable" and body["status"] == "unhealthy"
            assert body["reasons"] and all(r.startswith("job bad: ") for r in body["reasons"])
            assert any("runs in a row" in r and "Connection refused" in r for r in body["reasons"])
            assert body["jobs"]["good"]["last_success_age_s"] < 5 and body["jobs"]["good"]["healthy"]
            assert body["jobs"]["good"]["last_run"]["status"] == "ok"
            assert body["jobs"]["bad"]["last_success"] is None and not body["jobs"]["bad"]["healthy"]
            assert body["jobs"]["bad"]["last_run"]["status"] == "failed"
            assert body["jobs"]["bad"]["failures_in_a_row"] >= 3

            metrics = d.get("/metrics")
            assert metrics.status_code == 200
            assert metrics.headers["content-type"].startswith("text/plain; version=0.0.4")
            text = metrics.text
            assert 'tpb_runs_total{job="bad",status="failed"}' in text
            assert 'tpb_records_synced_total{job="good",system="tr",entity="case",action="created"} 6' in text
            assert 'tpb_firings_skipped_total{job="bad",reason="backoff"}' in text
            # requests are counted per configured system: the two TestRail systems are told apart
            assert 'tpb_api_requests_total{system="ca",method="GET"' in text
            assert 'tpb_api_requests_total{system="tr",method="GET"' in text
            assert _sample(text, 'tpb_api_errors_total{system="dead"}') >= _sample(
                text, 'tpb_runs_total{job="bad",status="failed"}'
            )
            assert 'tpb_api_errors_total{system="tr"} 0' in text or 'tpb_api_errors_total{system="tr"}' not in text
            assert 'tpb_conflicts_open{job="good"}' in text
            assert 'tpb_run_duration_seconds_count{job="good"}' in text
            assert "tpb_store_up 1" in text
            assert "dead-key-not-secret" not in text
            good_runs = _sample(text, 'tpb_runs_total{job="good",status="ok"}')
            assert good_runs >= 6  # ~1 per second: the failing job did not hold the good one back

            assert d.stop() == 0
        log = d.log_text()
        assert "dead-key-not-secret" not in (tmp_path / "daemon.log").read_text()
        assert "daemon stopped" in log

    store = Store(f"sqlite:///{db}")
    good = store.runs(job="good", limit=100)
    bad = sorted(store.runs(job="bad", limit=100), key=lambda r: r.id or 0)
    # every run ok, but for one the final SIGTERM may have stopped at a record boundary ("aborted")
    good_statuses = [r.status for r in sorted(good, key=lambda r: r.id or 0)]
    assert set(good_statuses[:-1]) == {"ok"} and good_statuses[-1] in ("ok", "aborted"), good_statuses
    assert all(r.status == "failed" for r in bad)
    assert len(bad) >= 3
    # back-off: 1, 2, 4, then capped at max_backoff 4s (each gap at least the delay, minus scheduling slack)
    starts = [r.started_at for r in bad]
    gaps = [(b - a).total_seconds() for a, b in zip(starts, starts[1:], strict=False)]
    assert gaps[0] >= 0.5 and gaps[1] >= 1.5, gaps
    if len(gaps) > 2:
        assert gaps[2] >= 3.5, gaps
    assert len(bad) < len(good) / 2
    assert all(f.job in ("good", "bad") for f in store.firings())
    # each firing of the good job ran once and was recorded
    good_firings = [f for f in store.firings("good")]
    assert len({f.scheduled_for for f in good_firings}) == len(good_firings) == len(good)
    assert sorted(f.run_id or 0 for f in good_firings) == sorted(r.id or 0 for r in good)  # each names its run
    assert all(f.scheduled_for.microsecond == 0 for f in good_firings)
    assert store.link_count("good") > 0


def test_sighup_reloads_and_a_bad_config_keeps_the_old_one(tmp_path: Path) -> None:
    db = tmp_path / "store.db"
    with simulators({"ca": ("codearts", {"seed": 4, "cases": 3, "plans": 0}), "tr": ("testrail", {})}) as systems:
        toml = systems.table("ca", "codearts", mode="custom-service") + systems.table("tr", "testrail")
        slow_good = {**GOOD, "schedule": "30m"}
        cfg = write_config(tmp_path / "bridge.toml", store_url=f"sqlite:///{db}", systems=toml, jobs=[slow_good])
        good_text = cfg.read_text()
        with daemon(cfg, tmp_path / "daemon.log") as d:
            d.event("daemon started")
            port = d.http_port
            # a broken config: logged, the old config keeps running, /healthz still answers
            cfg.write_text(good_text.replace('left = "ca"', 'left = "nowhere"'))
            d.signal(signal.SIGHUP)
            failed = d.event("config reload failed; the running config stays in force")
            assert "nowhere" in failed["error"]
            assert d.get("/healthz").status_code == 200
            # a good new config: the job now fires every second, a new job appears; same process, same port
            cfg.write_text(good_text.replace('schedule = "30m"', 'schedule = "1s"'))
            d.signal(signal.SIGHUP)
            d.event("config reloaded")
            d.event("run finished", job="good", status="ok")
            assert d.proc.poll() is None
            assert d.http_port == port
            metrics = d.get("/metrics").text
            assert 'tpb_config_reloads_total{outcome="failed"} 1' in metrics
            assert 'tpb_config_reloads_total{outcome="ok"} 1' in metrics
            assert d.stop() == 0


def test_sigterm_mid_run_then_restart_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    db = tmp_path / "store.db"
    spec = {
        "ca": ("codearts", {"seed": 5, "cases": 24, "plans": 0}),
        # every request to TestRail takes 60 ms: the first sync takes seconds, long enough to interrupt
        "tr": ("testrail", {"faults": Faults(latency=0.06)}),
    }
    with simulators(spec) as systems:
        toml = systems.table("ca", "codearts", mode="custom-service") + systems.table("tr", "testrail")
        cfg = write_config(
            tmp_path / "bridge.toml", store_url=f"sqlite:///{db}", systems=toml, jobs=[{**GOOD, "schedule": "2s"}]
        )
        tr = systems.sims["tr"]
        with daemon(cfg, tmp_path / "d1.log", "--workers", "2") as d:
            d.event("run started", job="good")
            # wait until some, not all, cases were written
            deadline = time.monotonic() + 20
            while _tr_cases(tr) < 3 and time.monotonic() < deadline:
                time.sleep(0.05)
            d.signal(signal.SIGTERM)
            assert d.proc.wait(30) == 0
            stopped = d.event("daemon stopped")
            assert stopped["abandoned"] == []
        written_before = _tr_cases(tr)
        assert 0 < written_before < 24, written_before
        store = Store(f"sqlite:///{db}")
        first = store.runs(job="good")
        assert [r.status for r in first] == ["aborted"]
        assert first[0].finished_at is not None

        with daemon(cfg, tmp_path / "d2.log") as d2:
            d2.event("run finished", job="good", status="ok", timeout=40)
            assert d2.stop() == 0
        titles = _tr_titles(tr)
        assert len(titles) == 24 and len(set(titles)) == 24, titles
        assert store.link_count("good") >= 24
        assert {r.status for r in store.runs(job="good")} <= {"aborted", "ok"}
        assert all(r.finished_at is not None for r in store.runs(job="good"))


def _sample(text: str, series: str) -> float:
    for line in text.splitlines():
        if line.startswith(series + " "):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{series} not in metrics:\n{text}")


def _tr_cases(sim: Simulator) -> int:
    return len(_tr_titles(sim))


def _tr_titles(sim: Simulator) -> list[str]:
    """Case titles stored in the TestRail simulator (deleted cases excluded)."""
    return [c["title"] for c in list(sim.cases.values()) if not c.get("is_deleted")]  # type: ignore[attr-defined]
