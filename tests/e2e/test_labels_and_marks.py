"""TestRail <-> TestPlanIt through the simulators: tags travel as TestRail labels, formatted text keeps every
mark combination, and the run after a sync sees no change (no echo)."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

from e2e_harness import World, world
from test_sync_rules import cases, edit, new_case, put

from bridge.marks import Run, render_inline
from bridge.model import Case, Step

JOB = [{"name": "job", "left": "tr", "right": "tp"}]
URL = "https://wiki.example/pay?id=1&v=2"
ALL = ("bold", "italic", "underline", "strike", "code", "link")


def _line(marks: tuple[str, ...]) -> str:
    """A line of canonical text with one word carrying ``marks`` together, and a partly overlapping pair."""
    both: Run = ("together", frozenset(m for m in marks if m != "link"), URL if "link" in marks else None)
    first, second = marks[0], marks[-1]
    runs: list[Run] = [
        (f"{'+'.join(marks)}: ", frozenset(), None),
        both,
        (", then ", frozenset(), None),
        ("one", frozenset({first}) - {"link"}, URL if first == "link" else None),
        (" and ", frozenset({first, second}) - {"link"}, URL if "link" in (first, second) else None),
        ("other", frozenset({second}) - {"link"}, URL if second == "link" else None),
    ]
    return render_inline(runs)


PAIRS = list(itertools.combinations(ALL, 2))
TRIPLES = [("bold", "italic", "code"), ("italic", "strike", "link"), ("bold", "underline", "link")]
PRECONDITIONS = "\n".join(_line(m) for m in PAIRS)
STEP = "\n\n".join(_line(m) for m in TRIPLES)


def _tiptap_marks(doc: Any) -> set[frozenset[str]]:
    """Every set of marks a text node of a TipTap document carries."""
    found: set[frozenset[str]] = set()

    def walk(node: dict[str, Any]) -> None:
        if node.get("type") == "text" and node.get("marks"):
            found.add(frozenset(m["type"] for m in node["marks"]))
        for child in node.get("content") or []:
            walk(child)

    walk(json.loads(doc) if isinstance(doc, str) else doc)
    return found


def _quiet(w: World) -> None:
    report = w.sync()
    assert report.status == "ok", report.errors
    assert report.total("updated") == report.total("created") == report.total("deleted") == 0, report.flat()


def test_tags_and_every_mark_pair_round_trip_without_echo(tmp_path: Path) -> None:
    with world(tmp_path, names=("tr", "tp"), jobs=JOB) as w:
        source = Case(
            title="Pay by card",
            folder=("Payments",),
            tags=["smoke", "payments"],
            preconditions=PRECONDITIONS,
            steps=[Step(action=STEP, expected="***Paid*** and [`receipt`](https://r.example/1)")],
        )
        tr_id = put(w, "tr", source)
        report = w.sync()
        assert report.status == "ok", report.errors
        assert not any("cannot hold" in n and "tags" in n for n in report.notes), report.notes
        tp_id = w.store.find_link("job", "case", left_id=tr_id).right_id

        arrived = cases(w, "tp")["Pay by card"]
        assert arrived.tags == ["payments", "smoke"]
        assert (arrived.preconditions, arrived.steps) == (source.preconditions, source.steps)
        # TestPlanIt holds the marks as the editor does: one text node with every mark of the word
        sim = w.sims["tp"]
        names = {v: k for k, v in sim.field_ids.items()}  # type: ignore[attr-defined]
        values = {names[r["fieldId"]]: r["value"] for r in sim.rows("caseFieldValues") if r["testCaseId"] == int(tp_id)}
        held = _tiptap_marks(values["preconditions"])
        for pair in PAIRS:
            assert frozenset(pair) in held, pair
        step_row = next(r for r in sim.rows("steps") if r["testCaseId"] == int(tp_id))
        assert {frozenset(t) for t in TRIPLES} <= _tiptap_marks(step_row["step"])
        # and TestRail as nested HTML elements, bold+italic included
        tr_html = w.sims["tr"].cases[int(tr_id)]  # type: ignore[attr-defined]
        assert "<strong><em>Paid</em></strong>" in tr_html["custom_steps_separated"][0]["expected"]

        _quiet(w)  # nothing echoes back

        # a tag and a mark added in TestPlanIt reach TestRail's labels and HTML, then all is quiet again
        edit(w, "tp", tp_id, tags=["payments", "smoke", "cards"], preconditions=PRECONDITIONS + "\n~~++new++~~")
        assert w.sync().status == "ok"
        back = cases(w, "tr")["Pay by card"]
        assert back.tags == ["cards", "payments", "smoke"]
        assert back.preconditions.endswith("\n~~++new++~~")
        labels = w.sims["tr"].cases[int(tr_id)]["labels"]  # type: ignore[attr-defined]
        assert sorted(ref["title"] for ref in labels) == ["cards", "payments", "smoke"]
        _quiet(w)


def test_a_testrail_server_without_labels_syncs_everything_else(tmp_path: Path) -> None:
    with world(tmp_path, names=("tr", "tp"), jobs=JOB) as w:
        w.sims["tr"].labels.enabled = False  # type: ignore[attr-defined]  # a server before TestRail 9
        put(w, "tp", new_case("Tagged in TestPlanIt", folder=("Payments",), tags=["smoke"], description="**x**"))
        report = w.sync()
        assert report.status == "ok", report.errors
        assert "case fields tr cannot hold, not synced by this job: tags" in report.notes
        copied = cases(w, "tr")["Tagged in TestPlanIt"]
        assert copied.tags == [] and copied.description == "**x**"
        assert not [c for c in w.store.conflicts(open_only=False) if c.kind == "cannot-represent"]
        _quiet(w)
        assert cases(w, "tp")["Tagged in TestPlanIt"].tags == ["smoke"]  # kept where it is held
