"""TestRail labels (TestRail 9+) as case tags: the simulator's label API, the adapter's mapping, older servers.

The simulator serves labels the way the behaviour notes describe; a simulator built with ``labels=False`` is
a server from before TestRail 9, which does not know the label methods at all.
"""

from __future__ import annotations

import logging
from typing import Any

import httpx
import pytest
from tr_helpers import make_adapter

from adapters.registry import create_adapter
from adapters.simulation import LoopbackServer
from adapters.testrail.adapter import TestRailAdapter
from adapters.testrail.settings import TestRailSettings
from adapters.testrail.simulator import TestRailSimulator
from bridge.errors import NotFound, ServerError
from bridge.model import Case, Step

API = "/index.php?/api/v2/"


def _call(server: LoopbackServer, sim: TestRailSimulator, method: str, body: Any = None) -> httpx.Response:
    auth = (sim.user, sim.api_key)
    headers = {"Content-Type": "application/json"}
    if body is None:
        return httpx.get(server.url + API + method, auth=auth, headers=headers)
    return httpx.post(server.url + API + method, auth=auth, headers=headers, json=body)


def _adapter(sim: TestRailSimulator, url: str) -> TestRailAdapter:
    adapter = create_adapter("tr", TestRailSettings(url=url, **sim.credentials()))
    assert isinstance(adapter, TestRailAdapter)
    return adapter


def _case(**kw: Any) -> Case:
    values: dict[str, Any] = {"folder": ("Labels",), "title": "Tagged case", "steps": [Step(action="a", expected="b")]}
    return Case(**{**values, **kw})


# ---------------------------------------------------------------------------------- the simulator's API


def test_simulator_serves_labels_like_testrail_9(sim: TestRailSimulator, server: LoopbackServer) -> None:
    page = _call(server, sim, "get_labels/1&limit=1").json()
    assert set(page) == {"offset", "limit", "size", "_links", "labels"}
    assert page["size"] == 1 and page["_links"]["next"] is not None  # the seed's labels: smoke, regression
    labels = _call(server, sim, "get_labels/1").json()["labels"]
    assert sorted(label["title"] for label in labels) == ["regression", "smoke"]
    assert set(labels[0]) == {"id", "project_id", "title", "created_by", "created_on"}
    tagged = [c for c in sim.cases.values() if c["labels"]]
    assert tagged and all(set(ref) == {"id", "title"} for c in tagged for ref in c["labels"])

    # titles (new ones make a label) or ids, in labels or label_ids, replace the case's labels
    section = min(sim.sections)
    created = _call(server, sim, f"add_case/{section}", {"title": "t", "labels": ["smoke", "checkout"]}).json()
    smoke = next(label["id"] for label in labels if label["title"] == "smoke")
    assert [ref["title"] for ref in created["labels"]] == ["smoke", "checkout"]
    assert created["labels"][0]["id"] == smoke
    updated = _call(server, sim, f"update_case/{created['id']}", {"label_ids": [smoke]}).json()
    assert [ref["title"] for ref in updated["labels"]] == ["smoke"]
    unchanged = _call(server, sim, f"update_case/{created['id']}", {"title": "t2"}).json()
    assert [ref["title"] for ref in unchanged["labels"]] == ["smoke"]  # a body without labels keeps them
    assert _call(server, sim, f"update_case/{created['id']}", {"labels": []}).json()["labels"] == []

    # refused as TestRail refuses: a title over 20 characters, an unknown id
    too_long = _call(server, sim, f"add_case/{section}", {"title": "t", "labels": ["x" * 21]})
    assert too_long.status_code == 400 and "20 characters" in too_long.json()["error"]
    unknown = _call(server, sim, f"update_case/{created['id']}", {"label_ids": [999]})
    assert unknown.status_code == 400

    # a renamed label shows its new title on the cases that carry it
    renamed = _call(server, sim, f"update_label/{smoke}", {"title": "smoke-test"}).json()
    assert renamed["title"] == "smoke-test" == _call(server, sim, f"get_label/{smoke}").json()["title"]
    with_smoke = next(c for c in tagged if any(ref["id"] == smoke for ref in c["labels"]))
    case = _call(server, sim, f"get_case/{with_smoke['id']}").json()
    assert "smoke-test" in [ref["title"] for ref in case["labels"]]


@pytest.mark.parametrize("status", [404, 400])
def test_a_server_before_testrail_9_has_no_labels(status: int) -> None:
    sim = TestRailSimulator(seed=7, labels=False, unknown_method_status=status)
    with sim.serve() as server:
        answer = _call(server, sim, "get_labels/1")
        assert answer.status_code == status and answer.json() == {"error": "Unknown method 'get_labels'"}
        assert all("labels" not in c for c in sim.cases.values())
        created = _call(server, sim, f"add_case/{min(sim.sections)}", {"title": "t", "labels": ["smoke"]}).json()
        assert "labels" not in created  # an old server ignores a field it does not know


# ---------------------------------------------------------------------------------- the adapter's mapping


def test_tags_are_labels(sim: TestRailSimulator, adapter: TestRailAdapter) -> None:
    assert adapter.has_labels and "tags" in (adapter.capabilities.case_fields or ())
    by_title = {c.title: c for c in adapter.iter_cases()}
    seeded = {cid: [ref["title"] for ref in c["labels"]] for cid, c in sim.cases.items() if c["labels"]}
    assert seeded and all(sorted(tags) == by_title[sim.cases[cid]["title"]].tags for cid, tags in seeded.items())

    created = adapter.create_case(_case(tags=["smoke", "payments"]), marker="m-labels")
    assert created.tags == ["payments", "smoke"]
    assert sorted(ref["title"] for ref in sim.cases[int(created.id)]["labels"]) == ["payments", "smoke"]
    assert adapter.get_case(created.id).tags == ["payments", "smoke"]  # type: ignore[union-attr]
    updated = adapter.update_case(created.id, _case(tags=["payments"]))
    assert updated.tags == ["payments"]
    assert adapter.update_case(created.id, _case(tags=[])).tags == []  # cleared, not left as they were
    assert sim.cases[int(created.id)]["labels"] == []


def test_a_tag_longer_than_a_label_title_is_not_cut(adapter: TestRailAdapter) -> None:
    problems = adapter.check_case(_case(tags=["fits", "x" * 21]))
    assert [(p.field, "20" in p.reason) for p in problems] == [("tags", True)]


@pytest.mark.parametrize("status", [404, 400])
def test_older_server_tags_are_left_alone_and_said_once(caplog: pytest.LogCaptureFixture, status: int) -> None:
    sim = TestRailSimulator(seed=7, labels=False, unknown_method_status=status)
    with sim.serve() as server, caplog.at_level(logging.WARNING, logger="adapters.testrail"):
        # a path of its own (TestRail is often installed under one): "once" is per server address
        url = f"{server.url}/old-testrail-{status}"
        with _adapter(sim, url) as adapter:
            assert not adapter.has_labels
            assert "tags" not in (adapter.capabilities.case_fields or ())  # the job does not merge tags
            assert "tags" in (TestRailAdapter.capabilities.case_fields or ())  # other servers are not narrowed
            cases = list(adapter.iter_cases())
            assert cases and all(c.tags == [] for c in cases)
            created = adapter.create_case(_case(), marker="m-old")  # a case still syncs, without tags
            assert adapter.update_case(created.id, _case(title="Renamed")).title == "Renamed"
            problems = adapter.check_case(_case(tags=["smoke"]))
            assert [p.field for p in problems] == ["tags"] and "TestRail 9" in problems[0].reason
        with _adapter(sim, url) as again:  # the next run (a daemon connects on every run)
            assert not again.has_labels
    notes = [r.getMessage() for r in caplog.records if "labels" in r.getMessage() and r.levelno >= logging.WARNING]
    assert len(notes) == 1 and "TestRail 9" in notes[0] and "not synced" in notes[0]


def test_other_errors_of_the_label_probe_stay_errors(sim: TestRailSimulator, server: LoopbackServer) -> None:
    """Only "unknown method" means no labels: a failing server or a wrong project is not read as one."""
    with make_adapter(sim, server, max_retries=0) as adapter:
        sim.faults.fail_next = 1
        with pytest.raises(ServerError):
            adapter._server_has_labels()
        adapter.project_id = 99
        with pytest.raises(NotFound):
            adapter._server_has_labels()
