"""Runs of a SIGKILLed process no longer stay "running" forever: the next run of the job, or another daemon
instance starting on the store, records them as aborted, as last seen."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from adapters.simulation import Faults
from adapters.testplanit.simulator import TestPlanItSimulator
from adapters.testrail.simulator import TestRailSimulator

from .harness import REPO, assert_no_traceback, cli, tp_to_tr_config


def runs(store: Path) -> list[tuple[int, str, str | None, str]]:
    """(id, status, finished_at, errors) of job qa's runs, read as an outsider would (read-only)."""
    with sqlite3.connect(f"file:{store}?mode=ro", uri=True, timeout=10) as con:
        try:
            rows = con.execute("select id, status, finished_at, errors from tpb_run where job = 'qa' order by id")
            return [(int(i), str(s), f, str(e)) for i, s, f, e in rows]
        except sqlite3.OperationalError:  # the schema is not there yet
            return []


def start_and_kill_mid_run(args: list[str], store: Path) -> int:
    """Start ``testplan-bridge ARGS``, SIGKILL it once its run is recorded as running; the run's id."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "bridge", *args], cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline:
            running = [r for r in runs(store) if r[1] == "running"] if store.exists() else []
            if running:
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait(10)
                return running[0][0]
            assert proc.poll() is None, "the run ended before it could be killed"
            time.sleep(0.05)
        raise AssertionError("no run started")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


def make_config(
    tmp_path: Path, source_url: str, source: TestPlanItSimulator, target_url: str, target: TestRailSimulator, **job: str
) -> Path:
    return tp_to_tr_config(
        tmp_path / "bridge.toml",
        tmp_path / "store.db",
        (source_url, source),
        (target_url, target),
        direction="left-to-right",
        **job,
    )


def test_the_next_sync_records_a_killed_run_as_aborted(tmp_path: Path) -> None:
    source = TestPlanItSimulator(seed=5, cases=12)
    target = TestRailSimulator(faults=Faults(latency=0.3))  # slow enough to be killed in the middle
    store = tmp_path / "store.db"
    with source.serve() as src, target.serve() as dst:
        config = make_config(tmp_path, src.url, source, dst.url, target)
        killed = start_and_kill_mid_run(["sync", "--config", str(config), "--workers", "1"], store)
        assert [r[1] for r in runs(store)] == ["running"]  # what a SIGKILL leaves

        target.faults.latency = 0
        after = cli("sync", "--config", str(config))
        assert after.code == 0, str(after)
        assert_no_traceback(after)
        assert f"note: run {killed} of job qa was left running by " in after.out and "recorded as aborted" in after.out
    (first, second) = runs(store)
    assert first[0] == killed and first[1] == "aborted" and first[2] is not None
    assert "stopped without finishing; last seen" in first[3]
    assert second[1] == "ok"


def test_another_daemon_instance_records_a_killed_daemons_run_as_aborted(tmp_path: Path) -> None:
    source = TestPlanItSimulator(seed=5, cases=12)
    target = TestRailSimulator(faults=Faults(latency=0.3))
    store = tmp_path / "store.db"
    with source.serve() as src, target.serve() as dst:
        config = make_config(tmp_path, src.url, source, dst.url, target, schedule="1s")
        killed = start_and_kill_mid_run(["daemon", "--config", str(config), "--workers", "1"], store)

        # the second instance does not run the job itself (a yearly schedule): it only finds what was left
        config.write_text(config.read_text().replace('"1s"', '"0 0 1 1 *"'))
        log = tmp_path / "second.log"
        with log.open("wb") as out:
            second = subprocess.Popen(
                [sys.executable, "-m", "bridge", "daemon", "--config", str(config)], cwd=REPO, stdout=out, stderr=out
            )
        try:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and runs(store)[0][1] == "running":
                time.sleep(0.05)
        finally:
            second.send_signal(signal.SIGTERM)
            assert second.wait(30) == 0
    text = log.read_text()
    assert "a run left behind by a process that stopped was marked aborted" in text, text
    ((run_id, status, finished, errors),) = runs(store)
    assert run_id == killed and status == "aborted" and finished is not None
    assert "stopped without finishing; last seen" in errors
