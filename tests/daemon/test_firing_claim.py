"""Exactly one run per scheduled firing, however late another instance fires it.

Instances fire a job at the same epoch-aligned times, and the run lock keeps them from running it at once;
but an instance whose clock or scheduler runs behind fires a firing after the first instance finished it.
The firing claim is what stops that second run. Two daemons on one store fire the same firing one after
the other (in process, no scheduler thread: the order is the test's, not the clock's).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from daemon_helpers import simulators, write_config

from bridge.daemon.service import Daemon, load_daemon_config
from mappings.store import Store


def test_a_firing_an_instance_fires_late_is_not_run_again(tmp_path: Path) -> None:
    spec = {"ca": ("codearts", {"seed": 3, "cases": 3, "plans": 0}), "tr": ("testrail", {})}
    with simulators(spec) as systems:
        toml = systems.table("ca", "codearts") + systems.table("tr", "testrail")
        job = {"name": "j", "left": "ca", "right": "tr", "entities": ["folder", "case"], "schedule": "1h"}
        url = f"sqlite:///{tmp_path}/store.db"
        path = write_config(tmp_path / "bridge.toml", store_url=url, systems=toml, jobs=[job], http_port=None)
        cfg = load_daemon_config(path)
        store = Store(url)
        try:
            early, late = Daemon(path, cfg, store), Daemon(path, cfg, store)
            late.instance = early.instance + "-late"
            key = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)
            early.fire("j", key)
            late.fire("j", key)  # the same firing, after the first run ended: the lock is free by now
            late.fire("j", datetime(2026, 1, 5, 11, 0, tzinfo=UTC))  # the next firing is its own
            runs = sorted(store.runs(job="j", limit=10), key=lambda r: r.id or 0)
            firings = store.firings("j")
            assert [(f.instance, f.run_id) for f in firings] == [
                (early.instance, runs[0].id),
                (late.instance, runs[1].id),
            ]
            assert [r.firing_id for r in runs] == [f.id for f in firings]
            assert [r.status for r in runs] == ["ok", "ok"]
        finally:
            store.close()
