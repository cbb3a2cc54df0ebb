"""The page's decisions for the other kinds of entries: a value a side cannot hold, an ambiguous match."""

from __future__ import annotations

from pathlib import Path

from e2e_harness import world
from test_conflict_log import CUSTOM, JOB, entry, seed_every_kind
from ui_helpers import form_token, served


def _origin(http) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {"Origin": str(http.base_url).rstrip("/")}


def test_ambiguous_match_and_cannot_represent_from_the_page(tmp_path: Path) -> None:
    with world(tmp_path, names=("tp", "ca"), jobs=[JOB], settings=CUSTOM) as w:  # the custom-service limits
        ids = seed_every_kind(w)
        with served(w) as http:
            twins = entry(w, "ambiguous-match")
            page = http.get(f"/conflicts/{twins}").text
            assert 'id="take-pair"' in page and f"<option>{ids['twin1']}</option>" in page
            form = {"csrf": form_token(page), "take": "pair", "left": ids["twin1"], "right": "not-a-candidate"}
            refused = http.post(f"/conflicts/{twins}/resolve", data=form, headers=_origin(http))
            assert refused.status_code == 400 and "name the two records to link" in refused.text
            form["right"] = ids["ca_twin"]
            assert http.post(f"/conflicts/{twins}/resolve", data=form, headers=_origin(http)).status_code == 303
            assert w.store.conflict(twins).resolved_value == {"left": ids["twin1"], "right": ids["ca_twin"]}

            tags = entry(w, "cannot-represent", "tags")
            page = http.get(f"/conflicts/{tags}").text
            wrong = http.post(
                f"/conflicts/{tags}/resolve", data={"csrf": form_token(page), "take": "right"}, headers=_origin(http)
            )
            assert wrong.status_code == 400 and "take left to accept" in wrong.text
            ok = http.post(
                f"/conflicts/{tags}/resolve", data={"csrf": form_token(page), "take": "left"}, headers=_origin(http)
            )
            assert ok.status_code == 303
        assert w.sync().status == "ok"
        assert w.store.find_link("job", "case", left_id=ids["twin1"]).right_id == ids["ca_twin"]
        open_kinds = sorted((c.kind, c.field) for c in w.store.conflicts(job="job"))
        assert ("ambiguous-match", None) not in open_kinds and ("cannot-represent", "tags") not in open_kinds


def test_a_duplicate_kept_from_the_page(tmp_path: Path) -> None:
    from test_duplicates import JOB as DUP_JOB
    from test_duplicates import broken_by_two_runs

    with world(tmp_path, names=("tr", "tp"), jobs=[DUP_JOB]) as w:
        _source, _linked, second = broken_by_two_runs(w)
        w.sync()
        dup = next(c for c in w.store.conflicts(job="job") if c.kind == "duplicate")
        with served(w) as http:
            page = http.get(f"/conflicts/{dup.id}").text
            answer = http.post(
                f"/conflicts/{dup.id}/resolve", data={"csrf": form_token(page), "take": "keep"}, headers=_origin(http)
            )
            assert answer.status_code == 303
        report = w.sync()
        assert report.status == "ok" and report.total("created") == 1
        assert w.store.find_link("job", "case", right_id=second) is not None
