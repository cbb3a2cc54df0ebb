"""Folders as a project made in TestPlanIt's UI has them: no root, several top-level folders, maybe none at all;
and soft-deleted cases and folders brought back by un-deleting them."""

from __future__ import annotations

from pathlib import Path

import pytest
from tpi_helpers import make_adapter

from adapters.testplanit import convert
from adapters.testplanit.simulator import TestPlanItSimulator
from bridge.model import Case, Priority, Step
from tests.ci.conftest import run_cli, write_config


def test_a_project_with_no_folders_gets_top_level_ones() -> None:
    sim = TestPlanItSimulator()  # a new UI project: no folder at all
    assert sim.rows("repositoryFolders") == []
    with sim.serve() as server, make_adapter(sim, server) as adapter:
        nested = adapter.create_case(Case(title="Deep", folder=("Auth", "Login")), marker="a")
        loose = adapter.create_case(Case(title="Loose"), marker="b")
        again = adapter.create_case(Case(title="Beside", folder=("Auth",)), marker="c")
    assert (nested.folder, loose.folder, again.folder) == (("Auth", "Login"), ("Unfiled",), ("Auth",))
    tops = sorted(r["name"] for r in sim.rows("repositoryFolders") if r["parentId"] is None)
    assert tops == ["Auth", "Unfiled"]  # two top-level folders, "Auth" made once


def test_paths_run_from_each_top_level_folder(sim: TestPlanItSimulator) -> None:
    with sim.serve() as server, make_adapter(sim, server) as adapter:
        paths = {f.path for f in adapter.iter_folders()}
        cases = list(adapter.iter_cases())
    assert {("Authentication",), ("Payments",), ("Reports",), ("Authentication", "Login")} <= paths
    assert {c.folder for c in cases} >= {("Authentication", "Login"), ("Payments",)}


def test_check_online_needs_no_root_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sim = TestPlanItSimulator()
    with sim.serve() as server:
        config = write_config(tmp_path, {"tp": {"kind": "testplanit", "url": server.url, **sim.credentials()}})
        assert run_cli(["check", "-c", str(config), "--online"]) == 0
    assert "template 'Default Template'" in " ".join(capsys.readouterr().out.split())


def test_a_soft_deleted_folder_is_restored_not_made_twice(sim: TestPlanItSimulator) -> None:
    with sim.serve() as server:
        with make_adapter(sim, server) as adapter:
            first = adapter.ensure_folder(["Payments", "Old"])
        row = next(r for r in sim.db.tables["repositoryFolders"].values() if r["id"] == int(first))
        sim.db.patch("repositoryFolders", row, {"isDeleted": True})  # deleted in the UI
        count = len(sim.rows("repositoryFolders"))
        with make_adapter(sim, server) as adapter:
            assert ("Payments", "Old") not in {f.path for f in adapter.iter_folders()}
            assert adapter.ensure_folder(["Payments", "Old"]) == first
    assert len(sim.rows("repositoryFolders")) == count and row["isDeleted"] is False


def test_a_soft_deleted_case_is_restored_in_place(sim: TestPlanItSimulator) -> None:
    with sim.serve() as server, make_adapter(sim, server) as adapter:
        original = adapter.create_case(
            Case(title="Pay", folder=("Payments",), automation_key="t.pay", tags=["smoke"], custom={"component": "X"}),
            marker="old-marker",
        )
        adapter.delete_case(original.id or "")
        assert adapter.get_case(original.id or "") is None
        # what the other side sends: only the fields the job merges are set (tags and custom are not)
        survivor = Case.model_validate(
            {"title": "Pay", "folder": ["Payments"], "automation_key": "t.pay", "priority": "high", "steps": []}
        ).model_copy(update={"steps": [Step(action="Pay again")]})
        restored = adapter.restore_case(original.id or "", survivor, marker="new-marker")
        assert restored is not None and restored.id == original.id  # the same row, not a second one
        assert restored.priority == Priority.HIGH and restored.steps == [Step(action="Pay again")]
        assert restored.tags == ["smoke"] and restored.custom == {"component": "X"}  # kept: not sent
        assert restored.marker == "new-marker" and adapter.find_case_by_marker("new-marker") == restored
        assert adapter.find_case_by_marker("old-marker") is None
        assert adapter.restore_case("999999", survivor, marker="m") is None  # gone for good: create instead
    row = next(r for r in sim.rows("repositoryCases") if r["id"] == int(original.id or 0))
    assert row["isDeleted"] is False
    assert sum(1 for r in sim.rows("repositoryCases") if r["name"] == "Pay") == 1


def test_the_path_map_is_built_once_and_follows_created_folders(sim: TestPlanItSimulator) -> None:
    with sim.serve() as server:
        with make_adapter(sim, server) as adapter:
            paths = adapter.tree.paths()
            created = adapter.create_case(Case(title="Deep", folder=("Payments", "Refunds", "Partial")), marker="a")
            assert created.folder == ("Payments", "Refunds", "Partial")
            assert adapter.tree.paths() is paths  # not rebuilt for the create
            assert paths == convert.folder_paths(adapter.tree.rows().values())
            assert ("Payments", "Refunds", "Partial") in paths.values()
        with make_adapter(sim, server) as fresh:  # what a new run reads from the server
            assert fresh.tree.paths() == paths
