"""A world with two conflicts (a title and the steps of one case), and the review pages served over HTTP."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from e2e_harness import World, world
from test_sync_rules import edit, new_case, put

from bridge.model import Case, Step
from bridge.review.app import ReviewApp
from bridge.review.server import ReviewServer


@dataclass
class Scene:
    w: World
    left_id: str
    right_id: str
    title_conflict: int
    steps_conflict: int


@contextmanager
def scene(tmp_path: Path) -> Iterator[Scene]:
    with world(tmp_path, names=("tr", "tp"), jobs=[{"name": "qa", "left": "tr", "right": "tp"}]) as w:
        lid = put(w, "tr", new_case("Checkout", steps=3))
        w.sync("qa")
        rid = w.store.find_link("qa", "case", left_id=lid).right_id
        edit(
            w,
            "tr",
            lid,
            title="Checkout (left)",
            steps=[
                Step(action="Open the cart", expected="ok 1"),
                Step(action="Checkout step 2", expected="ok 2"),
                Step(action="Checkout step 3", expected="ok 3"),
            ],
        )
        edit(
            w,
            "tp",
            rid,
            title="Checkout (right)",
            steps=[
                Step(action="Checkout step 1", expected="ok 1"),
                Step(action="Checkout step 2", expected="paid"),
                Step(action="Checkout step 3", expected="ok 3"),
                Step(action="Log out", expected="signed out"),
            ],
        )
        w.sync("qa")
        by_field = {c.field: c.id for c in w.store.conflicts(job="qa")}
        assert set(by_field) == {"title", "steps"}, by_field
        yield Scene(w, lid, rid, by_field["title"], by_field["steps"])


@contextmanager
def served(w: World, *, token: str | None = None, host: str = "127.0.0.1") -> Iterator[httpx.Client]:
    app = ReviewApp(w.config(), w.store, token=token)
    server = ReviewServer(host, 0, app)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        with httpx.Client(base_url=f"http://{host}:{server.port}", follow_redirects=False, timeout=30) as client:
            yield client
    finally:
        server.shutdown()
        server.server_close()


def case_on(w: World, system: str, case_id: str) -> Case:
    with w.adapter(system) as a:
        case = a.get_case(case_id)
    assert case is not None
    return case


def form_token(page: str) -> str:
    marker = 'name="csrf" value="'
    start = page.index(marker) + len(marker)
    return page[start : page.index('"', start)]
