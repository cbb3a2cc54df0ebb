"""The sync, conflicts, status and migrate commands as a user runs them (exit codes and output)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from e2e_harness import KIND_OF, World, world
from test_sync_rules import edit, new_case, put

from bridge.cli import main


def write_config(w: World, path: Path, job: dict[str, str]) -> Path:
    lines = [f"[store]\nurl = {json.dumps(w.store_url)}\n"]
    for name, sim in w.sims.items():
        lines.append(f"[systems.{name}]\nkind = {json.dumps(KIND_OF[name])}\nurl = {json.dumps(w.urls[name])}")
        lines += [f"{k} = {json.dumps(v)}" for k, v in {**sim.credentials(), **w.settings.get(name, {})}.items()]
    lines.append("[[jobs]]\n" + "\n".join(f"{k} = {json.dumps(v)}" for k, v in job.items()))
    path.write_text("\n".join(lines) + "\n")
    return path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    with pytest.raises(SystemExit) as exit_info:
        main(list(argv))
    out = capsys.readouterr()
    return int(exit_info.value.code or 0), out.out + out.err


def test_sync_conflicts_resolve_and_status(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with world(tmp_path, names=("tr", "tp")) as w:
        cfg = str(write_config(w, tmp_path / "bridge.toml", {"name": "qa", "left": "tr", "right": "tp"}))
        lid = put(w, "tr", new_case("Checkout"))
        code, out = run(capsys, "sync", "--config", cfg, "--dry-run")
        assert code == 0 and "would create" in out and "dry run" in out
        code, out = run(capsys, "sync", "--config", cfg)
        assert code == 0 and "created" in out
        rid = w.store.find_link("qa", "case", left_id=lid).right_id
        edit(w, "tr", lid, title="Checkout L")
        edit(w, "tp", rid, title="Checkout R")
        code, out = run(capsys, "sync", "qa", "--config", cfg)
        assert code == 0 and "conflicts: 1 open (case 1); 1 new, 0 closed by this run" in out
        code, out = run(capsys, "conflicts", "list", "--config", cfg)
        assert code == 0 and "1 conflict(s) open" in out and "title" in out
        code, out = run(capsys, "status", "--config", cfg)
        assert code == 0 and re.search(r"qa .* ok .* 1 .* 1 ", out), out  # links, open conflicts
        conflict_id = w.store.conflicts(job="qa")[0].id
        code, out = run(capsys, "conflicts", "show", str(conflict_id), "--config", cfg)
        assert code == 0 and "Checkout L" in out and "Checkout R" in out
        code, out = run(capsys, "conflicts", "resolve", str(conflict_id), "--take", "right", "--config", cfg)
        assert code == 0 and "resolved" in out
        code, out = run(capsys, "sync", "--config", cfg, "--dry-run")
        assert code == 0 and "would update case on tr: " in out and 'title: "Checkout L" -> "Checkout R"' in out
        code, out = run(capsys, "sync", "--config", cfg)
        assert "conflicts: 0 open; 0 new, 0 closed by this run" in out
        with w.adapter("tr") as a:
            assert a.get_case(lid).title == "Checkout R"
        code, out = run(capsys, "status", "--config", cfg)
        assert code == 0 and "qa" in out and "ok" in out
        code, out = run(capsys, "conflicts", "resolve", "999", "--take", "left", "--config", cfg)
        assert code == 2 and "no conflict with id 999" in out


def test_sync_exits_1_when_a_system_fails(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with world(tmp_path, names=("tr", "tp")) as w:
        cfg = write_config(w, tmp_path / "bridge.toml", {"name": "qa", "left": "tr", "right": "tp"})
        put(w, "tr", new_case("Will fail"))
        w.sims["tp"].faults.error_rate = 1.0  # every TestPlanIt request answers 500
        code, out = run(capsys, "sync", "--config", str(cfg))
        assert code == 1 and "error" in out
        assert w.store.runs(job="qa")[0].status in ("failed", "errors")


def test_unknown_job_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with world(tmp_path, names=("tr", "tp")) as w:
        cfg = write_config(w, tmp_path / "bridge.toml", {"name": "qa", "left": "tr", "right": "tp"})
        code, out = run(capsys, "sync", "nope-job", "--config", str(cfg))
        assert code == 2 and "no job named 'nope-job'" in out
