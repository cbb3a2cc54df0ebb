"""A migration of 2,000 cases, killed with SIGKILL at several points and resumed: no duplicate, nothing missing.
It runs TestRail -> TestPlanIt, TestRail -> CodeArts (native library) and CodeArts -> TestPlanIt.

The simulators run in processes of their own, so their state survives the migrating process being killed,
as a real TestRail or TestPlanIt would.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from sim_process import SimProcess, start

from adapters.registry import create_adapter
from bridge.config import config_from_dict

CASES = 2000
KILL_AT = (150, 700, 1300)  # links recorded when each kill lands


def _count(db: Path, sql: str) -> int:
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as con:
            return int(con.execute(sql).fetchone()[0])
    except sqlite3.OperationalError:  # the schema is not there yet
        return 0


def links_recorded(db: Path) -> int:
    return _count(db, "select count(*) from tpb_link where entity = 'case'")


def intents_recorded(db: Path) -> int:
    return _count(db, "select count(*) from tpb_intent where entity = 'case'")


KIND = {"tr": "testrail", "tp": "testplanit", "ca": "codearts"}
SOURCES = {
    "tr": {"kind": "testrail", "seed": 5, "cases": CASES, "sections": 20, "steps": 2},
    # the native library: 2,000 cases in its directory tree (3-4 levels, long names), plus its 2 of other types
    "ca": {"kind": "codearts", "seed": 5, "library_cases": CASES},
}


@pytest.fixture(params=[("tr", "tp"), ("tr", "ca"), ("ca", "tp")], ids="->".join)
def sims(request: pytest.FixtureRequest) -> dict[str, SimProcess]:
    left, right = request.param
    spec = dict(SOURCES[left])
    source = start(spec.pop("kind"), seed=spec.pop("seed"), **spec)
    target = start(KIND[right])
    yield {left: source, right: target}
    source.stop()
    target.stop()


def test_migration_killed_three_times_resumes_without_duplicates_or_losses(tmp_path: Path, sims) -> None:
    db = tmp_path / "store.db"
    (src, source_sim), (dst, target_sim) = sims.items()
    systems = {
        src: {"kind": KIND[src], "url": source_sim.url, **source_sim.credentials},
        dst: {"kind": KIND[dst], "url": target_sim.url, **target_sim.credentials},
    }
    lines = [f"[store]\nurl = {json.dumps(f'sqlite:///{db}')}"]
    for name, table in systems.items():
        lines.append(f"[systems.{name}]\n" + "\n".join(f"{k} = {json.dumps(v)}" for k, v in table.items()))
    config = tmp_path / "bridge.toml"
    config.write_text("\n\n".join(lines) + "\n")
    migrate = [sys.executable, "-m", "bridge", "migrate", "--config", str(config), "--from", src, "--to", dst]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}

    for round_, threshold in enumerate(KILL_AT):
        proc = subprocess.Popen(
            migrate + (["--resume"] if round_ else []), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env
        )
        # links are saved a batch at a time (the batch's intents first), so progress is any new intent or
        # link; a migration that writes neither for 120 s is stuck
        seen, deadline = -1, 0.0
        while (now := links_recorded(db)) < threshold:
            assert proc.poll() is None, f"the migration ended before it could be killed at {threshold} links"
            moved = now + intents_recorded(db)
            if moved != seen:
                seen, deadline = moved, time.monotonic() + 120
            assert time.monotonic() < deadline, "the migration made no progress"
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        if round_ == 0:
            refused = subprocess.run(migrate, capture_output=True, text=True, env=env, timeout=120)
            assert refused.returncode == 2 and "--resume" in refused.stderr

    finished = subprocess.run(migrate + ["--resume"], capture_output=True, text=True, env=env, timeout=300)
    assert finished.returncode == 0, finished.stdout[-2000:] + finished.stderr[-2000:]

    cfg = config_from_dict({"systems": systems})
    with create_adapter(dst, cfg.system(dst)) as target, create_adapter(src, cfg.system(src)) as source:
        copied = list(target.iter_cases())
        originals = {c.id: c for c in source.iter_cases()}
    with sqlite3.connect(db) as con:
        # a value the target has no place for is logged, never cut: CodeArts' fifth level ('lowest') has no
        # TestPlanIt priority, so those cases wait for a decision (one entry each)
        refused = {
            row[0].split(":", 1)[1]  # subject "left:<case id>"
            for row in con.execute(
                "select subject from tpb_conflict where kind = 'cannot-represent' and entity = 'case'"
            )
        }
    assert not refused or src == "ca"
    total = len(originals)
    assert total >= CASES
    titles = Counter(c.title for c in copied)
    assert len(copied) + len(refused) == total and max(titles.values()) == 1  # nothing duplicated
    assert set(titles) == {c.title for i, c in originals.items() if i not in refused}  # nothing missing
    markers = Counter(c.marker for c in copied)
    assert None not in markers and max(markers.values()) == 1

    with sqlite3.connect(db) as con:
        links = con.execute(
            "select left_id, right_id from tpb_link where entity = 'case' and state = 'active'"
        ).fetchall()
        open_intents = con.execute("select count(*) from tpb_intent where resolved_at is null").fetchone()[0]
        folder_losses = con.execute(
            "select count(*) from tpb_conflict where kind = 'cannot-represent' and field = 'folder'"
        ).fetchone()[0]
    assert len(links) == total - len(refused)
    assert {lid for lid, _ in links} == set(originals) - refused and len({rid for _, rid in links}) == len(links)
    assert folder_losses == 0  # CodeArts holds folder paths of any length and depth
    assert {rid for _, rid in links} == {c.id for c in copied}
    assert open_intents == 0
