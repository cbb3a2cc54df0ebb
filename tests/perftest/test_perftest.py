"""perftest create-task and ensure_plan_task through the PerfTest simulator (signed requests, IAM tokens)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from adapters.perftest.client import PerfTestClient, ensure_plan_task
from adapters.perftest.settings import PerfTestSettings
from adapters.perftest.simulator import PerfTestSimulator
from bridge.errors import AuthError
from tests.ci.conftest import run_cli, write_config


@pytest.fixture
def perf(tmp_path: Path) -> Iterator[tuple[PerfTestSimulator, Path, str]]:
    sim = PerfTestSimulator(seed=1, polls_to_finish=3)
    with sim.serve() as server:
        config = write_config(
            tmp_path,
            {"pt": {"kind": "perftest", "url": server.url, "perftest_project_id": 393862, **sim.credentials()}},
        )
        yield sim, config, server.url


def _last_json(out: str) -> dict:  # type: ignore[type-arg]
    return json.loads(out.strip().splitlines()[-1])


def test_create_start_and_wait(perf, capsys) -> None:  # type: ignore[no-untyped-def]
    sim, config, _ = perf
    code = run_cli(
        [
            "perftest",
            "create-task",
            "-c",
            str(config),
            "--name",
            "Checkout load",
            "--case-ids",
            "449269,449270",
            "--case-ids",
            "449271",
            "--start",
            "--wait",
            "--poll-interval",
            "0.01",
        ]
    )
    assert code == 0
    out = _last_json(capsys.readouterr().out)
    task = sim.tasks[out["task_id"]]
    assert task["case_id_list"] == [449269, 449270, 449271] and task["name"] == "Checkout load"
    assert out["run_status"] == 2 and out["task_run_id"] is not None
    # every request was signed (the simulator verifies SDK-HMAC-SHA256) and none was refused
    assert all(e.status < 400 for e in sim.log.entries)


def test_update_keeps_one_task_per_name(perf, capsys) -> None:  # type: ignore[no-untyped-def]
    sim, config, _ = perf
    args = ["perftest", "create-task", "-c", str(config), "--name", "Plan A", "--update"]
    assert run_cli([*args, "--case-ids", "449269"]) == 0
    first = _last_json(capsys.readouterr().out)["task_id"]
    assert run_cli([*args, "--case-ids", "449270,449272"]) == 0
    assert _last_json(capsys.readouterr().out)["task_id"] == first
    assert len(sim.tasks) == 1 and sim.tasks[first]["case_id_list"] == [449270, 449272]
    # without --update the same name is refused by the service: one task per name
    assert run_cli(["perftest", "create-task", "-c", str(config), "--name", "Plan A", "--case-ids", "449269"]) == 1
    assert "exists already" in capsys.readouterr().err


def test_ensure_plan_task_is_idempotent_and_reads_before_writing(perf) -> None:  # type: ignore[no-untyped-def]
    sim, _, url = perf
    settings = PerfTestSettings(url=url, perftest_project_id=393862, **sim.credentials())
    with PerfTestClient("pt", settings) as client:
        tid = ensure_plan_task(client, "Release 1.0", [449270, 449269])
        writes = sim.log.count("POST") + sim.log.count("PUT")
        assert ensure_plan_task(client, "Release 1.0", [449269, 449270]) == tid
        assert sim.log.count("POST") + sim.log.count("PUT") == writes  # unchanged: no write
        for n in range(150):  # more than one page of tasks
            client.create_task(f"other {n}", [449269])
        assert ensure_plan_task(client, "Release 1.0", [449271]) == tid
    assert sim.tasks[tid]["case_id_list"] == [449271] and len(sim.tasks) == 151


def test_never_finishing_run_times_out(perf, capsys) -> None:  # type: ignore[no-untyped-def]
    sim, config, _ = perf
    sim.never_finish = True
    code = run_cli(
        [
            "perftest",
            "create-task",
            "-c",
            str(config),
            "--name",
            "Soak",
            "--case-ids",
            "449269",
            "--start",
            "--wait",
            "--timeout",
            "1s",
            "--poll-interval",
            "0.05",
        ]
    )
    assert code == 1
    assert "still running after 1 s" in capsys.readouterr().err


def test_iam_token_auth_and_wrong_secret(perf, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    sim, _, url = perf
    creds = {k: v for k, v in sim.credentials().items() if k not in ("ak", "sk")}
    config = write_config(
        tmp_path, {"pt": {"kind": "perftest", "url": url, "iam_url": url, "perftest_project_id": 393862, **creds}}
    )
    assert run_cli(["perftest", "create-task", "-c", str(config), "--name", "Token", "--case-ids", "449269"]) == 0
    assert sim.log.count("POST", "/v3/auth/tokens") == 1 and len(sim.tokens) == 1
    bad = PerfTestSettings(url=url, perftest_project_id=393862, **{**sim.credentials(), "sk": "0" * 40})
    with PerfTestClient("pt", bad) as client, pytest.raises(AuthError, match="signature mismatch"):
        client.list_tasks()


def test_unknown_case_and_bad_ids(perf, capsys) -> None:  # type: ignore[no-untyped-def]
    sim, config, _ = perf
    assert run_cli(["perftest", "create-task", "-c", str(config), "--name", "X", "--case-ids", "1"]) == 1
    assert "Cases do not exist: [1]" in capsys.readouterr().err
    assert run_cli(["perftest", "create-task", "-c", str(config), "--name", "X", "--case-ids", "abc"]) == 2
    assert sim.tasks == {}


def test_online_check(perf, capsys) -> None:  # type: ignore[no-untyped-def]
    _, config, _ = perf
    assert run_cli(["check", "-c", str(config), "--online"]) == 0
    assert "PerfTest project 393862" in capsys.readouterr().out


def test_enable_full_link_from_the_cli_and_the_config(perf, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    sim, config, url = perf
    base = ["perftest", "create-task", "-c", str(config), "--case-ids", "449269"]
    assert run_cli([*base, "--name", "Full", "--enable-full-link"]) == 0
    assert sim.tasks[_last_json(capsys.readouterr().out)["task_id"]]["enable_full_link"] is True
    assert run_cli([*base, "--name", "Plain"]) == 0
    plain = _last_json(capsys.readouterr().out)["task_id"]
    assert sim.tasks[plain]["enable_full_link"] is False
    # --update with the same cases still writes an explicit flag (the task's flag cannot be read back)
    assert run_cli([*base, "--name", "Plain", "--update", "--enable-full-link"]) == 0
    assert sim.tasks[plain]["enable_full_link"] is True and sim.log.count("PUT") == 1
    # the system's setting is the default, also for the per-plan tasks the sync engine keeps
    settings = PerfTestSettings(url=url, perftest_project_id=393862, enable_full_link=True, **sim.credentials())
    with PerfTestClient("pt", settings) as client:
        tid = ensure_plan_task(client, "Release 2.0", [449270])
        assert sim.tasks[tid]["enable_full_link"] is True
        sim.tasks[tid]["enable_full_link"] = False  # switched off in PerfTest's UI
        ensure_plan_task(client, "Release 2.0", [449271])  # the update sends the setting too
    assert sim.tasks[tid]["enable_full_link"] is True and sim.tasks[tid]["case_id_list"] == [449271]
    config.write_text(config.read_text().replace("[systems.pt]\n", "[systems.pt]\nenable_full_link = true\n"))
    assert run_cli([*base, "--name", "From config"]) == 0
    assert sim.tasks[_last_json(capsys.readouterr().out)["task_id"]]["enable_full_link"] is True
