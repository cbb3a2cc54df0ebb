"""A full listing holds one page of native records at a time: the page already gone through is freed before
the next one is read, so reading a project of many pages needs no more memory than reading one page. The
simulators serve from processes of their own, so what tracemalloc sees here is the adapter's alone."""

from __future__ import annotations

import tracemalloc
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sim_process import SimProcess, start

from adapters.base import Adapter
from adapters.registry import create_adapter
from adapters.testplanit.adapter import PAGE_SIZE as TESTPLANIT_PAGE
from adapters.testplanit.settings import TestPlanItSettings
from adapters.testrail.client import PAGE_SIZE as TESTRAIL_PAGE
from adapters.testrail.settings import TestRailSettings

SETTINGS = {"testrail": TestRailSettings, "testplanit": TestPlanItSettings}
SIZES = {  # (the simulator's option for its cases, page size, its other size options)
    "testrail": ("cases", TESTRAIL_PAGE, {"sections": 4, "steps": 3}),
    "testplanit": ("cases", TESTPLANIT_PAGE, {"steps_per_case": 3, "folders": 4}),
}
#: the most three pages may take against one. Measured (tracemalloc's byte counts repeat to a few KB):
#: TestRail 1.15 when each page is freed before the next is read, 1.34 when it is still held; TestPlanIt
#: 1.05 and 1.20 (its answer's raw bytes and their decoding, which any page costs, are most of its peak)
MOST = {"testrail": 1.25, "testplanit": 1.12}


@contextmanager
def _adapter(kind: str, pages: int) -> Iterator[Adapter]:
    option, page, others = SIZES[kind]
    sim: SimProcess = start(kind, seed=3, **{option: pages * page - 1, **others})  # (no empty last page)
    try:
        adapter = create_adapter(kind, SETTINGS[kind](url=sim.url, **sim.credentials))  # type: ignore[arg-type]
        adapter.connect()
        try:
            yield adapter
        finally:
            adapter.close()
    finally:
        sim.stop()


def _peak_of_a_listing(kind: str, pages: int) -> tuple[int, int]:
    """(cases listed, the most memory the listing held at once), each case dropped as it comes."""
    with _adapter(kind, pages) as adapter:
        tracemalloc.start()
        try:
            count = sum(1 for _ in adapter.iter_cases())
            return count, tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()


@pytest.mark.parametrize("kind", ["testrail", "testplanit"])
def test_a_listing_of_many_pages_holds_one_page_at_a_time(kind: str) -> None:
    page = SIZES[kind][1]
    one, one_peak = _peak_of_a_listing(kind, 1)
    three, three_peak = _peak_of_a_listing(kind, 3)
    assert (one, three) == (page - 1, 3 * page - 1)
    assert three_peak < MOST[kind] * one_peak, f"one page: {one_peak:,} bytes at most, three pages: {three_peak:,}"
