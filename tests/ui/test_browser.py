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
        assert "codearts-testrail: codearts <-> testrail" in browser.page_source.replace(
            "&lt;", "<"
        ).replace("&gt;", ">")
        _shot(browser, "jobs-page.png")
