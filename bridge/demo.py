"""``testplan-bridge demo``: the whole product on a fresh machine with no accounts.

Starts the three simulators in-process with seeded data, runs two bidirectional jobs (CodeArts <-> TestRail,
TestRail <-> TestPlanIt), then plays two people editing the same case at the same time, and shows what the
bridge did: what it copied, what it merged, and the conflict it would not decide alone.
"""

from __future__ import annotations

import tempfile
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.panel import Panel

from adapters.base import Adapter
from adapters.registry import create_adapter, simulator_class
from bridge.commands import print_report, run_job
from bridge.config import Config, config_from_dict
from bridge.model import Case, Step
from mappings.store import Store
from mappings.tables import Link

console = Console()

SYSTEMS = {"codearts": 3, "testrail": 1, "testplanit": None}  # name -> seed (TestPlanIt starts empty)


def _config(urls: dict[str, str], creds: dict[str, dict[str, Any]], store_url: str) -> Config:
    systems = {name: {"kind": name, "url": urls[name], **creds[name]} for name in SYSTEMS}
    jobs = [
        {"name": "codearts-testrail", "left": "codearts", "right": "testrail", "conflict_policy": "manual"},
        {"name": "testrail-testplanit", "left": "testrail", "right": "testplanit", "conflict_policy": "manual"},
    ]
    return config_from_dict({"store": {"url": store_url}, "systems": systems, "jobs": jobs}, source="<demo>")


def _say(title: str, text: str) -> None:
    console.print(Panel(text, title=title, title_align="left", expand=False))


def _counts(adapter: Adapter) -> str:
    cases = list(adapter.iter_cases())
    try:
        plans = list(adapter.iter_plans())
    except NotImplementedError:
        plans = []
    return f"{len(cases)} cases, {len(plans)} plans"


def _other_entries(store: Store) -> str:
    """The log's other entries, grouped: what a side could not hold; and the notes: writes a side stored
    differently."""
    groups: dict[tuple[str, str, str], list[str]] = {}
    for c in store.conflicts(open_only=False):
        if c.kind != "edit":
            groups.setdefault((c.kind, c.entity, c.field or ""), []).append(c.message or "")
    notes: dict[tuple[str, str, str], list[str]] = {}
    for n in store.notes():
        notes.setdefault((n.kind, n.entity, n.field or ""), []).append(n.message)
    if not groups and not notes:
        return ""
    lines = [
        f"  {len(messages)} {entity}(s), {field}: {kind.replace('-', ' ')}: {messages[0]}"
        for (kind, entity, field), messages in sorted(groups.items())
    ]
    noted = [
        f"  {len(messages)} {entity}(s), {field}: {messages[0]}"
        for (_kind, entity, field), messages in sorted(notes.items())
    ]
    text = ""
    if lines:
        text += (
            "\n\nAlso in the log (testplan-bridge conflicts list): records a side cannot hold are not copied"
            "\nrather than cut:\n" + "\n".join(lines)
        )
    if noted:
        text += "\n\nNoted, nothing to decide (testplan-bridge notes):\n" + "\n".join(noted)
    return text


def start_systems(stack: ExitStack, workdir: Path) -> tuple[Config, Store, dict[str, Adapter], dict[str, str]]:
    """The demo's three seeded simulators, its config and store, and a connected adapter for each system
    (closed with ``stack``); the review page's browser test starts from the same data."""
    store_url = f"sqlite:///{workdir}/demo-store.db"
    urls: dict[str, str] = {}
    creds: dict[str, dict[str, Any]] = {}
    for name, seed in SYSTEMS.items():
        sim = simulator_class(name)(seed=seed)
        server = stack.enter_context(sim.serve())
        urls[name], creds[name] = server.url, sim.credentials()
    cfg = _config(urls, creds, store_url)
    store = Store(store_url)
    stack.callback(store.close)
    adapters = {name: create_adapter(name, cfg.system(name)) for name in SYSTEMS}
    for adapter in adapters.values():
        adapter.connect()
        stack.callback(adapter.close)
    return cfg, store, adapters, urls


def concurrent_edits(store: Store, adapters: dict[str, Adapter]) -> tuple[Link, str | None] | None:
    """Two people rename the same case (CodeArts and TestRail), a third adds a step to another case in
    TestRail. Returns the renamed case's link and the title of the case with the new step."""
    links = [link for link in store.links("codearts-testrail", "case") if link.state == "active"]
    if not links:
        return None
    link = sorted(links, key=lambda lk: int(lk.left_id) if lk.left_id.isdigit() else 0)[0]
    ca_case = adapters["codearts"].get_case(link.left_id)
    tr_case = adapters["testrail"].get_case(link.right_id)
    assert ca_case is not None and tr_case is not None
    adapters["codearts"].update_case(
        link.left_id, ca_case.model_copy(update={"title": ca_case.title + " (CodeArts edit)"})
    )
    adapters["testrail"].update_case(
        link.right_id,
        tr_case.model_copy(update={"title": tr_case.title + " (TestRail edit)"}),
    )
    second = [lk for lk in links if lk is not link][:1]
    edited_steps = None
    if second:
        other = adapters["testrail"].get_case(second[0].right_id)
        if other is not None:
            steps = [*other.steps, Step(action="Check the audit log", expected="The change is listed")]
            adapters["testrail"].update_case(
                second[0].right_id, Case.model_validate({**other.model_dump(), "steps": steps})
            )
            edited_steps = other.title
    return link, edited_steps


def run_demo(workdir: Path | None = None) -> int:
    workdir = workdir or Path(tempfile.mkdtemp(prefix="testplan-bridge-demo-"))
    with ExitStack() as stack:
        cfg, store, adapters, urls = start_systems(stack, workdir)
        store_url = cfg.store.url

        _say(
            "1. Three test managers, no accounts needed",
            "Simulators of the real APIs are running on this machine:\n"
            + "\n".join(f"  {name:11} {urls[name]}  ({_counts(adapters[name])})" for name in SYSTEMS)
            + f"\nThe mapping store (links, agreed states, conflicts) is {store_url}",
        )

        _say(
            "2. First sync", "Records are matched first (marker, automation key, folder + title); the rest is created."
        )
        failed = 0
        for job in cfg.jobs:
            report = run_job(cfg, job, store, dry_run=False)
            print_report(report, show_actions=False)
            failed += report.status not in ("ok",)
        console.print("  now: " + "; ".join(f"{n} {_counts(a)}" for n, a in adapters.items()))
        sizes = {n: sum(1 for _ in a.iter_cases()) for n, a in adapters.items()}
        if len(set(sizes.values())) == 1:
            console.print(f"  All three systems hold the same {next(iter(sizes.values()))} cases now.")
        else:
            console.print("  The systems hold different numbers of cases: see the log entries below.")

        # two people edit the same case at the same time, a third edits another field elsewhere
        title_before = {lk.left_id: lk.base.get("title") for lk in store.links("codearts-testrail", "case")}
        edited = concurrent_edits(store, adapters)
        if edited is None:
            console.print("no linked cases: the demo cannot go on")
            return 1
        link, edited_steps = edited
        _say(
            "3. Meanwhile, people keep working",
            f"Alice renames case {title_before.get(link.left_id)!r} in CodeArts; Bob renames the same case in "
            "TestRail.\n"
            + (f"Carol adds a step to {edited_steps!r} in TestRail.\n" if edited_steps else "")
            + "Nobody tells the bridge.",
        )

        _say("4. Second sync", "Each side is compared with the last agreed state, field by field.")
        for job in cfg.jobs:
            report = run_job(cfg, job, store, dry_run=False)
            print_report(report, show_actions=False)
            failed += report.status not in ("ok",)

        edits = [c for c in store.conflicts(open_only=True) if c.kind == "edit"]
        lines = [
            f"  conflict {c.id} in job {c.job}: field {c.field}\n"
            f"    agreed before: {c.base_value!r}\n"
            f"    left now:      {c.left_value!r}\n"
            f"    right now:     {c.right_value!r}"
            for c in edits
        ]
        _say(
            "5. What the bridge would not decide alone",
            ("\n".join(lines) if lines else "  (no conflict)")
            + "\n\nThe step Carol added travelled to CodeArts and TestPlanIt; the two renames did not overwrite each"
            "\nother: neither side was written for that field, and the conflict waits for a person:"
            "\n  testplan-bridge conflicts resolve ID --take left|right|value=... --config FILE"
            + _other_entries(store),
        )
        if edits:
            store.resolve_conflict(edits[0].id, resolution="right", value=edits[0].right_value, by="demo")  # type: ignore[arg-type]
            for job in cfg.jobs:
                report = run_job(cfg, job, store, dry_run=False)
                failed += report.status not in ("ok",)
            final = {n: adapters[n].get_case(i) for n, i in (("codearts", link.left_id), ("testrail", link.right_id))}
            _say(
                "6. Resolved",
                f"Taking TestRail's title for conflict {edits[0].id}; after the next sync both say:\n"
                + "\n".join(f"  {n:9} {c.title if c else '(missing)'!r}" for n, c in final.items()),
            )
        console.print(f"Demo files (store) are in {workdir}. Try it on your systems: see config.example.toml.")
    return 1 if failed else 0
