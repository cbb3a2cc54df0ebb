"""A link's right-side hashes stored as what differs from its left side's (schema version 8), on a real SQLite
file: every way in and out of the store hands them back in full, in their order, and an old store upgrades."""

import json
import sqlite3

import pytest

from bridge.sync.merge import hashes
from bridge.sync.unchanged import same_hashes
from mappings.link_hashes import pack_right, unpack_right
from mappings.migrations import LATEST
from mappings.scratch import scratch_copy
from mappings.store import Store, hashes_digest, json_text
from mappings.tables import Link

LEFT = {"title": "h-title", "steps": "h-steps", "tags": "h-tags"}
#: (name, left, right): the right side as a lossy system gives it back, against the left
SHAPES = [
    ("same", LEFT, dict(LEFT)),
    ("one value differs", LEFT, {**LEFT, "steps": "h-other"}),
    ("a key absent on the right", LEFT, {"title": "h-title", "tags": "h-tags"}),
    ("a key only on the right", LEFT, {**LEFT, "priority": "h-prio"}),
    ("nothing in common", LEFT, {"priority": "h-prio"}),
    ("another order", LEFT, {"tags": "h-tags", "title": "h-title", "steps": "h-steps"}),
    ("no left", {}, {"title": "h-title"}),
    ("no right", LEFT, {}),
    ("neither", {}, {}),
]
IDS = [name for name, _, _ in SHAPES]


@pytest.fixture
def store(tmp_path):
    s = Store(f"sqlite:///{tmp_path}/store.db")
    yield s
    s.close()


def _raw_right(path, link_id: int) -> str:
    with sqlite3.connect(path) as con:
        return str(con.execute("select right_hashes from tpb_link where id = ?", (link_id,)).fetchone()[0])


@pytest.mark.parametrize(("name", "left", "right"), SHAPES, ids=IDS)
def test_the_stored_form_gives_the_right_hashes_back_in_their_order(name, left, right):
    stored = pack_right(left, right)
    back = unpack_right(left, json.loads(json_text(stored)))
    assert back == right and list(back) == list(right)
    assert back is not left


def test_equal_hashes_cost_four_bytes_and_only_an_unkeepable_order_is_stored_in_full():
    assert json_text(pack_right(LEFT, dict(LEFT))) == "[{}]"
    assert pack_right(LEFT, {**LEFT, "steps": "x"}) == [{"steps": "x"}]
    assert pack_right(LEFT, {"title": "h-title"}) == [{"steps": None, "tags": None}]
    reordered = {"tags": "h-tags", "title": "h-title", "steps": "h-steps"}
    assert pack_right(LEFT, reordered) == reordered


@pytest.mark.parametrize("path", ["model", "rows"])
def test_links_read_back_with_both_sides_hashes_in_full_whichever_way_they_were_saved(store, tmp_path, path):
    saved: dict[str, int] = {}
    for n, (name, left, right) in enumerate(SHAPES):
        fields = {"job": "j", "entity": "case", "left_id": f"L{n}", "right_id": f"R{n}"}
        if path == "model":
            link = store.save_link(Link(**fields, left_hashes=dict(left), right_hashes=dict(right)))
            # the object saved (and the one handed back) keeps the right side's hashes in full
            assert link.right_hashes == right and list(link.right_hashes) == list(right)
            saved[name] = link.id
        else:
            row = {**fields, "marker": None, "base": {}, "left_hashes": dict(left), "right_hashes": dict(right)}
            (saved[name],) = store.insert_links([row])
            assert row["right_hashes"] == right  # the caller's row is left as it was
    assert _raw_right(tmp_path / "store.db", saved["same"]) == "[{}]"
    by_id = store.links_by_id(list(saved.values()))
    _, digests = store.link_summaries("j", "case")
    dry = scratch_copy(store, "j")  # a dry run's copy of the rows as stored
    try:
        for reading in (store.links("j", "case"), list(by_id.values()), dry.links("j", "case")):
            got = {lk.id: (lk.left_hashes, lk.right_hashes) for lk in reading}
            for name, left, right in SHAPES:
                assert got[saved[name]] == (left, right), name
                assert list(got[saved[name]][1]) == list(right), name
    finally:
        dry.close()
    for n, (name, left, right) in enumerate(SHAPES):
        found = store.find_link("j", "case", left_id=f"L{n}")
        assert found is not None and found.right_hashes == right, name
        # the digests a no-change sync compares are those of the hashes in full
        assert digests[saved[name]] == (hashes_digest(json_text(left)), hashes_digest(json_text(right))), name


def test_a_link_saved_again_with_one_sides_hashes_changed_keeps_the_others(store):
    link = store.save_link(Link(job="j", entity="case", left_id="L", right_id="R", left_hashes=dict(LEFT)))
    link = store.save_link(Link(job="j", entity="case", left_id="L2", right_id="R2", left_hashes=dict(LEFT)))
    link.right_hashes = dict(LEFT)
    link = store.save_link(link)  # the right side now equal to the left: stored as "the same"
    link.left_hashes = {**LEFT, "title": "h-new"}  # the left side changes alone
    store.save_link(link)
    (again,) = [lk for lk in store.links("j", "case") if lk.left_id == "L2"]
    assert again.left_hashes == {**LEFT, "title": "h-new"} and again.right_hashes == LEFT
    again.right_hashes = {**LEFT, "tags": "h-other"}  # and then the right side alone
    store.save_link(again)
    found = store.find_link("j", "case", left_id="L2")
    assert found is not None
    assert (found.left_hashes, found.right_hashes) == ({**LEFT, "title": "h-new"}, {**LEFT, "tags": "h-other"})
    (first,) = [lk for lk in store.links("j", "case") if lk.left_id == "L"]
    assert (first.left_hashes, first.right_hashes) == (LEFT, {})


def test_a_store_written_with_the_right_hashes_in_full_upgrades_and_reads_back_the_same(tmp_path):
    path = tmp_path / "v7.db"
    Store(f"sqlite:///{path}").close()
    view = {"title": "Login", "tags": ["a"], "steps": [{"action": "go", "expected": "in"}]}
    lh = hashes(view)
    rows = {  # left id -> (left hashes, right hashes), as releases up to version 7 wrote them: both in full
        "1": (lh, dict(lh)),
        "2": (lh, {**lh, "tags": hashes({"tags": []})["tags"]}),
        "3": (lh, {k: v for k, v in lh.items() if k != "steps"}),
        "4": ({}, {}),
    }
    con = sqlite3.connect(path)  # as a release that knew version 7 left it: json.dumps text, spaces and all
    con.execute("delete from tpb_schema_version where version > 7")
    for n, (left, right) in rows.items():
        con.execute(
            "insert into tpb_link (job, entity, left_id, right_id, marker, state, base, left_hashes, right_hashes,"
            " created_at, updated_at) values ('j', 'case', ?, ?, null, 'active', ?, ?, ?, '2026-01-01 00:00:00',"
            " '2026-01-01 00:00:00')",
            (n, f"R{n}", json.dumps(view), json.dumps(left), json.dumps(right)),
        )
    con.commit()
    con.close()
    store = Store(f"sqlite:///{path}")
    try:
        links = {lk.left_id: lk for lk in store.links("j", "case")}
        assert {n: (lk.left_hashes, lk.right_hashes) for n, lk in links.items()} == rows
        assert all(lk.base == view for lk in links.values())
        refs, digests = store.link_summaries("j", "case")
        for ref in refs:
            left, right = digests[ref.id]  # type: ignore[index]
            assert (left, right) == tuple(hashes_digest(json_text(h)) for h in rows[ref.left_id])
        # the pair whose sides agreed still looks unchanged to a no-change sync, on both sides
        (one,) = [r for r in refs if r.left_id == "1"]
        assert same_hashes(view, digests[one.id][0]) and same_hashes(view, digests[one.id][1])  # type: ignore[index]
    finally:
        store.close()
    with sqlite3.connect(path) as con:
        stored = dict(con.execute("select left_id, right_hashes from tpb_link").fetchall())
        assert stored["1"] == "[{}]" and stored["3"] == '[{"steps":null}]'
        assert max(v for (v,) in con.execute("select version from tpb_schema_version")) == LATEST
        (left_text,) = con.execute("select left_hashes from tpb_link where left_id = '1'").fetchone()
        assert left_text == json_text(lh)  # rewritten compact


@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize(("name", "left", "right"), SHAPES[:3], ids=IDS[:3])
def test_a_link_loaded_without_its_hashes_gets_them_in_full_when_they_are_read(store, name, left, right):
    from sqlalchemy.orm import defer
    from sqlmodel import select

    store.save_link(Link(job="j", entity="case", left_id="L", right_id="R", left_hashes=left, right_hashes=right))
    with store.session() as s:
        (link,) = s.exec(select(Link).options(defer(Link.right_hashes), defer(Link.left_hashes)))  # type: ignore[arg-type]
        assert (link.right_hashes, link.left_hashes) == (right, left)
