"""``ci apptest`` before the push: start (or pick) a test set, wait for it, and keep its JUnit result on disk.

The result is written to a file the moment it arrives, before it is parsed or pushed: whatever fails after
that (a malformed result, a target that refuses the push), the result is on disk and every error names the
file, so the push can be repeated with ``ci push --junit FILE`` without running the test set again.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from adapters.apptest.client import AppTestClient, TestsetRequest
from adapters.apptest.settings import AppTestSettings
from bridge.config import Config
from bridge.errors import BridgeError, ConfigError
from bridge.redact import register_secret


@dataclass(frozen=True)
class StartChoices:
    """The CLI's options for starting a test set; None: the apptest system's setting in the config."""

    app: Path | None = None
    project_id: int | None = None
    name: str | None = None
    time_limit: int | None = None
    use_vo: bool | None = None
    callback: str | None = None
    login_id: str | None = None
    login_pw_env: str | None = None


def apptest_system(config: Config, name: str | None) -> tuple[str, AppTestSettings]:
    candidates = {n: s for n, s in config.systems.items() if isinstance(s, AppTestSettings)}
    if name is None:
        if len(candidates) != 1:
            raise ConfigError(
                f"{config.source}: name the apptest system with --from (apptest systems: "
                f"{', '.join(candidates) or 'none'})"
            )
        name = next(iter(candidates))
    settings = config.system(name)
    if not isinstance(settings, AppTestSettings):
        raise ConfigError(f"{config.source}: system {name!r} is not an apptest system")
    return name, settings


def start_request(config: Config, system: str, settings: AppTestSettings, choices: StartChoices) -> TestsetRequest:
    """The start call's data: the CLI's choices over the config's, checked before anything is uploaded."""
    where = f"{config.source}: systems.{system}"
    app = choices.app
    if app is None:
        raise ConfigError("give --app to start a test set, or --testset-id to fetch one")
    if not app.is_file():
        raise ConfigError(f"{app}: app file not found")
    project_id = choices.project_id if choices.project_id is not None else settings.project_id
    if project_id is None:
        raise ConfigError(f"give --project-id or set project_id in {where}", hint="It is the apptest.ai project.")
    login_id = choices.login_id if choices.login_id is not None else settings.login_id
    login_pw = settings.login_pw.get_secret_value() if settings.login_pw is not None else None
    if choices.login_pw_env is not None:
        login_pw = os.environ.get(choices.login_pw_env)
        if not login_pw:
            raise ConfigError(f"--login-pw-env: environment variable {choices.login_pw_env} is not set or empty")
        register_secret(login_pw)
    request = TestsetRequest(
        project_id=project_id,
        name=choices.name or app.name,
        time_limit=choices.time_limit if choices.time_limit is not None else settings.time_limit,
        use_vo=choices.use_vo if choices.use_vo is not None else settings.use_vo,
        callback=choices.callback if choices.callback is not None else settings.callback,
        login_id=login_id,
        login_pw=login_pw,
    )
    problems = request.problems(app)
    if problems:
        raise ConfigError("; ".join(problems), hint="Nothing was uploaded.")
    return request


def fetch_result(
    config: Config,
    source: str | None,
    choices: StartChoices,
    *,
    testset_id: int | None,
    deadline: float,
    save_to: Path | None,
) -> tuple[Path, int]:
    """Start (unless ``testset_id``), wait, fetch; returns where the result is kept and the test set id."""
    from bridge.cli import console

    system, settings = apptest_system(config, source)
    request = start_request(config, system, settings, choices) if testset_id is None else None
    with AppTestClient(system, settings) as client:
        if request is not None:
            assert choices.app is not None
            started = client.start_testset(choices.app, request)
            testset_id = started.testset_id
            console.print(f"apptest.ai: test set {testset_id} started ({started.test_count} test(s))", highlight=False)
        assert testset_id is not None
        status = client.wait(testset_id, timeout=deadline)
        console.print(f"apptest.ai: test set {testset_id} {status.status.lower()}: {status.summary()}", highlight=False)
        xml = client.result_xml(testset_id)
    path = save_to if save_to is not None else Path(f"apptest-{testset_id}.xml")
    try:
        path.write_text(xml, "utf-8")
    except OSError as exc:
        raise BridgeError(
            f"{path}: cannot keep the apptest.ai result of test set {testset_id}: {exc.strerror or exc}",
            hint=f"Nothing was posted. Give --save-junit a writable path and fetch it with --testset-id {testset_id}.",
        ) from None
    console.print(f"apptest.ai: result of test set {testset_id} kept in {path}", highlight=False, markup=False)
    return path, testset_id
