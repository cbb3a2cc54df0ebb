"""``testplan-bridge ci push`` and ``testplan-bridge ci apptest``: CI results into a test management system."""

from __future__ import annotations

import glob
from pathlib import Path
from typing import Annotated

import typer

from bridge.ci.junit import JUnitError, JUnitTest, parse_bytes, parse_files
from bridge.ci.matching import DEFAULT_ID_PATTERNS, DEFAULT_ID_PROPERTIES, DEFAULT_KEY_FORMAT, MatchOptions
from bridge.ci.push import PushOptions, push_results
from bridge.ci.report import FailOn, PushReport
from bridge.errors import ConfigError, RemoteError

ci_app = typer.Typer(
    help="Feed CI results (JUnit XML, apptest.ai) into a test management system.", no_args_is_help=True
)

ConfigOpt = Annotated[Path, typer.Option("--config", "-c", help="Path of the TOML config file")]
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
        help="errors: exit 1 if results could not be posted; unmatched: also exit 3 if a test matched no case; "
        "never: exit 0 once the input was read",
    ),
]
IdPatternOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--case-id-pattern", help=f"Regex finding a case id in test names (group 1). Default {DEFAULT_ID_PATTERNS[0]}"
    ),
]
IdPropertyOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--case-id-property", help=f"Test property holding a case id. Default: {', '.join(DEFAULT_ID_PROPERTIES)}"
    ),
]
KeyFormatOpt = Annotated[
    str, typer.Option("--automation-key", help="Automation key of a test: {classname}, {name}, {suite}, {file}")
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
    if value not in ("unmatched", "errors", "never"):
        raise ConfigError(f"--fail-on: expected unmatched, errors or never, got {value!r}")
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
    automation_key: str,
    *,
    files: list[str],
    status_map: str = "junit",
) -> PushOptions:
    if plan and plan_id:
        raise ConfigError("give --plan or --plan-id, not both")
    import re

    for pattern in case_id_pattern or []:
        try:
            re.compile(pattern)
        except re.error as exc:
            raise ConfigError(f"--case-id-pattern {pattern!r}: not a valid regular expression: {exc}") from None
    match = MatchOptions(
        id_patterns=tuple(case_id_pattern) if case_id_pattern else DEFAULT_ID_PATTERNS,
        id_properties=tuple(_split(case_id_property)) if case_id_property else DEFAULT_ID_PROPERTIES,
        key_format=automation_key,
    )
    return PushOptions(
        plan_name=plan,
        plan_id=plan_id,
        run_name=run,
        config_ids=_split(config_ids),
        create_missing_cases=create_missing_cases,
        close=close,
        match=match,
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
) -> None:
    """Push, print the summary, write the report, exit with the policy's code."""
    from bridge.cli import console, err_console
    from bridge.config import load_config

    config = load_config(config_path)
    try:
        report = push_results(config, to, tests, options)
    except RemoteError as exc:
        if fail_on != "never":
            raise
        err_console.print(f"warning: results not posted: {exc}", highlight=False, markup=False, soft_wrap=True)
        report = PushReport(system=to, files=options.files, tests=len(tests), errors=[str(exc)])
    if source:
        report.source = dict(source)
    for line in report.summary_lines():
        console.print(line, highlight=False, markup=False, soft_wrap=True)
    if report_json is not None:
        report.write_json(report_json)
    raise typer.Exit(report.exit_code(fail_on))


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
    automation_key: KeyFormatOpt = DEFAULT_KEY_FORMAT,
) -> None:
    """Post the results of JUnit XML reports to SYSTEM: match tests to cases, create the plan/run, post in bulk."""
    policy = _fail_on(fail_on)
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
    run_push(config, to, tests, options, report_json, policy)


@ci_app.command("apptest")
def apptest(
    config: ConfigOpt,
    to: ToOpt,
    app: Annotated[Path | None, typer.Option("--app", help="App file to test (ipa, apk, zip, app, xapk, apks)")] = None,
    project_id: Annotated[int | None, typer.Option("--project-id", help="apptest.ai project id (pid)")] = None,
    name: Annotated[str | None, typer.Option("--name", help="Test set name (at most 100 characters)")] = None,
    time_limit: Annotated[int | None, typer.Option("--time-limit", help="Minutes, 5 to 30")] = None,
    testset_id: Annotated[int | None, typer.Option("--testset-id", help="Only fetch and push this test set")] = None,
    source: Annotated[
        str | None, typer.Option("--from", help="apptest system in the config (default: the only one)")
    ] = None,
    deadline: Annotated[str, typer.Option("--deadline", help="Stop waiting after this long (e.g. 45m, 90s)")] = "45m",
    save_junit: Annotated[Path | None, typer.Option("--save-junit", help="Also write the JUnit result here")] = None,
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
    automation_key: KeyFormatOpt = DEFAULT_KEY_FORMAT,
) -> None:
    """Run an apptest.ai test set (or fetch an existing one), wait for it, and push its JUnit result to SYSTEM."""
    from adapters.apptest.client import AppTestClient
    from adapters.apptest.settings import AppTestSettings
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
    candidates = {n: s for n, s in cfg.systems.items() if isinstance(s, AppTestSettings)}
    if source is None:
        if len(candidates) != 1:
            raise ConfigError(
                f"{cfg.source}: name the apptest system with --from (apptest systems: "
                f"{', '.join(candidates) or 'none'})"
            )
        source = next(iter(candidates))
    settings = cfg.system(source)
    if not isinstance(settings, AppTestSettings):
        raise ConfigError(f"{cfg.source}: system {source!r} is not an apptest system")
    if testset_id is None:
        if app is None or project_id is None:
            raise ConfigError("give --app and --project-id to start a test set, or --testset-id to fetch one")
        if not app.is_file():
            raise ConfigError(f"{app}: app file not found")
        from adapters.apptest.client import APP_EXTENSIONS

        if app.suffix.lower() not in APP_EXTENSIONS:
            raise ConfigError(f"{app}: file extension not supported by apptest.ai ({', '.join(APP_EXTENSIONS)})")
        if time_limit is not None and not 5 <= time_limit <= 30:
            raise ConfigError("--time-limit: apptest.ai takes 5 to 30 minutes")
        if name is not None and len(name) > 100:
            raise ConfigError("--name: apptest.ai takes at most 100 characters")
    from bridge.cli import console

    with AppTestClient(source, settings) as client:
        if testset_id is None:
            assert app is not None and project_id is not None
            started = client.start_testset(app, project_id=project_id, name=name or app.name, time_limit=time_limit)
            testset_id = started.testset_id
            console.print(f"apptest.ai: test set {testset_id} started ({started.test_count} test(s))", highlight=False)
        status = client.wait(testset_id, timeout=wait)
        console.print(f"apptest.ai: test set {testset_id} {status.status.lower()}: {status.summary()}", highlight=False)
        xml = client.result_xml(testset_id)
    label = f"apptest.ai test set {testset_id}"
    if save_junit is not None:
        save_junit.write_text(xml, "utf-8")
        label = str(save_junit)
    tests = parse_bytes(xml.encode("utf-8"), source=label)
    options.files = [label]
    run_push(config, to, tests, options, report_json, policy, source={"apptest_testset_id": testset_id})
