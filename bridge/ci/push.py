"""Post parsed JUnit results to a syncable system, through the Adapter contract only.

Requests are kept to what the contract needs: one bulk read of the cases, one of the plans (or one lookup
with ``--plan-id``), at most one plan create or update (a plan entry/run with every matched case in it), one
``add_results`` call (the adapter splits it into the largest batches its API takes), and one update to close.
Cases are created only when asked (``--create-missing-cases``), one per missing automation key.
"""

from __future__ import annotations

import hashlib
import importlib
import logging
import time
from collections import defaultdict
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from adapters.base import Adapter
from adapters.registry import SYNCABLE_KINDS, create_adapter, settled_for_ids
from bridge.ci.ids import IdScheme
from bridge.ci.junit import OUTCOME_ORDER, JUnitTest, outcome_counts
from bridge.ci.lookup import bridge_links, id_schemes
from bridge.ci.matching import CREATED, Match, MatchOptions, Unmatched, automation_key, match_tests
from bridge.ci.report import PushReport
from bridge.config import Config
from bridge.errors import BridgeError, CannotRepresent, ConfigError, PartialBatchFailure
from bridge.http import STATS
from bridge.model import Case, CaseType, Plan, PlanRun, PlanState, Result, Status
from bridge.sync.markers import marker_for
from bridge.text import normalize_whitespace
from mappings.valuemaps import load_value_maps

log = logging.getLogger("bridge.ci")

#: system-out longer than this is not copied into result comments (logs belong in the CI artifacts)
MAX_OUTPUT_IN_COMMENT = 4000
#: cases are created in parallel (adapters are thread-safe), as many at a time as round trips allow: the
#: target's rate limit is kept by the HTTP client's pacer (``requests_per_minute``, shared by every worker)
#: and its 429 handling, so more workers only wait there; with none set, 16 hide a 50 ms round trip
#: behind the bridge's own CPU per create
CREATE_WORKERS = 16


@dataclass
class PushOptions:
    plan_name: str | None = None
    plan_id: str | None = None
    run_name: str | None = None
    config_ids: list[str] = field(default_factory=list)
    create_missing_cases: bool = False
    close: bool = False
    #: the target's own id patterns and properties (the CLI's --case-id-*); None: the config's, or defaults
    id_patterns: list[str] | None = None
    id_properties: list[str] | None = None
    #: automation key format; None: the config's [ci] automation_key
    key_format: str | None = None
    #: value map kind turning JUnit outcomes into normalized statuses (mappings/defaults/<kind>.toml)
    status_map: str = "junit"
    files: list[str] = field(default_factory=list)


def push_results(config: Config, system_name: str, tests: Sequence[JUnitTest], options: PushOptions) -> PushReport:
    """Match ``tests`` to cases of ``system_name``, create the plan/run if needed and post the results.

    What the target refuses (or a lost connection) is recorded in the report's errors, after whatever was
    done before it: the caller decides the exit code. Bad options (an unknown or closed plan) raise ConfigError.
    """
    settings = config.system(system_name)
    if settings.kind not in SYNCABLE_KINDS:
        raise ConfigError(
            f"{config.source}: system {system_name!r} is a {settings.kind} system; results can be pushed to "
            f"{', '.join(SYNCABLE_KINDS)} systems only"
        )
    statuses = _status_table(options.status_map)
    schemes = id_schemes(config, system_name, options.id_patterns, options.id_properties)
    match_options = MatchOptions(key_format=options.key_format or config.ci.automation_key)
    started, requests_before = time.perf_counter(), STATS.total()
    report = PushReport(system=system_name, files=list(options.files), tests=len(tests))
    report.outcomes = outcome_counts(tests)
    try:
        _push(config, system_name, tests, options, schemes, match_options, statuses, report)
    except ConfigError:
        raise
    except BridgeError as exc:
        report.errors.append(str(exc))
    report.requests = STATS.total() - requests_before
    report.seconds = time.perf_counter() - started
    if report.posted:
        try:
            propagate_results(config, system_name, report)
        except BridgeError as exc:
            report.errors.append(f"results posted, but not copied through the sync jobs: {exc}")
    return report


def _push(
    config: Config,
    system_name: str,
    tests: Sequence[JUnitTest],
    options: PushOptions,
    schemes: list[IdScheme],
    match_options: MatchOptions,
    statuses: dict[str, Status],
    report: PushReport,
) -> None:
    links = bridge_links(config, system_name)
    # a system whose mode depends on what the store links (CodeArts) is opened in the mode of its links
    linked = sorted({i for by_id in links.values() for ids in by_id.values() for i in ids})[:5]
    adapter = create_adapter(system_name, settled_for_ids(system_name, config.system(system_name), linked))
    plan_name = normalize_whitespace(options.plan_name or "") or f"Automated run {datetime.now(UTC):%Y-%m-%d %H:%M}"
    with adapter, ThreadPoolExecutor(max_workers=2, thread_name_prefix="ci-push") as pool:
        # The plan is looked up while the cases are listed: neither depends on the other, and a listing is
        # several round trips. (A push whose tests then match nothing listed the plans for nothing.)
        plan_read: Future[Plan | None] | None
        if options.plan_id:
            plan_read = pool.submit(_given_plan, adapter, options.plan_id)
        else:
            plan_read = pool.submit(_find_open_plan, adapter, plan_name) if tests else None
        try:
            cases = list(adapter.iter_case_refs())  # ids, automation keys and markers are all matching needs
        finally:
            # an unknown or closed --plan-id is bad input: it is what is reported, and before anything is created
            given = plan_read.result() if options.plan_id and plan_read is not None else None
        outcome = match_tests(tests, cases, target=system_name, schemes=schemes, links=links, options=match_options)
        matches = list(outcome.matched)
        unmatched = outcome.unmatched
        report.ambiguous = outcome.ambiguous
        if options.create_missing_cases:
            created, unmatched = _create_missing(adapter, cases, unmatched, match_options.key_format, report)
            matches.extend(created)
        report.record_matches(matches, unmatched)
        grouped = _group(matches)
        if not grouped:
            # nothing to post: a plan (or a run in one) without cases is noise, and TestRail cannot hold it
            return
        pool.submit(adapter.prepare_results)  # read while the plan and its run are made
        statuses = _representable(adapter, statuses)
        listed = plan_read.result() if given is None and plan_read is not None else None
        if listed is not None and listed.id is not None:
            given = adapter.get_plan(listed.id)  # with its runs: only now that there is something to post
        plan, run = _ensure_plan_and_run(adapter, given, plan_name, sorted(grouped), options, report)
        results = [
            _result(case_id, group, statuses, plan.id, run.id if run else None)
            for case_id, group in sorted(grouped.items())
        ]
        _post(adapter, results, report)
        if options.close and not report.errors:
            adapter.update_plan(str(plan.id), plan.model_copy(update={"state": PlanState.COMPLETED}))
            report.closed = True


# ------------------------------------------------------------------------------------------- matching


def _create_missing(
    adapter: Adapter, cases: list[Case], unmatched: list[Unmatched], key_format: str, report: PushReport
) -> tuple[list[Match], list[Unmatched]]:
    """One case per missing automation key, for tests that name no case id and match no case ambiguously:
    a test that names an id names a case that exists (here or linked elsewhere), and a new one would be its
    duplicate."""
    by_marker = {c.marker: c for c in cases if c.marker}
    fields = adapter.capabilities.case_fields
    holds_type = fields is None or "type" in fields
    wanted: dict[str, list[JUnitTest]] = defaultdict(list)
    still: list[Unmatched] = []
    for item in unmatched:
        if item.creatable:
            wanted[automation_key(item.test, key_format)].append(item.test)
        else:
            still.append(item)

    def create(key: str) -> tuple[str, Case | None, str | None]:
        marker = marker_for("ci", "case", "junit", key)
        found = by_marker.get(marker)  # created by an earlier push whose key the target does not show
        if found is not None:
            return key, found, None
        first = wanted[key][0]
        case = Case(title=first.name or key, folder=first.suites or ("CI",), automation_key=key)
        if holds_type:  # TestPlanIt keeps the type in template fields the bridge does not write
            case.type = CaseType.AUTOMATED
        try:
            return key, adapter.create_case(case, marker=marker), None
        except CannotRepresent as exc:
            return key, None, f"cannot create a case for {key}: {exc}"

    matches: list[Match] = []
    with ThreadPoolExecutor(max_workers=CREATE_WORKERS) as pool:
        for key, case, error in pool.map(create, list(wanted)):
            if case is None or case.id is None:
                report.errors.append(error or f"cannot create a case for {key}")
                still.extend(Unmatched(t, error or "not created") for t in wanted[key])
                continue
            report.created.append(case.id)
            matches.extend(Match(t, case.id, CREATED, key) for t in wanted[key])
    return matches, still


def _group(matches: Sequence[Match]) -> dict[str, list[JUnitTest]]:
    """Tests per case: several tests reporting on one case (parametrized, reruns) make one result."""
    grouped: dict[str, list[JUnitTest]] = defaultdict(list)
    for m in matches:
        grouped[m.case_id].append(m.test)
    return grouped


# ---------------------------------------------------------------------------------------------- plans


def _given_plan(adapter: Adapter, plan_id: str) -> Plan:
    plan = adapter.get_plan(plan_id)
    if plan is None:
        raise ConfigError(f"{adapter.name}: no plan with id {plan_id}", hint="Check --plan-id. Nothing was posted.")
    if plan.state is PlanState.COMPLETED:
        raise ConfigError(
            f"{adapter.name}: plan {plan.name!r} (id {plan.id}) is closed; results cannot be added",
            hint="Nothing was posted.",
        )
    return plan


def _ensure_plan_and_run(
    adapter: Adapter, found: Plan | None, name: str, case_ids: list[str], options: PushOptions, report: PushReport
) -> tuple[Plan, PlanRun | None]:
    """``found``: the plan of --plan-id, or the open plan named ``name`` (None: there is none, it is created)."""
    run_name = normalize_whitespace(options.run_name or options.plan_name or "") or None
    config = _config_names(adapter, options.config_ids)
    plan = found
    if plan is None:
        runs = [PlanRun(name=run_name or name, configuration=config, case_ids=case_ids)]
        new = Plan(name=name, runs=runs)
        plan = adapter.create_plan(new, marker=marker_for("ci", "plan", adapter.name, f"{name}|{time.time_ns()}"))
        report.plan_created = True
    run_name = run_name or plan.name
    report.plan_id, report.plan_name = plan.id, plan.name
    plan = _with_cases(adapter, plan, run_name, config, case_ids)
    run = _pick_run(adapter, plan, run_name, config)
    if run is not None:
        report.run_id, report.run_name = run.id, run.name
    return plan, run


def _config_names(adapter: Adapter, values: list[str]) -> list[str]:
    """Configurations as the adapter names them; numeric ids are translated where the adapter lists them
    (TestRail's ``config_ids``, as trcli takes them)."""
    cleaned = [normalize_whitespace(v) for v in values if normalize_whitespace(v)]
    lookup = getattr(adapter, "config_ids", None)
    if callable(lookup) and any(v.isdigit() for v in cleaned):
        by_id = {str(cid): name for name, cid in lookup().items()}
        cleaned = [by_id.get(v, v) for v in cleaned]
    return sorted(set(cleaned))


def _find_open_plan(adapter: Adapter, name: str) -> Plan | None:
    """The open plan named ``name``, as listed (no runs, where the listing has none)."""
    wanted = name.casefold()
    return next(
        (p for p in adapter.iter_plan_refs() if p.name.casefold() == wanted and p.state is PlanState.ACTIVE), None
    )


def _pick_run(adapter: Adapter, plan: Plan, run_name: str, config: list[str]) -> PlanRun | None:
    if not adapter.capabilities.plan_runs:
        return plan.runs[0] if plan.runs else None
    wanted = run_name.casefold()
    return next((r for r in plan.runs if r.name.casefold() == wanted and sorted(r.configuration) == config), None)


def _with_cases(adapter: Adapter, plan: Plan, run_name: str, config: list[str], case_ids: list[str]) -> Plan:
    """The plan with a run holding every case we post to (one plan update at most)."""
    runs = [r.model_copy() for r in plan.runs]
    run = _pick_run(adapter, plan.model_copy(update={"runs": runs}), run_name, config)
    if run is None:
        runs.append(PlanRun(name=run_name, configuration=config, case_ids=case_ids))
    elif set(case_ids) <= set(run.case_ids):
        return plan
    else:
        run.case_ids = sorted(set(run.case_ids) | set(case_ids))
    assert plan.id is not None
    return adapter.update_plan(plan.id, plan.model_copy(update={"runs": runs}))


# -------------------------------------------------------------------------------------------- results


def _status_table(kind: str) -> dict[str, Status]:
    maps = load_value_maps(kind)
    table: dict[str, Status] = {}
    for outcome in OUTCOME_ORDER:
        normal = maps.normal("status", outcome)
        if normal is None:
            raise ConfigError(f"mappings/defaults/{kind}.toml: no status for the JUnit outcome {outcome!r}")
        table[outcome] = Status(normal)
    return table


#: where a target has no status for an outcome, the nearest one it has (TestRail has no "error" or
#: "skipped": trcli posts error as failed and skipped as retest, and so do we)
STATUS_FALLBACK: dict[Status, tuple[Status, ...]] = {
    Status.ERROR: (Status.FAILED,),
    Status.SKIPPED: (Status.RETEST, Status.BLOCKED, Status.UNTESTED),
}


def _representable(adapter: Adapter, table: dict[str, Status]) -> dict[str, Status]:
    out: dict[str, Status] = {}
    for outcome, status in table.items():
        choices = (status, *STATUS_FALLBACK.get(status, ()))
        out[outcome] = next((s for s in choices if adapter.value_maps.native("status", s.value) is not None), status)
    return out


def _result(
    case_id: str, tests: list[JUnitTest], statuses: dict[str, Status], plan_id: str | None, run_id: str | None
) -> Result:
    worst = max(tests, key=lambda t: OUTCOME_ORDER.index(t.outcome))
    seconds = [t.seconds for t in tests if t.seconds is not None]
    digest = hashlib.sha256(
        "\n".join(f"{t.file}|{t.label()}|{t.outcome}|{t.seconds}|{t.timestamp}|{t.message}" for t in tests).encode()
    ).hexdigest()
    return Result(
        case_id=case_id,
        plan_id=plan_id,
        run_id=run_id,
        status=statuses[worst.outcome],
        comment=_comment(tests),
        elapsed_seconds=round(sum(seconds), 3) if seconds else None,
        marker=marker_for("ci", "result", f"{plan_id}/{run_id}/{case_id}", digest),
    )


def _comment(tests: list[JUnitTest]) -> str:
    parts: list[str] = []
    for t in tests:
        lines = [f"{t.label()}: {t.outcome}"] if len(tests) > 1 or t.outcome != "passed" else []
        if t.message:
            lines.append(t.message)
        if t.details and t.details != t.message:
            lines.append(t.details)
        if t.system_out:
            if len(t.system_out) <= MAX_OUTPUT_IN_COMMENT:
                lines.append(t.system_out)
            else:
                lines.append(f"(system-out: {len(t.system_out)} characters, see the CI log)")
        if lines:
            parts.append("\n".join(lines))
    return "\n\n".join(parts)


def _post(adapter: Adapter, results: list[Result], report: PushReport) -> None:
    if not results:
        return
    try:
        stored = adapter.add_results(results)
    except PartialBatchFailure as exc:
        report.errors.append(str(exc))
        failed = {f.item_id for f in exc.failures}
        stored = [r for r in results if r.case_id not in failed]
    report.posted = len(stored)
    counts: dict[str, int] = defaultdict(int)
    for r in stored:
        counts[r.status.value] += 1
    report.statuses = dict(counts)
    report.result_ids = [r.id for r in stored if r.id]


# ------------------------------------------------------------------------------------ link propagation


def propagate_results(config: Config, system_name: str, report: PushReport) -> Any:
    """Where a sync job links ``system_name`` to other systems, let the results reach the linked cases.

    The sync engine owns this (``bridge.sync.propagate_results``); until it provides it, nothing happens.
    """
    try:
        sync = importlib.import_module("bridge.sync")
    except ImportError:  # pragma: no cover
        return None
    engine_hook = getattr(sync, "propagate_results", None)
    if engine_hook is None:
        return None
    return engine_hook(config, system_name, report)
