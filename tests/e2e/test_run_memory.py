"""A run frees each record's objects by reference counting alone: nothing it makes per record or per request
waits for the cycle collector, which a run holds off (bridge.memory), so a listing of many pages or a
migration of many cases does not pile up garbage until it comes by (answers held in a cycle by their own
size-bounded stream once kept a listing's megabyte pages alive). Measured as the cyclic garbage a run leaves
with the automatic collector off, at two sizes: what the larger run adds per case would be the leak.

The collector counts a whole process, so the runs are measured in a fresh interpreter of their own (this file
run as a script), with the simulators in processes of theirs: what is counted is the bridge's alone, not a
simulator's server's connections, nor whatever an earlier test left running in a pytest worker.

Both ways the bridge sends are measured, whatever the environment the suite runs in: its own transport, and
httpx's, which carries every request when the environment names a proxy (corporate machines and CI runners
often do). There every answer was once left in a cycle (httpx's stream wrapper holds its answer, and the
answer held the bridge's stream around it), about 50 objects a created case, and more through a proxy."""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

SMALL, LARGE = 10, 70
_PROXY_NAMES = ("http_proxy", "https_proxy", "all_proxy", "no_proxy")
ENVIRONMENTS = {
    "no proxy named": {},
    # nothing listens on the discard port: a request that went to the proxy would fail the run
    "a proxy named, loopback exempt": {
        "HTTP_PROXY": "http://127.0.0.1:9",
        "HTTPS_PROXY": "http://127.0.0.1:9",
        "NO_PROXY": "127.0.0.1,localhost",
    },
}


def _cyclic_garbage(run: Callable[[], Any]) -> Counter[str]:
    """The objects, by type, the cycle collector found unreachable because of ``run`` (run_job collects
    once at its end); kept aside by DEBUG_SAVEALL to be counted, then let go."""
    gc.collect()
    gc.disable()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        run()
        gc.collect()
        return Counter(f"{type(o).__module__}.{type(o).__qualname__}" for o in gc.garbage)
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()


def _garbage_of_a_migration_and_a_sync(tmp_path: Path, cases: int) -> tuple[Counter[str], Counter[str]]:
    from sim_process import start

    from bridge.commands import migration_job, run_job
    from bridge.config import config_from_dict
    from mappings.store import Store

    testrail = start("testrail", seed=5, cases=cases, sections=2, steps=3)
    testplanit = start("testplanit")
    store = Store(f"sqlite:///{tmp_path}/store.db")
    try:
        systems = {
            name: {"kind": sim.info["system"], "url": sim.url, **sim.credentials, "max_retries": 2}
            for name, sim in (("tr", testrail), ("tp", testplanit))
        }
        cfg = config_from_dict({"store": {"url": store.url}, "systems": systems, "jobs": []})
        job = migration_job(cfg, "tr", "tp")
        outcome: list[Any] = []
        migration = _cyclic_garbage(lambda: outcome.append(run_job(cfg, job, store, dry_run=False, kind="migrate")))
        # the same job again: every case is linked and unchanged, so it takes a no-change sync's path
        no_change = _cyclic_garbage(lambda: outcome.append(run_job(cfg, job, store, dry_run=False, kind="migrate")))
        assert [r.status for r in outcome] == ["ok", "ok"], outcome
        assert outcome[0].total("created") >= cases and outcome[1].total("created") == 0
        assert outcome[1].total("unchanged") >= cases
        return migration, no_change
    finally:
        store.close()
        testrail.stop()
        testplanit.stop()


def _measure(tmp_path: Path) -> dict[str, list[dict[str, int]]]:
    """In the child: {"migration": [small, large], "sync": [small, large]}, each the garbage by type."""
    small = _garbage_of_a_migration_and_a_sync(tmp_path / "small", SMALL)
    large = _garbage_of_a_migration_and_a_sync(tmp_path / "large", LARGE)
    return {"migration": [dict(small[0]), dict(large[0])], "sync": [dict(small[1]), dict(large[1])]}


def _per_case(small: Counter[str], large: Counter[str]) -> tuple[float, str]:
    """What the larger run left per case more than the smaller, and the types most of it was."""
    cases = LARGE - SMALL
    top = ", ".join(f"{name} {n / cases:.1f}" for name, n in (large - small).most_common(6))
    return (large.total() - small.total()) / cases, top


@pytest.mark.parametrize("environment", list(ENVIRONMENTS))
def test_a_run_leaves_no_garbage_per_case_for_the_cycle_collector(tmp_path: Path, environment: str) -> None:
    env = {k: v for k, v in os.environ.items() if k.lower() not in _PROXY_NAMES}
    env.update(ENVIRONMENTS[environment])
    child = subprocess.run(
        [sys.executable, __file__, str(tmp_path)], env=env, capture_output=True, text=True, timeout=300
    )
    assert child.returncode == 0, child.stderr[-3000:]
    measured = json.loads(child.stdout.splitlines()[-1])
    migration = _per_case(*(Counter(c) for c in measured["migration"]))
    sync = _per_case(*(Counter(c) for c in measured["sync"]))
    # what a run may leave: its context, which refers to its runner and back, holds the listing (two small
    # objects a case: freed with the context when run_job collects at its end); measured 2.0 exactly, both
    # ways of sending. An answer in a cycle was about 50 objects a created case (the answer, its request,
    # headers, streams and URL, and httpcore's pool request)
    assert migration[0] < 3, f"{environment}: cyclic garbage per case of a migration {migration}"
    assert sync[0] < 3, f"{environment}: cyclic garbage per case of a no-change sync {sync}"


if __name__ == "__main__":
    print(json.dumps(_measure(Path(sys.argv[1]))))
