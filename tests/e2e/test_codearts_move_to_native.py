"""The documented way to move a job's CodeArts links from the custom test service to the native case library
(README "CodeArts, from custom-service to native"), followed step by step with the real CLI: nothing is
duplicated or lost on either side, and the new job links every case."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from e2e_harness import KIND_OF, World, world

from adapters.registry import create_adapter
from bridge.cli import main
from bridge.config import load_config
from bridge.model import Case


def write_config(w: World, path: Path, systems: dict[str, dict[str, Any]], jobs: list[dict[str, str]]) -> str:
    """``systems``: config name -> simulator name plus settings (two names may share one simulator)."""
    lines = [f"[store]\nurl = {json.dumps(w.store_url)}\n"]
    for name, spec in systems.items():
        sim = spec["sim"]
        values = {"kind": KIND_OF[sim], "url": w.urls[sim], **w.sims[sim].credentials(), "max_retries": 2}
        values.update({k: v for k, v in spec.items() if k != "sim"})
        lines.append(f"[systems.{name}]\n" + "\n".join(f"{k} = {json.dumps(v)}" for k, v in values.items()))
    for job in jobs:
        lines.append("[[jobs]]\n" + "\n".join(f"{k} = {json.dumps(v)}" for k, v in job.items()))
    path.write_text("\n\n".join(lines) + "\n")
    return str(path)


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    with pytest.raises(SystemExit) as exit_info:
        main(list(argv))
    out = capsys.readouterr()
    return int(exit_info.value.code or 0), out.out + out.err


def cases_of(config: str, system: str) -> list[Case]:
    cfg = load_config(Path(config))
    adapter = create_adapter(system, cfg.system(system))
    adapter.connect()
    try:
        return list(adapter.iter_cases())
    finally:
        adapter.close()


def keys(cases: list[Case]) -> Counter[tuple[tuple[str, ...], str]]:
    return Counter((tuple(p.casefold() for p in c.folder), c.title.casefold()) for c in cases)


def test_moving_a_custom_service_job_to_the_native_library(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with world(tmp_path, names=("tr", "ca"), seeds={"tr": 11, "ca": 5}) as w:
        old_systems = {"tr": {"sim": "tr"}, "ca": {"sim": "ca", "mode": "custom-service"}}
        old = write_config(w, tmp_path / "old.toml", old_systems, [{"name": "qa", "left": "tr", "right": "ca"}])
        # the job as it ran before the native library was supported
        code, out = cli(capsys, "sync", "qa", "--config", old)
        assert code == 0, out
        custom_before = {cid: dict(c) for cid, c in w.sims["ca"].cases.items()}  # type: ignore[attr-defined]
        library_before = set(w.sims["ca"].library.cases)  # type: ignore[attr-defined]
        tr_before = keys(cases_of(old, "tr"))
        assert custom_before and library_before and tr_before
        linked_before = {link.left_id for link in w.store.links("qa", "case")}
        tr_results_before = len(w.sims["tr"].results)  # type: ignore[attr-defined]
        library_results_before = sum(map(len, w.sims["ca"].library.results.values()))  # type: ignore[attr-defined]

        # 1. a second system for the same project in native mode, under a new job name, the old system removed
        new = write_config(
            w,
            tmp_path / "new.toml",
            {"tr": {"sim": "tr"}, "ca-native": {"sim": "ca", "mode": "native"}},
            [{"name": "qa-native", "left": "tr", "right": "ca-native"}],
        )
        # 2. a dry run shows what the first sync will do, 3. the first sync
        code, out = cli(capsys, "sync", "qa-native", "--config", new, "--dry-run")
        assert code == 0 and "would create" in out, out
        code, out = cli(capsys, "sync", "qa-native", "--config", new)
        assert code == 0, out
        tr_after, library_after = keys(cases_of(new, "tr")), keys(cases_of(new, "ca-native"))

        # nothing duplicated: every folder + title is there once on each side ...
        assert [k for k, n in tr_after.items() if n > 1] == []
        assert [k for k, n in library_after.items() if n > 1] == []
        # ... nothing lost: what TestRail had, the custom-service cases and the library's own cases are all there
        assert set(tr_before) <= set(tr_after)
        assert set(keys(cases_of(old, "ca"))) <= set(library_after)
        assert library_before <= set(w.sims["ca"].library.cases)  # type: ignore[attr-defined]
        # the two sides hold the same cases, each pair linked by the new job
        assert set(tr_after) == set(library_after)
        links = w.store.links("qa-native", "case")
        assert len(links) == sum(tr_after.values()) == sum(library_after.values())
        # TestRail cases that were linked before are the ones linked now (not copies of them)
        assert linked_before <= {link.left_id for link in links}
        # results: each copied once, the TestRail ones into the library, the library's own into TestRail
        tr_results = len(w.sims["tr"].results)  # type: ignore[attr-defined]
        library_results = sum(map(len, w.sims["ca"].library.results.values()))  # type: ignore[attr-defined]
        assert tr_results - tr_results_before == library_results_before
        # (but a status the library has no value for, which is reported as the old job reported it)
        unsendable = [c for c in w.store.conflicts(job="qa-native") if c.entity == "result"]
        assert {c.kind for c in unsendable} == {"cannot-represent"}
        assert library_results - library_results_before == tr_results_before - len(unsendable) > 0
        # the custom-service cases are untouched until the user removes them
        assert set(w.sims["ca"].cases) == set(custom_before)  # type: ignore[attr-defined]

        # a second run has nothing to do
        code, out = cli(capsys, "sync", "qa-native", "--config", new, "-o", "json")
        assert code == 0, out
        report = json.JSONDecoder().raw_decode(out[out.index("{\n") :])[0]["reports"][0]
        done = [c for c in report["counts"] if {"created", "updated", "deleted"} & set(c)]
        assert report["status"] == "ok" and done == [], report["counts"]
