"""Every review page and decision over HTTP, with the token and cross-site checks."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import pytest
from ui_helpers import case_on, form_token, scene, served

from bridge.errors import ConfigError
from bridge.review.server import check_bind


def test_jobs_page_shows_schedule_runs_and_open_conflicts(tmp_path: Path) -> None:
    with scene(tmp_path) as s, served(s.w) as http:
        page = http.get("/").text
        assert "qa: tr (testrail) &lt;-&gt; tp (testplanit)" in page
        assert 'open conflicts: <span class="open-count">2</span>' in page
        assert "tp case: created 1" in page  # the first run's counts
        assert page.count('class="ok"') == 2  # both runs, with their status


def test_conflicts_page_filters_and_shows_titles_and_names(tmp_path: Path) -> None:
    with scene(tmp_path) as s, served(s.w) as http:
        page = http.get("/conflicts").text
        assert "2 conflict(s)" in page
        assert "Checkout (left)" in page and "Checkout (right)" in page
        assert "tr (testrail)" in page and "tp (testplanit)" in page
        page = http.get("/conflicts", params={"job": "qa", "kind": "edit", "state": "open"}).text
        assert "2 conflict(s)" in page
        assert "0 conflict(s)" in http.get("/conflicts", params={"kind": "duplicate"}).text
        assert "0 conflict(s)" in http.get("/conflicts", params={"state": "resolved"}).text
        assert "0 conflict(s)" in http.get("/conflicts", params={"job": "other"}).text


def test_conflict_page_side_by_side_with_step_diff_and_links(tmp_path: Path) -> None:
    with scene(tmp_path) as s, served(s.w) as http:
        page = http.get(f"/conflicts/{s.steps_conflict}").text
        # one row per step: step 1 changed on the left, step 2 on the right, step 4 only on the right
        for n in (1, 2, 3, 4):
            assert f"<th>step {n}</th>" in page
        assert "Open the cart" in page and "paid" in page and "Log out" in page
        assert "- action: Open the cart" in page and "+ action: Checkout step 1" in page  # left -> right
        assert f"{s.w.urls['tr']}/index.php?/cases/view/{s.left_id}" in page
        assert "<i>no step</i>" in page  # the left has no step 4
        page = http.get(f"/conflicts/{s.title_conflict}").text
        assert '<pre id="left-value">Checkout (left)</pre>' in page
        assert '<pre id="right-value">Checkout (right)</pre>' in page
        assert http.get("/conflicts/999").status_code == 404


def test_take_right_is_the_cli_decision_and_the_next_sync_writes_it(tmp_path: Path) -> None:
    with scene(tmp_path) as s, served(s.w) as http:
        url = f"/conflicts/{s.title_conflict}"
        csrf = form_token(http.get(url).text)
        answer = http.post(f"{url}/resolve", data={"csrf": csrf, "take": "right", "by": "ana"}, headers=_origin(http))
        assert answer.status_code == 303 and answer.headers["location"].startswith(f"{url}?done=")
        page = http.get(answer.headers["location"]).text
        assert "the next sync of job qa writes it to both sides" in html.unescape(page)
        entry = s.w.store.conflict(s.title_conflict)
        assert (entry.resolution, entry.resolved_value, entry.resolved_by) == ("right", "Checkout (right)", "ana")
        s.w.sync("qa", plan_first=False)
        assert case_on(s.w, "tr", s.left_id).title == "Checkout (right)"
        assert case_on(s.w, "tp", s.right_id).title == "Checkout (right)"


def test_merged_steps_step_by_step(tmp_path: Path) -> None:
    with scene(tmp_path) as s, served(s.w) as http:
        url = f"/conflicts/{s.steps_conflict}"
        page = http.get(url).text
        # the form starts from each step's changed side: the left's step 1, the right's step 2 and 4
        assert re.search(r'name="action_1"[^>]*>Open the cart<', page)
        assert re.search(r'name="expected_2"[^>]*>paid<', page)
        form = {"csrf": form_token(page), "take": "steps"}
        for n, (action, expected) in enumerate(
            [("Open the cart", "ok 1"), ("Checkout step 2", "paid"), ("Checkout step 3", "ok 3"), ("x", "y")], 1
        ):
            form[f"action_{n}"], form[f"expected_{n}"] = action, expected
        form["drop_4"] = "1"
        form["action_5"], form["expected_5"] = "Log out", "signed out"
        answer = http.post(f"{url}/resolve", data=form, headers=_origin(http))
        assert answer.status_code == 303, answer.text
        merged = s.w.store.conflict(s.steps_conflict).resolved_value
        assert [st["action"] for st in merged] == ["Open the cart", "Checkout step 2", "Checkout step 3", "Log out"]
        s.w.sync("qa", plan_first=False)
        for system, rid in (("tr", s.left_id), ("tp", s.right_id)):
            steps = case_on(s.w, system, rid).steps
            assert [(st.action, st.expected) for st in steps][1:] == [
                ("Checkout step 2", "paid"),
                ("Checkout step 3", "ok 3"),
                ("Log out", "signed out"),
            ]


def test_a_bad_value_is_refused_on_the_page(tmp_path: Path) -> None:
    with scene(tmp_path) as s, served(s.w) as http:
        url = f"/conflicts/{s.steps_conflict}"
        csrf = form_token(http.get(url).text)
        answer = http.post(
            f"{url}/resolve", data={"csrf": csrf, "take": "value", "value": "{not json"}, headers=_origin(http)
        )
        assert answer.status_code == 400 and 'id="form-error"' in answer.text
        assert s.w.store.conflict(s.steps_conflict).resolved_at is None


@pytest.mark.parametrize(
    "attack",
    ["no-form-token", "wrong-form-token", "foreign-origin", "null-origin", "cross-site-fetch"],
)
def test_cross_site_forms_are_refused(tmp_path: Path, attack: str) -> None:
    with scene(tmp_path) as s, served(s.w) as http:
        url = f"/conflicts/{s.title_conflict}"
        form = {"csrf": form_token(http.get(url).text), "take": "left"}
        headers = _origin(http)
        if attack == "no-form-token":
            del form["csrf"]
        elif attack == "wrong-form-token":
            form["csrf"] = "0" * 64
        elif attack == "foreign-origin":
            headers = {"Origin": "http://evil.example"}
        elif attack == "null-origin":
            headers = {"Origin": "null"}
        else:
            headers = {**headers, "Sec-Fetch-Site": "cross-site"}
        answer = http.post(f"{url}/resolve", data=form, headers=headers)
        assert answer.status_code == 403
        assert s.w.store.conflict(s.title_conflict).resolved_at is None
        # the same form from the page itself goes through (the check refuses only what it must)
        ok = http.post(
            f"{url}/resolve", data={"csrf": form_token(http.get(url).text), "take": "left"}, headers=_origin(http)
        )
        assert ok.status_code == 303


def test_token_is_required_and_kept_out_of_the_address(tmp_path: Path) -> None:
    token = "review-token-5f1c2a9e"
    with scene(tmp_path) as s, served(s.w, token=token) as http:
        for path in ("/", "/conflicts", f"/conflicts/{s.title_conflict}", "/runs"):
            denied = http.get(path)
            assert denied.status_code == 401 and token not in denied.text
        assert http.get("/", params={"token": "wrong-token-000"}).status_code == 401
        assert http.get("/", headers={"Authorization": f"Bearer {token}"}).status_code == 200
        first = http.get("/conflicts", params={"token": token, "job": "qa"})
        assert first.status_code == 303 and first.headers["location"] == "/conflicts?job=qa"
        assert "HttpOnly" in first.headers["set-cookie"] and "SameSite=Strict" in first.headers["set-cookie"]
        http.cookies.set("tpb_ui", token)
        page = http.get("/conflicts?job=qa")
        assert page.status_code == 200 and token not in page.text
        # a POST without the token is refused before anything else
        http.cookies.clear()
        url = f"/conflicts/{s.title_conflict}/resolve"
        assert http.post(url, data={"take": "left"}).status_code == 401
        assert s.w.store.conflict(s.title_conflict).resolved_at is None


def test_any_address_but_loopback_needs_a_token() -> None:
    check_bind("127.0.0.1", None, "ui")
    check_bind("::1", None, "ui")
    with pytest.raises(ConfigError, match="need a token"):
        check_bind("0.0.0.0", None, "ui")
    check_bind("0.0.0.0", "a-token", "ui")


def test_pages_never_show_a_secret(tmp_path: Path) -> None:
    with scene(tmp_path) as s, served(s.w) as http:
        secrets = [
            str(v)
            for sim in s.w.sims.values()
            for k, v in sim.credentials().items()
            if any(w in k for w in ("key", "token", "password", "sk"))
        ]
        assert secrets
        for path in ("/", "/conflicts", f"/conflicts/{s.title_conflict}", f"/conflicts/{s.steps_conflict}", "/runs"):
            page = http.get(path)
            assert page.status_code == 200
            assert not [x for x in secrets if x in page.text], path
            assert page.headers["content-security-policy"].startswith("default-src 'none'")
            assert page.headers["x-frame-options"] == "DENY" and page.headers["referrer-policy"] == "same-origin"


def test_run_history_has_per_entity_counts_and_errors(tmp_path: Path) -> None:
    with scene(tmp_path) as s:
        run = s.w.store.start_run("qa")
        s.w.store.finish_run(
            run,
            status="errors",
            counts={"tp/case": {"updated": 3, "errors": 1}},
            errors=["tp: case 7: 400 field <b>steps</b> is too long"],
        )
        with served(s.w) as http:
            page = http.get("/runs", params={"job": "qa"}).text
            assert f'id="run-{run.id}"' in page
            assert "<td>tp</td><td>case</td>" in page and "errors 1, updated 3" in page
            assert "error: tp: case 7: 400 field &lt;b&gt;steps&lt;/b&gt; is too long" in page  # escaped
            assert page.count('<tr id="run-') == 3


def _origin(http) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {"Origin": str(http.base_url).rstrip("/")}


def test_json_value_form(tmp_path: Path) -> None:
    with scene(tmp_path) as s, served(s.w) as http:
        url = f"/conflicts/{s.title_conflict}"
        csrf = form_token(http.get(url).text)
        answer = http.post(
            f"{url}/resolve", data={"csrf": csrf, "take": "value", "value": "Checkout (merged)"}, headers=_origin(http)
        )
        assert answer.status_code == 303
        assert s.w.store.conflict(s.title_conflict).resolved_value == "Checkout (merged)"
        assert json.loads(json.dumps(s.w.store.conflict(s.title_conflict).resolution)) == "value"
