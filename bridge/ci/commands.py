"""``testplan-bridge ci push`` and ``testplan-bridge ci apptest``: CI results into a test management system."""

from __future__ import annotations

import glob
from pathlib import Path
from typing import Annotated

import typer

from bridge.ci.ids import DEFAULT_PATTERNS, DEFAULT_PROPERTIES, pattern_error
from bridge.ci.junit import JUnitError, JUnitTest, parse_bytes, parse_files
from bridge.ci.matching import key_format_error
from bridge.ci.push import PushOptions, push_results
from bridge.ci.report import FAIL_ON_VALUES, FailOn
from bridge.cliargs import ConfigOption as ConfigOpt
from bridge.errors import BridgeError, ConfigError
from bridge.output import JsonOpt, OutputOpt, wants_json

ci_app = typer.Typer(
    help="Feed CI results (JUnit XML, apptest.ai) into a test management system.", no_args_is_help=True
)

ToOpt = Annotated[str, typer.Option("--to", help="Name of the target system in the config")]
PlanOpt = Annotated[str | None, typer.Option("--plan", help="Plan name: found (open plans) or created")]
PlanIdOpt = Annotated[str | None, typer.Option("--plan-id", help="Existing plan id on the target")]
RunOpt = Annotated[str | None, typer.Option("--run", help="Run name inside the plan (default: the plan's name)")]
ConfigIdsOpt = Annotated[
    list[str] | None,
    typer.Option("--config-ids", help="Configurations of the run (names, or TestRail config ids); comma-separated"),
]
CreateOpt = Annotated[bool, typer.Option("--create-missing-cases", help="Create a case for each test no case matches")]
CloseOpt = Annotated[bool, typer.Option("--close", help="Close the plan after posting")]
ReportOpt = Annotated[Path | None, typer.Option("--report-json", help="Write a machine-readable report here")]
FailOnOpt = Annotated[
    str,
    typer.Option(
        "--fail-on",
        help="errors: exit 1 if the target refused something or results could not be posted; unmatched: also "
        "exit 3 if a test reports on no case; never: exit 0 whatever the target answered (bad input: 2)",
    ),
]
IdPatternOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--case-id-pattern",
        help="Regex finding an id of the TARGET's cases in test names (group 1 is the id); repeatable. "
        f"Default for TestRail: {' and '.join(DEFAULT_PATTERNS['testrail'])}",
    ),
]
IdPropertyOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--case-id-property",
        help="Test property holding an id of the TARGET's cases; comma-separated, repeatable. "
        f"Default for TestRail: {', '.join(DEFAULT_PROPERTIES['testrail'])}",
    ),
]
KeyFormatOpt = Annotated[
    str | None,
    typer.Option(
        "--automation-key",
        help="Automation key of a test: {classname}, {name}, {suite}, {file} (default: [ci] automation_key, "
        "or {classname}.{name})",
    ),
]


def register(app: typer.Typer) -> None:
    if any(group.name == "ci" for group in app.registered_groups):
        return  # main() registers on every call (tests call it many times)
    app.add_typer(ci_app, name="ci")


def _split(values: list[str] | None) -> list[str]:
    return [part.strip() for v in values or [] for part in v.split(",") if part.strip()]


def _expand(paths: list[str]) -> list[str]:
    """Paths as given; glob patterns (quoted in CI scripts) expanded, sorted."""
    out: list[str] = []
    for p in paths:
        if any(ch in p for ch in "*?["):
            found = sorted(glob.glob(p, recursive=True))
            if not found:
                raise JUnitError(f"{p}: no file matches this pattern", hint="Nothing was posted.")
            out.extend(found)
        else:
            out.append(p)
    return out


def _fail_on(value: str) -> FailOn:
    if value not in FAIL_ON_VALUES:
        raise ConfigError(f"--fail-on: expected {', '.join(FAIL_ON_VALUES)}, got {value!r}")
    return value  # type: ignore[return-value]


def _options(
    plan: str | None,
    plan_id: str | None,
    run: str | None,
    config_ids: list[str] | None,
    create_missing_cases: bool,
    close: bool,
    case_id_pattern: list[str] | None,
    case_id_property: list[str] | None,
    automation_key: str | None,
    *,
    files: list[str],
    status_map: str = "junit",
) -> PushOptions:
    if plan and plan_id:
        raise ConfigError("give --plan or --plan-id, not both")
    for pattern in case_id_pattern or []:
        problem = pattern_error(pattern)
        if problem:
            raise ConfigError(f"--case-id-pattern {pattern!r}: {problem}")
    if automation_key is not None and (problem := key_format_error(automation_key)):
        raise ConfigError(f"--automation-key {automation_key!r}: {problem}")
    return PushOptions(
        plan_name=plan,
        plan_id=plan_id,
        run_name=run,
        config_ids=_split(config_ids),
        create_missing_cases=create_missing_cases,
        close=close,
        id_patterns=list(case_id_pattern) if case_id_pattern else None,
        id_properties=_split(case_id_property) if case_id_property else None,
        key_format=automation_key,
        status_map=status_map,
        files=files,
    )


def run_push(
    config_path: Path,
    to: str,
    tests: list[JUnitTest],
    options: PushOptions,
    report_json: Path | None,
    fail_on: FailOn,
    *,
    source: dict[str, object] | None = None,
    kept: Path | None = None,
    as_json: bool = False,
) -> None:
    """Push, print the summary (errors on stderr), write the report, exit with the policy's code.

    ``kept``: where the input is kept when it came from elsewhere (apptest.ai); every failure names it.
    """
    from bridge.cli import console, err_console
    from bridge.config import load_config

    again = f"The result is kept in {kept}: push it with `ci push --junit {kept}`." if kept else None
    try:
        report = push_results(load_config(config_path), to, tests, options)
    except BridgeError as exc:
        if again:
            exc.hint = f"{exc.hint}\n{again}" if exc.hint else again
        raise
    if source:
        report.source = dict(source)
    if not as_json:
        for line in report.summary_lines():
            console.print(line, highlight=False, markup=False, soft_wrap=True)
    for error in report.errors:
        prefix = "warning: " if fail_on == "never" else "error: "
        err_console.print(prefix + error, highlight=False, markup=False, soft_wrap=True)
    if report.errors and again:
        err_console.print(again, highlight=False, markup=False, soft_wrap=True)
    if report_json is not None:
        report.write_json(report_json)
    code = report.exit_code(fail_on)
    if as_json:
        from bridge.output import emit

        emit("ci-push", {"exit_code": code, "report": report.to_dict()})
    raise typer.Exit(code)


@ci_app.command("push")
def push(
    config: ConfigOpt,
    to: ToOpt,
    junit: Annotated[list[str], typer.Option("--junit", help="JUnit XML file(s) or glob patterns; repeatable")],
    plan: PlanOpt = None,
    plan_id: PlanIdOpt = None,
    run: RunOpt = None,
    config_ids: ConfigIdsOpt = None,
    create_missing_cases: CreateOpt = False,
    close: CloseOpt = False,
    report_json: ReportOpt = None,
    fail_on: FailOnOpt = "errors",
    case_id_pattern: IdPatternOpt = None,
    case_id_property: IdPropertyOpt = None,
    automation_key: KeyFormatOpt = None,
    output: OutputOpt = "text",
    json_: JsonOpt = False,
) -> None:
    """Post the results of JUnit XML reports to SYSTEM: match tests to cases, create the plan/run, post in bulk."""
    policy = _fail_on(fail_on)
    as_json = wants_json(output, json_)
    files = _expand(junit)
    tests = parse_files(files)  # every file is read before anything is sent: bad input posts nothing
    options = _options(
        plan,
        plan_id,
        run,
        config_ids,
        create_missing_cases,
        close,
        case_id_pattern,
        case_id_property,
        automation_key,
        files=files,
    )
    run_push(config, to, tests, options, report_json, policy, as_json=as_json)


@ci_app.command("apptest")
def apptest(
    config: ConfigOpt,
    to: ToOpt,
    app: Annotated[Path | None, typer.Option("--app", help="App file to test (ipa, apk, zip, app, xapk, apks)")] = None,
    project_id: Annotated[
        int | None, typer.Option("--project-id", help="apptest.ai project id (pid); default: the system's project_id")
    ] = None,
    name: Annotated[str | None, typer.Option("--name", help="Test set name (at most 100 characters)")] = None,
    time_limit: Annotated[int | None, typer.Option("--time-limit", help="Minutes, 5 to 30")] = None,
    use_vo: Annotated[
        bool | None, typer.Option("--use-vo/--no-use-vo", help="Run AT&T Video Optimizer (ARO) with the tests")
    ] = None,
    callback: Annotated[
        str | None, typer.Option("--callback", help="URL apptest.ai calls when the test set is done")
    ] = None,
    login_id: Annotated[
        str | None, typer.Option("--login-id", help="Login the tests use in the app under test")
    ] = None,
    login_pw_env: Annotated[
        str | None,
        typer.Option("--login-pw-env", help="Environment variable holding that login's password (never the value)"),
    ] = None,
    testset_id: Annotated[int | None, typer.Option("--testset-id", help="Only fetch and push this test set")] = None,
    source: Annotated[
        str | None, typer.Option("--from", help="apptest system in the config (default: the only one)")
    ] = None,
    deadline: Annotated[str, typer.Option("--deadline", help="Stop waiting after this long (e.g. 45m, 90s)")] = "45m",
    save_junit: Annotated[
        Path | None,
        typer.Option("--save-junit", help="Where the fetched JUnit result is kept (default: apptest-ID.xml here)"),
    ] = None,
    plan: PlanOpt = None,
    plan_id: PlanIdOpt = None,
    run: RunOpt = None,
    config_ids: ConfigIdsOpt = None,
    create_missing_cases: CreateOpt = False,
    close: CloseOpt = False,
    report_json: ReportOpt = None,
    fail_on: FailOnOpt = "errors",
    case_id_pattern: IdPatternOpt = None,
    case_id_property: IdPropertyOpt = None,
    automation_key: KeyFormatOpt = None,
) -> None:
    """Run an apptest.ai test set (or fetch an existing one), wait for it, keep its JUnit result on disk and
    push it to SYSTEM."""
    from bridge.ci.apptest_step import StartChoices, fetch_result
    from bridge.config import load_config, parse_duration

    policy = _fail_on(fail_on)
    options = _options(
        plan,
        plan_id,
        run,
        config_ids,
        create_missing_cases,
        close,
        case_id_pattern,
        case_id_property,
        automation_key,
        files=[],
        status_map="apptest",
    )
    try:
        wait = parse_duration(deadline).total_seconds()
    except ValueError as exc:
        raise ConfigError(f"--deadline: {exc}") from None
    cfg = load_config(config)
    cfg.system(to)
    choices = StartChoices(
        app=app,
        project_id=project_id,
        name=name,
        time_limit=time_limit,
        use_vo=use_vo,
        callback=callback,
        login_id=login_id,
        login_pw_env=login_pw_env,
    )
    kept, testset = fetch_result(cfg, source, choices, testset_id=testset_id, deadline=wait, save_to=save_junit)
    try:
        tests = parse_bytes(kept.read_bytes(), source=str(kept))
    except JUnitError as exc:
        exc.hint = f"The result is kept in {kept}. Nothing was posted."
        raise
    options.files = [str(kept)]
    run_push(config, to, tests, options, report_json, policy, source={"apptest_testset_id": testset}, kept=kept)
