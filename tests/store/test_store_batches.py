"""The store's batch paths on a real SQLite file: intents and links a batch per transaction, link summaries."""

import json
import sqlite3

import pytest
from sqlalchemy.exc import IntegrityError

from bridge.sync.merge import hashes
from bridge.sync.unchanged import same_hashes
from mappings.store import Store, hashes_digest, json_text
from mappings.tables import Link


@pytest.fixture
def store(tmp_path):
    s = Store(f"sqlite:///{tmp_path}/store.db")
    yield s
    s.close()


def _open_intents(path) -> list[tuple[str, str]]:
    with sqlite3.connect(path) as con:
        return con.execute("select source_id, marker from tpb_intent where resolved_at is null order by id").fetchall()


def test_a_batch_of_intents_is_committed_and_numbered_in_order(store, tmp_path):
    ids = store.record_intents("j", "case", [("right", f"L{i}", f"tpb-{i}") for i in range(5)])
    assert ids == sorted(ids) and len(set(ids)) == 5
    # committed: another connection (another process after a crash) sees every one of them open
    assert _open_intents(tmp_path / "store.db") == [(f"L{i}", f"tpb-{i}") for i in range(5)]
    assert [i.id for i in store.open_intents("j", "case")] == ids


def test_links_of_a_batch_and_their_intents_close_together(store, tmp_path):
    ids = store.record_intents("j", "case", [("right", "L1", "m1"), ("right", "L2", "m2"), ("right", "L3", "m3")])
    links = [Link(job="j", entity="case", left_id=f"L{n}", right_id=f"R{n}", base={"title": f"t{n}"}) for n in (1, 2)]
    store.add_links(links, [(ids[0], "created:R1"), (ids[1], "created:R2"), (ids[2], "failed")])
    assert all(link.id is not None for link in links)
    assert {(lk.left_id, lk.right_id, lk.base["title"]) for lk in store.links("j", "case")} == {
        ("L1", "R1", "t1"),
        ("L2", "R2", "t2"),
    }
    assert store.open_intents("j") == []


def test_links_saved_as_rows_read_back_as_the_models_would_save_them(store):
    (intent,) = store.record_intents("j", "case", [("right", "L1", "m1")])
    view = {"title": "Login", "tags": ["a"]}
    row = {"job": "j", "entity": "case", "left_id": "L1", "right_id": "R1", "marker": "m1", "base": view}
    row |= {"left_hashes": hashes(view), "right_hashes": hashes({"title": "Login", "tags": []})}
    (new_id,) = store.insert_links([row], [(intent, "created:R1")])
    (link,) = store.links("j", "case")
    assert (link.id, link.state, link.marker, link.base) == (new_id, "active", "m1", view)
    assert (link.left_hashes, link.right_hashes) == (row["left_hashes"], row["right_hashes"])
    assert link.created_at is not None and link.updated_at is not None
    # the digest a no-change sync compares is the one of a link saved as a model
    _, digests = store.link_summaries("j", "case")
    assert digests[new_id][0] == hashes_digest(json_text(hashes(view)))
    assert store.open_intents("j") == []


def test_a_colliding_link_saves_nothing_of_its_batch(store):
    store.save_link(Link(job="j", entity="case", left_id="L1", right_id="R1"))
    (intent,) = store.record_intents("j", "case", [("right", "L2", "m2")])
    batch = [
        Link(job="j", entity="case", left_id="L2", right_id="R2"),
        Link(job="j", entity="case", left_id="L1", right_id="R9"),  # L1 is linked already
    ]
    with pytest.raises(IntegrityError):
        store.add_links(batch, [(intent, "created:R2")])
    assert [lk.left_id for lk in store.links("j", "case")] == ["L1"]
    assert [i.id for i in store.open_intents("j")] == [intent]  # still open: the next run settles it


def test_summaries_carry_ids_and_a_digest_of_each_sides_stored_hashes(store):
    view = {"title": "Login", "steps": [{"action": "a", "expected": "b"}]}
    saved = store.save_link(
        Link(job="j", entity="case", left_id="L1", right_id="R1", marker="m", left_hashes=hashes(view), base=view)
    )
    refs, digests = store.link_summaries("j", "case")
    # no marker: a sync derives the markers it looks for from the ids
    assert [(r.id, r.left_id, r.right_id, r.marker, r.state) for r in refs] == [(saved.id, "L1", "R1", None, "active")]
    left, right = digests[saved.id]
    assert left == hashes_digest(json_text(hashes(view)))
    assert left != hashes_digest(json_text(hashes({**view, "title": "Logout"})))
    assert right == hashes_digest(json_text({}))
    assert store.links_by_id([saved.id])[saved.id].base == view


def test_json_is_stored_without_spaces_and_links_stored_with_them_still_read_as_unchanged(store, tmp_path):
    view = {"title": "Login", "tags": ["a", "b"]}
    saved = store.save_link(Link(job="j", entity="case", left_id="L1", right_id="R1", left_hashes=hashes(view)))
    with sqlite3.connect(tmp_path / "store.db") as con:
        (stored,) = con.execute("select left_hashes from tpb_link where id = ?", (saved.id,)).fetchone()
        assert stored == json_text(hashes(view)) and " " not in stored
        # a link saved by a release that wrote json.dumps text (a space after each "," and ":")
        con.execute("update tpb_link set right_hashes = ? where id = ?", (json.dumps(hashes(view)), saved.id))
    _, digests = store.link_summaries("j", "case")
    left, right = digests[saved.id]
    assert left != right
    assert same_hashes(view, left) and same_hashes(view, right)
    assert not same_hashes({**view, "title": "Logout"}, right)


def test_summaries_come_in_the_order_the_links_were_made(store):
    # right ids whose order as text is not the links' order (the index SQLite reads them through)
    for n in (9, 10, 2, 100, 1):
        store.save_link(Link(job="j", entity="case", left_id=f"L{n}", right_id=f"R{n}"))
    store.save_link(Link(job="other", entity="case", left_id="L0", right_id="R0"))
    refs, digests = store.link_summaries("j", "case")
    assert [r.right_id for r in refs] == ["R9", "R10", "R2", "R100", "R1"]
    assert sorted(digests) == [r.id for r in refs]
