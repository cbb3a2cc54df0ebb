"""`testplan-bridge sync` with a misbehaving proxy in front of TestRail.

For each kind of bad answer: a clear one-paragraph error naming the system and the route, exit code 1, no
traceback, nothing written to TestRail after the point of failure, and a store the next run (proxy healed)
uses normally: it finishes the work without a duplicate, and the run after it has nothing left to do.

The runs use ``--workers 1``: with parallel workers, requests already on the wire when the bad answer comes
are "after" it in the proxy's eyes though they were sent before the client could know; one worker makes the
point of failure exact.
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from adapters.simulation import LoopbackServer
from adapters.testplanit.simulator import TestPlanItSimulator
from adapters.testrail.simulator import TestRailSimulator

from .harness import assert_no_traceback, case_titles, cli, system_table, write_config
from .proxy import Elsewhere, Proxy, Sabotage


@dataclass
class Setup:
    source: TestPlanItSimulator
    source_url: str
    target: TestRailSimulator
    target_url: str
    proxy: Proxy
    elsewhere: Elsewhere
    elsewhere_url: str
    config: Path
    store: Path


@pytest.fixture
def setup(tmp_path: Path) -> Iterator[Setup]:
    source = TestPlanItSimulator(seed=11, cases=10)
    target = TestRailSimulator()
    with source.serve() as src, target.serve() as dst:
        proxy = Proxy(dst.url)
        elsewhere = Elsewhere()
        with LoopbackServer(proxy.app()).start() as front, LoopbackServer(elsewhere.app()).start() as other:
            systems = {
                "tp": system_table("testplanit", src.url, source),
                # short timeout for the slow answer; a small answer limit for the huge one
                "tr": system_table("testrail", front.url, target, timeout=1.0, max_retries=1, max_answer_mb=1),
            }
            store = tmp_path / "store.db"
            config = write_config(
                tmp_path / "bridge.toml",
                f"sqlite:///{store}",
                systems,
                [{"name": "qa", "left": "tp", "right": "tr", "direction": "left-to-right"}],
            )
            yield Setup(source, src.url, target, dst.url, proxy, elsewhere, other.url, config, store)


SCENARIOS = {
    # what the proxy does, and the words the error must contain
    "html-200-on-a-create": (Sabotage("html", "POST", "add_case", nth=3), "answered text/html, not JSON"),
    "html-200-on-a-read": (Sabotage("html", "GET", "get_sections"), "answered text/html, not JSON"),
    "truncated-json": (Sabotage("truncated", "POST", "add_case", nth=3), "not valid JSON"),
    "wrong-shape": (Sabotage("wrong-shape", "POST", "add_case", nth=3), "add_case answered an array"),
    "redirect-to-another-host": (Sabotage("redirect", "POST", "add_case", nth=3), "redirects are not followed"),
    "slow-answer": (Sabotage("slow", "POST", "add_case", nth=3, delay=3.0), "did not answer within 1 s"),
    "401-mid-run": (Sabotage("401", "POST", "add_case", nth=3, sticky=True), "Authentication failed"),
    "huge-body": (Sabotage("huge", "GET", "get_cases", size=4 * 1024 * 1024), "answer refused"),
}


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_a_bad_answer_stops_writes_and_the_next_run_finishes_cleanly(setup: Setup, name: str) -> None:
    sabotage, words = SCENARIOS[name]
    if sabotage.kind == "redirect":
        sabotage.redirect_to = f"{setup.elsewhere_url}/index.php?/api/v2/add_case/1"
    setup.proxy.arm(sabotage)

    broken = cli("sync", "--config", str(setup.config), "--workers", "1")
    assert broken.code == 1, str(broken)
    assert_no_traceback(broken)
    assert words in broken.out and "testrail" in broken.out, str(broken)
    assert setup.proxy.tripped_at is not None  # the sabotage happened
    assert setup.proxy.writes_after_failure() == [], str(broken)
    assert setup.elsewhere.requests == []  # the redirect was not followed, with or without credentials

    setup.proxy.arm(None)
    healed = cli("sync", "--config", str(setup.config), "--workers", "1")
    assert healed.code == 0, str(healed)
    titles = case_titles("testrail", setup.target_url, setup.target)
    assert titles and [t for t, n in Counter(titles).items() if n > 1] == []  # nothing created twice
    assert set(titles) <= set(case_titles("testplanit", setup.source_url, setup.source))
    assert linked_cases(setup.store) == len(titles)  # every case there is linked once, none is missing a link

    again = cli("sync", "--config", str(setup.config), "--workers", "1")
    assert again.code == 0 and "created" not in again.out, str(again)  # nothing was left to do
    assert case_titles("testrail", setup.target_url, setup.target) == titles


def linked_cases(store: Path) -> int:
    with sqlite3.connect(f"file:{store}?mode=ro", uri=True) as con:
        return int(con.execute("select count(*) from tpb_link where job = 'qa' and entity = 'case'").fetchone()[0])
