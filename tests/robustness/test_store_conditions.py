"""A store that cannot be written, as users meet it through the CLI: a read-only file, a full disk.

Either way: exit 1, one paragraph naming the store and what to do, no traceback, and not one write (for the
read-only file not even one request) to the systems.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from adapters.testplanit.simulator import TestPlanItSimulator
from adapters.testrail.simulator import TestRailSimulator
from mappings.store import Store

from .harness import REPO, Outcome, assert_no_traceback, cli, tp_to_tr_config

#: root writes whatever a file's mode says: without these capabilities it obeys the mode like any user
AS_PLAIN_USER = ("setpriv", "--bounding-set=-dac_override,-dac_read_search,-fowner", "--")


def test_a_read_only_store_file_stops_the_run_before_any_request(tmp_path: Path) -> None:
    source, target = TestPlanItSimulator(seed=2, cases=4), TestRailSimulator()
    store = tmp_path / "store.db"
    prefix = AS_PLAIN_USER if os.geteuid() == 0 else ()
    if prefix and shutil.which("setpriv") is None:
        pytest.skip("running as root without setpriv(1): a read-only file cannot be made read-only to root")
    with source.serve() as src, target.serve() as dst:
        config = tp_to_tr_config(tmp_path / "bridge.toml", store, (src.url, source), (dst.url, target))
        Store(f"sqlite:///{store}").close()
        store.chmod(0o444)  # the file is read-only; its folder is not (SQLite may add -shm there)
        source.log.clear()
        target.log.clear()
        outcome = cli("sync", "--config", str(config), prefix=prefix)
        assert outcome.code == 1, str(outcome)
        assert_no_traceback(outcome)
        assert f"the mapping store at sqlite:///{store} is read-only" in outcome.out, str(outcome)
        assert "write access to the file and its directory" in outcome.out
        assert len(source.log) == 0 and len(target.log) == 0  # refused before talking to any system
        status = cli("status", "--config", str(config), prefix=prefix)
        assert status.code == 0 and "qa" in status.out, str(status)  # reading still works


#: runs inside a private mount namespace: a tiny tmpfs holds the store, then the disk is filled up
FULL_DISK = r"""
import json, os, subprocess, sys
folder, config = sys.argv[1], sys.argv[2]
subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", folder], check=True)
from mappings.store import Store
from bridge.runlock import job_run
store = Store(f"sqlite:///{folder}/store.db")
with job_run(store, "qa"):  # the store and the job's lock file exist, as after earlier runs
    pass
store.close()
filler = os.open(os.path.join(folder, "filler"), os.O_WRONLY | os.O_CREAT, 0o600)
try:
    while True:
        os.write(filler, b"\0" * 4096)
except OSError:
    os.close(filler)
run = subprocess.run([sys.executable, "-m", "bridge", "sync", "--config", config],
                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
print(json.dumps({"code": run.returncode, "out": run.stdout}))
"""


def test_a_full_disk_stops_the_run_before_any_write_to_the_systems(tmp_path: Path) -> None:
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        pytest.skip("needs root and unshare(1) for a private tmpfs mount (a real full disk)")
    source, target = TestPlanItSimulator(seed=2, cases=4), TestRailSimulator()
    folder = tmp_path / "disk"
    folder.mkdir()
    with source.serve() as src, target.serve() as dst:
        config = tp_to_tr_config(tmp_path / "bridge.toml", folder / "store.db", (src.url, source), (dst.url, target))
        proc = subprocess.run(
            [
                "unshare",
                "--mount",
                "--propagation",
                "private",
                sys.executable,
                "-c",
                FULL_DISK,
                str(folder),
                str(config),
            ],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert proc.returncode == 0, proc.stderr
        outcome = Outcome(**json.loads(proc.stdout.strip().splitlines()[-1]))
        assert outcome.code == 1, str(outcome)
        assert_no_traceback(outcome)
        assert "cannot grow: the disk is full" in outcome.out and "Free space" in outcome.out, str(outcome)
        assert target.log.count("POST") == 0 and source.log.count("POST") == 0 and source.log.count("PATCH") == 0
