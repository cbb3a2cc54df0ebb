"""The README's first command: ``testplan-bridge demo`` on a machine with no accounts.

Run as a user runs it (a child process of the installed CLI); the store it leaves behind is then read to check
that what it printed is what happened.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from mappings.store import Store


def test_demo_syncs_three_simulators_and_walks_through_one_conflict(tmp_path: Path) -> None:
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "bridge", "demo", "--workdir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    out = proc.stdout
    for heading in ("1. Three test managers", "2. First sync", "4. Second sync", "5. What the bridge", "6. Resolved"):
        assert heading in out
    assert "Traceback" not in proc.stderr
    # TestPlanIt's project template holds description, preconditions, priority and type, and TestRail's labels
    # hold tags: nothing is left out on either side
    flat = " ".join(out.split())
    assert "testplanit cannot hold" not in flat
    assert "testrail cannot hold" not in flat
    # every case of every system reaches the other two (CodeArts' deep directories included)
    assert "All three systems hold the same 56 cases now." in out

    store = Store(f"sqlite:///{tmp_path}/demo-store.db")
    try:
        runs = store.runs()
        assert len(runs) == 6 and {r.status for r in runs} == {"ok"}  # two jobs, three syncs each
        edits = [c for c in store.conflicts(open_only=False) if c.kind == "edit"]
        assert [(c.field, c.resolution) for c in edits] == [("title", "right")]
        assert edits[0].applied_at is not None  # the decision reached both sides
        winner = edits[0].right_value
        assert out.count(repr(winner)) >= 3  # shown as TestRail's edit, then as both sides' final title
        # the other log entries the demo summarises are really in the log, and none is left unexplained
        others = {(c.kind, c.entity) for c in store.conflicts(open_only=False) if c.kind != "edit"}
        for kind, entity in others:
            assert f"{entity}(s)" in out and kind.replace("-", " ") in out
        assert store.open_intents("codearts-testrail") == [] and store.open_intents("testrail-testplanit") == []
    finally:
        store.close()
