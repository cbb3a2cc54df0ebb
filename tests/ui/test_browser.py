"""The review page in a real headless browser (Debian's chromium and chromedriver, driven by Selenium):
open a conflict of the demo's data, take one side, and see the next sync write it to both systems.

Never skipped: CI installs the browser with scripts/install-test-deps.sh. Set TPB_SCREENSHOT_DIR to keep
the screenshots (the README's images are made that way).
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

from bridge.commands import run_job
from bridge.demo import concurrent_edits, start_systems
from bridge.model import Case, Step
from bridge.review.app import ReviewApp
from bridge.review.server import ReviewServer


def _binary(*names: str) -> str:
    for name in names:
        found = shutil.which(name)
        if found:
            return found
    raise AssertionError(f"{' or '.join(names)} not found: run scripts/install-test-deps.sh (apt-get, as root)")


@pytest.fixture
def browser() -> Iterator[webdriver.Chrome]:
    options = webdriver.ChromeOptions()
    options.binary_location = _binary("chromium", "chromium-browser")
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1400,1000"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(_binary("chromedriver")), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def _shot(driver: webdriver.Chrome, name: str) -> None:
    where = os.environ.get("TPB_SCREENSHOT_DIR")
    if where:
        Path(where).mkdir(parents=True, exist_ok=True)
        driver.save_screenshot(str(Path(where) / name))


def test_take_a_side_in_the_browser_and_the_next_sync_writes_it(tmp_path: Path, browser: webdriver.Chrome) -> None:
    with ExitStack() as stack:
        cfg, store, adapters, _urls = start_systems(stack, tmp_path)
        for job in cfg.jobs:
            assert run_job(cfg, job, store, dry_run=False).status == "ok"
        edited = concurrent_edits(store, adapters)
        assert edited is not None
        link, _ = edited
        for job in cfg.jobs:
            run_job(cfg, job, store, dry_run=False)
        (entry,) = [c for c in store.conflicts(job="codearts-testrail") if c.kind == "edit"]
        assert entry.field == "title" and entry.right_value.endswith("(TestRail edit)")

        server = ReviewServer("127.0.0.1", 0, ReviewApp(cfg, store, token=None))
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        stack.callback(server.server_close)
        stack.callback(server.shutdown)
        base = f"http://127.0.0.1:{server.port}"
        wait = WebDriverWait(browser, 20)

        browser.get(base + "/conflicts?job=codearts-testrail")
        _shot(browser, "conflicts-page.png")
        browser.find_element(By.LINK_TEXT, str(entry.id)).click()
        wait.until(ec.presence_of_element_located((By.ID, "take-right")))
        assert browser.find_element(By.ID, "left-value").text == entry.left_value
        assert browser.find_element(By.ID, "right-value").text == entry.right_value
        assert "right: testrail" in browser.page_source
        _shot(browser, "conflict-page.png")

        browser.find_element(By.ID, "take-right").click()
        done = wait.until(ec.presence_of_element_located((By.ID, "done")))
        assert "writes it to both sides" in done.text
        assert browser.find_element(By.ID, "state").text == "right"
        _shot(browser, "conflict-decided.png")

        # the decision is the store's, as `conflicts resolve` makes it; the next sync carries it out
        assert store.conflict(entry.id).resolution == "right"  # type: ignore[union-attr]
        for job in cfg.jobs:
            assert run_job(cfg, job, store, dry_run=False).status == "ok"
        ca = adapters["codearts"].get_case(link.left_id)
        tr = adapters["testrail"].get_case(link.right_id)
        assert ca is not None and tr is not None
        assert ca.title == tr.title == entry.right_value
        assert store.conflict(entry.id).applied_at is not None  # type: ignore[union-attr]

        browser.get(base + "/")
        assert "codearts-testrail: codearts <-> testrail" in browser.page_source.replace("&lt;", "<").replace(
            "&gt;", ">"
        )
        _shot(browser, "jobs-page.png")


def test_merge_steps_step_by_step_in_the_browser(tmp_path: Path, browser: webdriver.Chrome) -> None:
    """Both sides changed the steps of one case: the page shows them step by step, a person writes the
    merged steps in the form, and the next sync writes those to both systems."""
    with ExitStack() as stack:
        cfg, store, adapters, _urls = start_systems(stack, tmp_path)
        job = cfg.job("codearts-testrail")
        assert run_job(cfg, job, store, dry_run=False).status == "ok"
        link = sorted(store.links(job.name, "case"), key=lambda lk: lk.id or 0)[1]
        ca, tr = adapters["codearts"], adapters["testrail"]
        case = tr.get_case(link.right_id)
        assert case is not None and len(case.steps) >= 1
        steps = list(case.steps)
        left_steps = [Step(action=steps[0].action + ", as admin", expected=steps[0].expected), *steps[1:]]
        right_steps = [*steps, Step(action="Check the audit log", expected="The change is listed")]
        for adapter, rid, new in ((ca, link.left_id, left_steps), (tr, link.right_id, right_steps)):
            current = adapter.get_case(rid)
            assert current is not None
            adapter.update_case(rid, Case.model_validate({**current.model_dump(), "steps": new}))
        run_job(cfg, job, store, dry_run=False)
        (entry,) = [c for c in store.conflicts(job=job.name) if c.field == "steps"]

        server = ReviewServer("127.0.0.1", 0, ReviewApp(cfg, store, token=None))
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        stack.callback(server.server_close)
        stack.callback(server.shutdown)
        browser.get(f"http://127.0.0.1:{server.port}/conflicts/{entry.id}")
        n = len(right_steps)
        assert f"step {n}" in browser.page_source and "Check the audit log" in browser.page_source
        _shot(browser, "conflict-steps.png")
        # the form starts from each step's changed side; the person also rewords the added step
        assert browser.find_element(By.NAME, "action_1").get_attribute("value") == left_steps[0].action
        expected = browser.find_element(By.NAME, f"expected_{n}")
        expected.clear()
        expected.send_keys("The change is listed with its author")
        browser.find_element(By.ID, "take-merged").click()
        WebDriverWait(browser, 20).until(ec.presence_of_element_located((By.ID, "done")))

        merged = [*left_steps, Step(action="Check the audit log", expected="The change is listed with its author")]
        assert run_job(cfg, job, store, dry_run=False).status == "ok"
        for adapter, rid in ((ca, link.left_id), (tr, link.right_id)):
            got = adapter.get_case(rid)
            assert got is not None and [(st.action, st.expected) for st in got.steps] == [
                (st.action, st.expected) for st in merged
            ]
