"""``-o json`` / ``--json`` of status, conflicts list/show, sync, migrate and ci push: one document on stdout,
valid against the schema kept in docs/schemas."""

from __future__ import annotations

from pathlib import Path

import jsonschema
import pytest
from cli_helpers import REPO, run, run_json, validate, write_config
from e2e_harness import world
from test_sync_rules import edit, new_case, put


def test_sync_conflicts_status_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with world(tmp_path, names=("tr", "tp")) as w:
        cfg = str(write_config(w, tmp_path / "bridge.toml", {"name": "qa", "left": "tr", "right": "tp"}))
        lid = put(w, "tr", new_case("Checkout"))
        code, doc = run_json(capsys, "sync", "sync", "-c", cfg, "-o", "json", "--dry-run")
        assert doc["reports"][0]["dry_run"] and any(
            "would create case on tp" in a for a in doc["reports"][0]["actions"]
        )
        code, doc = run_json(capsys, "sync", "sync", "-c", cfg, "-o", "json")
        assert doc["reports"][0]["actions"] == []
        assert code == 0 and doc["exit_code"] == 0
        (report,) = doc["reports"]
        assert report["direction"] == "<->" and report["status"] == "ok"
        assert any(r["system"] == "tp" and r["entity"] == "case" and r["created"] == 1 for r in report["counts"])
        rid = w.store.find_link("qa", "case", left_id=lid).right_id
        edit(w, "tr", lid, title="Checkout L")
        edit(w, "tp", rid, title="Checkout R")
        code, doc = run_json(capsys, "sync", "sync", "qa", "-c", cfg, "--json")
        assert doc["reports"][0]["conflicts"] == {"open": 1, "open_by_entity": {"case": 1}, "opened": 1, "closed": 0}

        code, doc = run_json(capsys, "conflicts", "conflicts", "list", "-c", cfg, "--json")
        (row,) = doc["conflicts"]
        assert row["field"] == "title" and row["state"] == "open" and row["left_id"] == lid
        code, doc = run_json(capsys, "conflict", "conflicts", "show", str(row["id"]), "-c", cfg, "-o", "json")
        assert doc["conflict"]["left_value"] == "Checkout L" and doc["conflict"]["right_value"] == "Checkout R"

        code, doc = run_json(capsys, "status", "status", "-c", cfg, "-o", "json", "--runs", "5")
        (job,) = doc["jobs"]
        assert job["open_conflicts"] == 1 and job["links"] >= 1 and len(job["runs"]) == 2
        assert job["runs"][0]["id"] > job["runs"][1]["id"]  # newest first


def test_migrate_json_is_one_way(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with world(tmp_path, names=("tr", "tp")) as w:
        cfg = str(write_config(w, tmp_path / "bridge.toml"))
        put(w, "tr", new_case("Login"))
        code, doc = run_json(capsys, "migrate", "migrate", "-c", cfg, "--from", "tr", "--to", "tp", "--json")
        assert code == 0 and doc["report"]["direction"] == "->"
        assert doc["entities"]["case"]["created"] == 1


def test_ci_push_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with world(tmp_path, names=("tr",)) as w:
        cfg = str(write_config(w, tmp_path / "bridge.toml"))
        junit = REPO / "tests" / "fixtures" / "junit" / "pytest.xml"
        code, doc = run_json(
            capsys, "ci-push", "ci", "push", "-c", cfg, "--to", "tr", "--junit", str(junit), "--plan", "CI", "--json"
        )
        assert doc["exit_code"] == code and doc["report"]["tests"] > 0 and doc["report"]["system"] == "tr"


def test_a_schema_rejects_what_it_does_not_describe() -> None:
    # the schemas are strict enough to catch a changed shape (else the tests above could not fail)
    with pytest.raises(jsonschema.ValidationError):
        validate("sync", {"schema": "testplan-bridge/sync/1", "exit_code": 0, "reports": [{"job": "x"}], "busy": []})
    with pytest.raises(jsonschema.ValidationError):
        validate("status", {"schema": "testplan-bridge/status/2", "jobs": []})


def test_output_takes_only_text_or_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with world(tmp_path, names=("tr",)) as w:
        cfg = str(write_config(w, tmp_path / "bridge.toml"))
        code, out, err = run(capsys, "status", "-c", cfg, "-o", "yaml")
        assert code == 2 and "--output: expected text or json" in err and out == ""
