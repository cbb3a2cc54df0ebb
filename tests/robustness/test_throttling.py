"""Rate limits: a 429 storm without client pacing still ends with every record written, and TestRail Cloud
gets a pacing default below its documented limit."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from adapters.simulation import Faults
from adapters.testplanit.simulator import TestPlanItSimulator
from adapters.testrail.settings import CLOUD_REQUESTS_PER_MINUTE, TestRailSettings
from adapters.testrail.simulator import TestRailSimulator
from bridge.errors import RateLimited
from bridge.http import HttpClient, HttpSettings, RequestStats

from .harness import assert_no_traceback, case_titles, cli, tp_to_tr_config


class Storm(Faults):
    """Throttles most requests at random (seeded), the way a busy TestRail Cloud instance does under load."""

    def __init__(self, share: float) -> None:
        super().__init__(retry_after=0)
        self.share = share
        self.throttled = 0
        self._storm_rng = random.Random(7)

    def decide(self, method: str = "GET") -> str | None:
        with self._lock:
            if self._storm_rng.random() < self.share:
                self.throttled += 1
                return "throttle"
        return None


def test_a_429_storm_without_pacing_fails_no_record(tmp_path: Path) -> None:
    """Before: 44 of 454 creates failed once their five retries ran out. Throttling is now bounded by time: with
    max_retries = 1 and two answers of three throttled, every record is written."""
    source = TestPlanItSimulator(seed=4, cases=30)
    storm = Storm(share=0.66)
    target = TestRailSimulator(faults=storm)
    with source.serve() as src, target.serve() as dst:
        config = tp_to_tr_config(
            tmp_path / "bridge.toml",
            tmp_path / "store.db",
            (src.url, source),
            (dst.url, target),
            target_extra={"max_retries": 1},  # and no requests_per_minute
            direction="left-to-right",
        )
        outcome = cli("sync", "--config", str(config))
        assert outcome.code == 0, str(outcome)
        assert_no_traceback(outcome)
        assert "errors" not in outcome.out and "status: ok" in outcome.out
        assert storm.throttled > 60  # a storm: many records met several 429s in a row
        storm.share = 0
        created = case_titles("testrail", dst.url, target)
    assert len(created) == len(set(created)) and len(created) >= 20


def test_throttling_ends_when_its_time_is_up(tmp_path: Path) -> None:
    """Bounded by time, not forever: a server that throttles everything fails the request once the
    throttling budget is spent, with the hint to pace."""
    target = TestRailSimulator(faults=Storm(share=1.0))
    with target.serve() as dst:
        settings = HttpSettings(base_url=dst.url, max_retries=1, max_throttle_wait=0.5, backoff_initial=0.01)
        with HttpClient("testrail", settings, stats=RequestStats()) as http:
            with pytest.raises(RateLimited, match="lower requests_per_minute"):
                http.get("/index.php?/api/v2/get_projects")
    assert target.faults.throttled > 3  # type: ignore[attr-defined]  # more than max_retries allowed


@pytest.mark.parametrize(
    ("url", "configured", "paced"),
    [
        ("https://acme.testrail.io", None, CLOUD_REQUESTS_PER_MINUTE),
        ("https://acme.testrail.com/", None, CLOUD_REQUESTS_PER_MINUTE),
        ("https://qa.acme.testrail.net", None, CLOUD_REQUESTS_PER_MINUTE),
        ("https://acme.testrail.io", 60.0, 60.0),  # the user's choice wins
        ("https://testrail.acme.example", None, None),  # self-hosted: no limit, no pacing
        ("https://nottestrail.io", None, None),
    ],
)
def test_testrail_cloud_urls_are_paced_below_the_cloud_limit(
    url: str, configured: float | None, paced: float | None
) -> None:
    settings = TestRailSettings(url=url, user="u@example.com", api_key="k", project=1, requests_per_minute=configured)
    assert settings.http_settings().requests_per_minute == paced
    if paced is not None:
        assert paced < 180  # TestRail Cloud Professional's documented limit
        client = HttpClient("testrail", settings.http_settings(), stats=RequestStats())
        assert client.pacer.interval == pytest.approx(60 / paced)
        client.close()
