"""ci apptest end to end: apptest.ai simulator -> JUnit -> TestRail simulator; error codes; deadlines."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from adapters.apptest.client import AppTestClient, AppTestServerError
from adapters.apptest.settings import AppTestSettings
from adapters.apptest.simulator import AppTestSimulator
from adapters.testrail.simulator import TestRailSimulator
from tests.ci.conftest import run_cli, write_config


@pytest.fixture
def env(tmp_path: Path) -> Iterator[tuple[AppTestSimulator, TestRailSimulator, Path, Path]]:
    apptest = AppTestSimulator(seed=1, polls_to_complete=3)
    testrail = TestRailSimulator(seed=7)
    with apptest.serve() as a, testrail.serve() as t:
        config = write_config(
            tmp_path,
            {
                "tr": {"kind": "testrail", "url": t.url, **testrail.credentials()},
                "at": {"kind": "apptest", "url": a.url, "poll_interval": 0.02, **apptest.credentials()},
            },
        )
        app = tmp_path / "shop.apk"
        app.write_bytes(b"PK\x03\x04 not really an apk")
        yield apptest, testrail, config, app


def _run(config: Path, *more: str) -> list[str]:
    return ["ci", "apptest", "--config", str(config), "--to", "tr", *more]


def test_start_poll_fetch_and_push(env, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    apptest, testrail, config, app = env
    report = tmp_path / "r.json"
    saved = tmp_path / "apptest.xml"
    code = run_cli(
        _run(
            config,
            "--app",
            str(app),
            "--project-id",
            "509",
            "--name",
            "Nightly build",
            "--time-limit",
            "10",
            "--plan",
            "Mobile",
            "--create-missing-cases",
            "--report-json",
            str(report),
            "--save-junit",
            str(saved),
        )
    )
    assert code == 0
    upload = apptest.uploads[-1]
    assert upload["filename"] == "shop.apk" and upload["data"] == {
        "pid": 509,
        "testset_name": "Nightly build",
        "use_vo": False,
        "time_limit": 10,
    }
    data = json.loads(report.read_text())
    tid = data["source"]["apptest_testset_id"]
    # three status polls (Running, Running, Complete), one result fetch
    assert apptest.log.count("GET", f"/openapi/v2/testset/{tid}") == 4
    assert data["posted"] == 3 and data["statuses"] == {"passed": 2, "failed": 1}
    cases = [testrail.cases[int(c)] for c in data["created"]]
    # apptest.ai writes no classname: the suite ("<project>.TestBot") stands in for it
    assert sorted(c["custom_automation_id"] for c in cases) == [
        "Shop App.TestBot.Galaxy S23",
        "Shop App.TestBot.Pixel 8",
        "Shop App.TestBot.iPhone 15",
    ]
    failed = [r for r in testrail.results.values() if str(r["id"]) in data["result_ids"] and r["status_id"] == 5]
    assert "testDetail" in failed[0]["comment"]  # the device's result page travels with the result
    assert "<testsuites" in saved.read_text()


def test_existing_testset_only_fetched(env, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    apptest, testrail, config, _ = env
    tid = min(apptest.testsets)
    report = tmp_path / "r.json"
    assert (
        run_cli(
            _run(
                config,
                "--testset-id",
                str(tid),
                "--plan",
                "Mobile",
                "--create-missing-cases",
                "--report-json",
                str(report),
            )
        )
        == 0
    )
    assert apptest.log.count("POST") == 0 and json.loads(report.read_text())["posted"] == 3


def test_never_completes_deadline_honoured(env, capsys) -> None:  # type: ignore[no-untyped-def]
    import time

    apptest, testrail, config, app = env
    apptest.never_complete = True
    started = time.monotonic()
    code = run_cli(_run(config, "--app", str(app), "--project-id", "509", "--deadline", "1s", "--plan", "Mobile"))
    elapsed = time.monotonic() - started
    assert code == 1 and 1.0 <= elapsed < 5
    assert "did not complete within 1 s" in capsys.readouterr().err
    assert len(testrail.log) == 0  # nothing pushed
    assert apptest.log.count("GET", "/result") == 0


def test_bad_request_codes_are_not_retried_and_explained(env, capsys) -> None:  # type: ignore[no-untyped-def]
    apptest, testrail, config, app = env
    assert run_cli(_run(config, "--app", str(app), "--project-id", "999", "--plan", "Mobile")) == 1
    err = capsys.readouterr().err
    assert "[4052]" in err and "project id is not valid" in err
    assert apptest.log.count("POST") == 1
    apptest.queue_codes("start", 4081)
    assert run_cli(_run(config, "--app", str(app), "--project-id", "509", "--plan", "Mobile")) == 1
    assert "no available device" in capsys.readouterr().err
    assert apptest.log.count("POST") == 2 and len(testrail.log) == 0


def test_maintenance_is_retried(env, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    apptest, testrail, config, app = env
    apptest.queue_codes("start", 8000, 8000)
    apptest.queue_codes("status", 8000)
    apptest.queue_codes("result", 8000)
    assert (
        run_cli(_run(config, "--app", str(app), "--project-id", "509", "--plan", "Mobile", "--create-missing-cases"))
        == 0
    )
    assert apptest.log.count("POST") == 3


def test_maintenance_that_lasts_gives_up(env) -> None:  # type: ignore[no-untyped-def]
    apptest, _, _, _ = env
    apptest.queue_codes("status", *[8000] * 10)
    with apptest.serve() as server:
        settings = AppTestSettings(url=server.url, poll_interval=0.001, **apptest.credentials())
        with AppTestClient("at", settings) as client, pytest.raises(AppTestServerError) as exc:
            client.status(min(apptest.testsets))
    assert exc.value.result_code == 8000 and "maintenance" in str(exc.value)


def test_wrong_credentials_and_unsupported_file(env, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    apptest, _, config, _ = env
    bad = config.read_text().replace(apptest.access_key, "wrong")
    bad_config = tmp_path / "bad.toml"
    bad_config.write_text(bad)
    assert run_cli(_run(bad_config, "--testset-id", "1", "--plan", "Mobile")) == 1
    assert "refused the credentials" in capsys.readouterr().err
    exe = tmp_path / "app.exe"
    exe.write_bytes(b"MZ")
    assert run_cli(_run(config, "--app", str(exe), "--project-id", "509", "--plan", "Mobile")) == 2
    assert "extension not supported" in capsys.readouterr().err
    assert apptest.log.count("POST") == 0  # refused before uploading
