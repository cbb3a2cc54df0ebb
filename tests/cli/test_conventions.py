"""The CLI conventions people and scripts rely on, each through the real command."""

from __future__ import annotations

import json
import logging
import os
import pty
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from cli_helpers import REPO, bridge_process, run, write_config
from e2e_harness import world
from test_sync_rules import edit, new_case, put

from bridge.logs import PlainFormatter

#: what a progress display leaves behind: its labels, carriage returns, cursor movement
BAR_MARKS = ("reading tr", "\r", "\x1b[")


def test_progress_never_reaches_stdout_and_is_cleared(tmp_path: Path) -> None:
    """stdout to a file, stderr on a terminal: the bars are drawn on the terminal only, and erased."""
    with world(tmp_path, names=("tr", "tp"), seeds={"tr": 1}) as w:
        cfg = write_config(w, tmp_path / "bridge.toml", {"name": "qa", "left": "tr", "right": "tp"})
        leader, follower = pty.openpty()
        out_path = tmp_path / "out.txt"
        with out_path.open("w") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", "bridge", "sync", "-c", str(cfg)],
                cwd=REPO,
                stdout=out,
                stderr=follower,
                env={**os.environ, "TERM": "xterm", "COLUMNS": "100"},
            )
            os.close(follower)
            seen = b""
            while True:
                try:
                    chunk = os.read(leader, 65536)
                except OSError:  # the terminal closed: the process is done with it
                    break
                if not chunk:
                    break
                seen += chunk
            assert proc.wait(timeout=120) == 0
        os.close(leader)
        text = out_path.read_text()
        assert "created" in text and "status: ok" in text
        assert not any(mark in text for mark in BAR_MARKS), text
        terminal = seen.decode(errors="replace")
        assert "reading tr" in terminal and "━" in terminal  # bars were drawn there
        # transient: once done (cursor shown again) the bars' lines are erased: cursor up, erase line
        after = terminal[terminal.rindex("\x1b[?25h") :]
        assert after.startswith("\x1b[?25h\r\x1b[1A\x1b[2K"), repr(after[:200])


def test_piped_table_does_not_wrap(tmp_path: Path) -> None:
    long_title = ("A checkout with a very long title that would wrap in eighty columns " * 2).strip()
    with world(tmp_path, names=("tr", "tp")) as w:
        cfg = write_config(w, tmp_path / "bridge.toml", {"name": "qa", "left": "tr", "right": "tp"})
        lid = put(w, "tr", new_case(long_title))
        assert bridge_process("sync", "-c", str(cfg), stdout=subprocess.DEVNULL).returncode == 0
        rid = w.store.find_link("qa", "case", left_id=lid).right_id
        edit(w, "tr", lid, title=long_title + " L")
        edit(w, "tp", rid, title=long_title + " R")
        assert bridge_process("sync", "-c", str(cfg), stdout=subprocess.DEVNULL).returncode == 0
        (entry,) = w.store.conflicts(job="qa")
        proc = bridge_process("conflicts", "list", "-c", str(cfg), capture_output=True, env={"COLUMNS": "40"})
        assert proc.returncode == 0
        rows = [line for line in proc.stdout.splitlines() if line.startswith(f"│ {entry.id} ")]
        assert len(rows) == 1 and rows[0].endswith("│"), proc.stdout
        # each side's title in full on the one line, with the side's system name
        assert f"tr:{lid} {long_title} L" in rows[0] and f"tp:{rid} {long_title} R" in rows[0], rows[0]
        proc = bridge_process("status", "-c", str(cfg), "--runs", "3", capture_output=True, env={"COLUMNS": "40"})
        rows = [line for line in proc.stdout.splitlines() if " sync " in line]
        assert len(rows) == 2 and "tp/case created=1, tp/folder created=1" in proc.stdout, proc.stdout


def test_tpb_config_and_default_path(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch) -> None:  # type: ignore[no-untyped-def]
    with world(tmp_path, names=("tr",)) as w:
        cfg = write_config(w, tmp_path / "elsewhere.toml")
        monkeypatch.chdir(tmp_path)
        monkeypatch.delenv("TPB_CONFIG", raising=False)
        monkeypatch.setenv("HOME", str(tmp_path))
        code, _out, err = run(capsys, "status")
        assert code == 2 and "no config file" in err and "TPB_CONFIG" in err
        monkeypatch.setenv("TPB_CONFIG", str(cfg))
        code, out, _err = run(capsys, "status", "--json")
        assert code == 0 and json.loads(out)["jobs"] == []
        monkeypatch.setenv("TPB_CONFIG", str(tmp_path / "missing.toml"))
        code, _out, err = run(capsys, "status")
        assert code == 2 and "missing.toml: no such file" in err
        monkeypatch.delenv("TPB_CONFIG")
        (tmp_path / "testplan-bridge.toml").write_text(cfg.read_text())
        code, _out, _err = run(capsys, "conflicts", "list")
        assert code == 0
        # --config wins over both
        code, _out, err = run(capsys, "status", "-c", str(tmp_path / "nope.toml"))
        assert code == 2 and "nope.toml" in err


def test_simulate_busy_port_is_one_line_exit_2() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        proc = bridge_process("simulate", "testrail", "--port", str(port), capture_output=True)
    assert proc.returncode == 2
    assert proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and f"127.0.0.1:{port}" in lines[0] and "in use" in lines[0], proc.stderr


@pytest.mark.parametrize(
    ("system", "key", "expected"),
    [
        ("apptest", "apptest_projects", [{"id": 509, "name": "Shop App"}, {"id": 510, "name": "Bank App"}]),
        ("perftest", "perftest_project_id", 393862),
    ],
)
def test_simulate_first_line_has_the_ids(system: str, key: str, expected: object) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "bridge", "simulate", system, "--seed", "1"], cwd=REPO, stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        first = json.loads(proc.stdout.readline())
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    assert first["system"] == system and first["url"].startswith("http://127.0.0.1:")
    assert first["ids"][key] == expected


def test_plain_log_line_has_timestamp_and_key_values() -> None:
    record = logging.LogRecord("bridge.sync", logging.INFO, "x", 1, "run finished", None, None)
    record.job = "nightly qa"
    record.counts = {"case": {"created": 2}}
    record.ok = True
    line = PlainFormatter().format(record)
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z info +run finished ", line), line
    assert 'job="nightly qa"' in line and 'counts={"case":{"created":2}}' in line and "ok=true" in line
    assert "{'" not in line and "True" not in line  # no Python reprs


def test_one_way_jobs_print_an_arrow(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with world(tmp_path, names=("tr", "tp")) as w:
        cfg = str(
            write_config(
                w,
                tmp_path / "bridge.toml",
                {"name": "down", "left": "tr", "right": "tp", "direction": "left-to-right"},
                {"name": "up", "left": "tr", "right": "tp", "direction": "right-to-left"},
            )
        )
        code, out, _ = run(capsys, "check", "-c", cfg)
        assert code == 0 and "job down: tr -> tp" in out and "job up: tr <- tp" in out
        code, out, _ = run(capsys, "sync", "down", "-c", cfg)
        assert code == 0 and "job down: tr -> tp" in out and "<->" not in out
        code, out, _ = run(capsys, "status", "-c", cfg)
        assert re.search(r"down\s+│ tr -> tp ", out) and re.search(r"up\s+│ tr <- tp ", out), out


def test_perftest_system_flag_is_to_with_system_as_alias(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with world(tmp_path, names=("tr",)) as w:
        cfg = str(write_config(w, tmp_path / "bridge.toml"))
        answers = []
        for flag in ("--to", "--system"):
            code, _out, err = run(
                capsys, "perftest", "create-task", "-c", cfg, "--name", "x", "--case-ids", "1", flag, "tr"
            )
            answers.append((code, err))
        assert answers[0] == answers[1] and answers[0][0] == 2 and "tr" in answers[0][1]


def test_status_shows_the_errors_of_the_last_runs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with world(tmp_path, names=("tr", "tp")) as w:
        cfg = tmp_path / "bridge.toml"
        write_config(w, cfg, {"name": "qa", "left": "tr", "right": "tp"})
        # the TestPlanIt system stops answering: the run fails and its error is kept
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            dead = f"http://127.0.0.1:{s.getsockname()[1]}"
        cfg.write_text(cfg.read_text().replace(w.urls["tp"], dead))
        code, _out, _ = run(capsys, "sync", "-c", str(cfg))
        assert code == 1
        code, out, _ = run(capsys, "status", "-c", str(cfg), "--runs", "5")
        assert code == 0 and re.search(r"run \d+: error: .*tp", out), out
