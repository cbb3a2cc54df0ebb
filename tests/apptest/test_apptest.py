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
def env(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[AppTestSimulator, TestRailSimulator, Path, Path]]:
    monkeypatch.chdir(tmp_path)  # the fetched result is kept in the working directory by default
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
    assert "<testsuites" in (tmp_path / f"apptest-{tid}.xml").read_text()  # kept without --save-junit too


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


def _with_system_options(config: Path, **options: object) -> None:
    """Add keys to the [systems.at] table of the test config."""
    extra = "".join(f"{k} = {json.dumps(v)}\n" for k, v in options.items())
    config.write_text(config.read_text().replace("[systems.at]\n", "[systems.at]\n" + extra))


def test_start_options_from_the_config_and_the_cli_reach_the_request(env, tmp_path: Path, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    apptest, _, config, app = env
    (tmp_path / "login.txt").write_text("s3cret-app-pw\n")
    _with_system_options(
        config,
        project_id=510,
        time_limit=15,
        use_vo=True,
        callback="https://ci.example.com/hooks/apptest",
        login_id="qa@example.com",
        login_pw_file=str(tmp_path / "login.txt"),
    )
    assert run_cli(_run(config, "--app", str(app), "--plan", "Mobile", "--create-missing-cases")) == 0
    assert apptest.uploads[-1]["data"] == {
        "pid": 510,
        "testset_name": "shop.apk",
        "time_limit": 15,
        "use_vo": True,
        "callback": "https://ci.example.com/hooks/apptest",
        "credentials": {"login_id": "qa@example.com", "login_pw": "s3cret-app-pw"},
    }
    monkeypatch.setenv("APP_LOGIN_PW", "other-pw")
    code = run_cli(
        _run(
            config,
            "--app", str(app), "--project-id", "509", "--no-use-vo", "--time-limit", "5",
            "--callback", "https://ci.example.com/other", "--login-id", "ops@example.com",
            "--login-pw-env", "APP_LOGIN_PW", "--plan", "Mobile", "--create-missing-cases",
        )
    )  # fmt: skip
    assert code == 0
    assert apptest.uploads[-1]["data"] == {
        "pid": 509,
        "testset_name": "shop.apk",
        "time_limit": 5,
        "use_vo": False,
        "callback": "https://ci.example.com/other",
        "credentials": {"login_id": "ops@example.com", "login_pw": "other-pw"},
    }
    out, err = capsys.readouterr()
    assert "s3cret-app-pw" not in out + err and "other-pw" not in out + err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--project-id", "509", "--time-limit", "40"], "5 to 30 minutes"),
        (["--project-id", "509", "--login-id", "qa"], "needs both an id and a password"),
        (["--project-id", "509", "--login-id", "qa", "--login-pw-env", "TPB_UNSET_VARIABLE"], "is not set"),
        (["--project-id", "509", "--callback", "ftp://x"], "http(s) URL"),
        (["--project-id", "509", "--name", "n" * 101], "1 to 100 characters"),
        ([], "give --project-id or set project_id in"),
    ],
)
def test_bad_start_options_exit_2_before_uploading(env, args: list[str], message: str, capsys) -> None:  # type: ignore[no-untyped-def]
    apptest, testrail, config, app = env
    assert run_cli(_run(config, "--app", str(app), *args, "--plan", "Mobile")) == 2
    assert message in capsys.readouterr().err
    assert apptest.log.count("POST") == 0 and len(testrail.log) == 0


def test_bad_start_options_in_the_config_exit_2(env, capsys) -> None:  # type: ignore[no-untyped-def]
    _, _, config, app = env
    _with_system_options(config, login_id="qa")
    assert run_cli(_run(config, "--app", str(app), "--plan", "Mobile")) == 2
    assert "set login_id and login_pw together" in capsys.readouterr().err


def test_the_result_is_kept_when_the_push_fails(env, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    apptest, testrail, config, app = env
    testrail.faults.fail_next_writes = 100
    config.write_text(config.read_text().replace("[systems.tr]\n", "[systems.tr]\nmax_retries = 0\n"))
    code = run_cli(_run(config, "--app", str(app), "--project-id", "509", "--plan", "Mobile", "--create-missing-cases"))
    assert code == 1
    tid = max(apptest.testsets)
    kept = tmp_path / f"apptest-{tid}.xml"
    assert kept.read_text() == apptest.junit(apptest.testsets[tid])
    err = capsys.readouterr().err
    assert f"The result is kept in {kept.name}: push it with `ci push --junit {kept.name}`" in err
    # bad options found only at the target (an unknown plan id) name the file as well
    testrail.faults.fail_next_writes = 0
    code = run_cli(_run(config, "--testset-id", str(tid), "--plan-id", "987654"))
    assert code == 2
    err = capsys.readouterr().err
    assert "no plan with id 987654" in err and f"The result is kept in {kept.name}" in err


def test_simulator_refuses_what_the_vendor_table_does_not_allow(env) -> None:  # type: ignore[no-untyped-def]
    """Checked with raw requests, not our client: the simulator's own reading of the vendor page."""
    import httpx

    apptest, _, _, _ = env
    with apptest.serve() as server:
        auth = (apptest.user_id, apptest.access_key)

        def start(data: dict[str, object], filename: str = "a.apk") -> dict[str, object]:
            files = {"app_file": (filename, b"PK", "application/octet-stream")}
            answer = httpx.post(
                f"{server.url}/openapi/v2/testset", auth=auth, files=files, data={"data": json.dumps(data)}
            )
            return answer.json()  # type: ignore[no-any-return]

        ok = {"pid": 509, "testset_name": "x"}
        assert start({**ok, "callback": "https://x/" + "c" * 250})["reason"].endswith("(callback)")
        assert start({**ok, "use_vo": "yes"})["reason"].endswith("(use_vo)")
        assert start({**ok, "credentials": {"login_id": "a"}})["reason"].endswith("(credentials.login_pw)")
        assert start(ok, filename="a.exe")["result_code"] == 4050
        assert start({"testset_name": "x"})["result_msg"] == "Missing Request Parameter"
        assert start({**ok, "time_limmit": 10, "use_vo": True})["result_code"] == 0  # the table's spelling works too
